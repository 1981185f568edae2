import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BackupMetadataSource,
  captureSnapshot,
  isBackupError,
  readFileChunks,
  saveBackupFile,
  toReadableStream,
  writeBackup,
} from '@raftkit/backup';
import { type Logger, type Storage, silentLogger } from '@raftkit/core';
import { ApiError } from './api-error.ts';

/** Where a backup job is: `done` only once the file was written and verified on disk. */
export type BackupJobState = 'running' | 'done' | 'failed';

/** One backup job as `GET /v1/backups` reports it; times are ISO 8601 strings. */
export interface BackupJob {
  readonly id: string;
  readonly state: BackupJobState;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /**
   * While running, state bytes written into the archive so far (0 while the snapshot is copied
   * aside); once done, the archive file's size.
   */
  readonly bytes: number;
  /** The snapshot state's size in bytes, known once it has been copied aside; null before. */
  readonly totalBytes: number | null;
  /**
   * Percent done, a whole number: 0 while the snapshot is copied aside, then writing the archive
   * counts for the first half (state bytes written of `totalBytes`) and verifying it on disk for
   * the second (bytes decompressed of `totalBytes`), at most 99 until the job is done and 100
   * then. A failed job keeps the last value.
   */
  readonly percent: number;
  /** The snapshot index backed up, once known. */
  readonly index: number | null;
  /** Why it failed: the `BackupError` code when there is one, and the message. */
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** What `BackupJobs` backs up and where it keeps the files. */
export interface BackupJobsOptions {
  /** The node's storage: each backup is of its latest snapshot. */
  readonly storage: Storage;
  /**
   * Brings the stored snapshot up to the node's applied state before each backup
   * (`RaftNode.snapshotNow`). Without it a backup is of whatever snapshot is stored, which may be
   * far behind, or the empty one a cluster starts with.
   */
  readonly snapshotNow?: () => Promise<unknown>;
  /**
   * Describes the snapshot for the backup's manifest (e.g. the KV key count); without it the manifest has
   * none.
   */
  readonly stateMachine?: BackupMetadataSource;
  /** Where finished backups are kept: `<id>.tar.gz`. Created on first use. */
  readonly dir: string;
  /** Where each job's end is logged (an unattended node's scheduled backups are seen there). */
  readonly logger?: Logger;
  /** The clock for job times; tests inject one. Default: the system clock. */
  readonly now?: () => Date;
  /**
   * For unattended nodes: start a job every `everyMs` (skipped while one runs), and keep only
   * the newest `keep` done backups, deleting older files. Stopped by `close()`.
   */
  readonly schedule?: { readonly everyMs: number; readonly keep: number };
}

/**
 * The node's backup jobs: one at a time, written into `dir`, verified on disk before they are
 * reported done. Kept in memory: after a restart the list starts empty (files stay in `dir`).
 */
export class BackupJobs {
  readonly #options: BackupJobsOptions;
  /** In start order; each job's record is replaced (never mutated) as it progresses. */
  readonly #jobs = new Map<string, { job: BackupJob; done: Promise<void> }>();
  #running: string | null = null;
  #sequence = 0;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: BackupJobsOptions) {
    this.#options = options;
    const schedule = options.schedule;
    if (schedule !== undefined) {
      if (!(schedule.everyMs > 0) || !Number.isSafeInteger(schedule.keep) || schedule.keep < 1) {
        throw new RangeError('schedule needs everyMs > 0 and keep >= 1');
      }
      this.#timer = setInterval(() => {
        if (this.#running === null) this.start();
      }, schedule.everyMs);
    }
  }

  /** Stops the schedule and waits for a running job to finish. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const running = this.#running === null ? undefined : this.#jobs.get(this.#running);
    await running?.done;
  }

  /**
   * A backup of the latest snapshot, compressed as it is streamed (for `GET /v1/backup`). The
   * snapshot's state is copied aside first (see `captureSnapshot`): the node may replace its
   * snapshot while a slow client downloads, and the copy goes when the stream ends.
   */
  async exportNow(): Promise<{ stream: ReadableStream<Uint8Array>; index: number; clusterId: string }> {
    await mkdir(this.#options.dir, { recursive: true });
    let captured: Awaited<ReturnType<typeof captureSnapshot>>;
    try {
      captured = await this.#capture(`export-${++this.#sequence}`);
    } catch (error) {
      if (isBackupError(error, 'NoSnapshot'))
        throw new ApiError('NoSnapshot', 'the node has taken no snapshot yet: nothing to back up');
      throw error;
    }
    const backup = writeBackup(captured, this.#stateMachineOption());
    const stream = toReadableStream(
      (async function* () {
        try {
          yield* backup as unknown as AsyncIterable<Uint8Array>;
        } finally {
          await captured.remove();
        }
      })(),
    );
    return { stream, index: captured.meta.index, clusterId: captured.clusterId };
  }

  /** Starts a job; `BackupInProgress` (409) while another runs. */
  start(): BackupJob {
    if (this.#running !== null) {
      throw new ApiError('BackupInProgress', `backup ${this.#running} is still running`, {
        id: this.#running,
      });
    }
    const now = this.#now();
    const id = `${now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}-${++this.#sequence}`;
    const job: BackupJob = {
      id,
      state: 'running',
      startedAt: now.toISOString(),
      finishedAt: null,
      bytes: 0,
      totalBytes: null,
      percent: 0,
      index: null,
      error: null,
    };
    this.#running = id;
    const entry = { job, done: Promise.resolve() };
    this.#jobs.set(id, entry);
    entry.done = this.#run(id, (change) => {
      entry.job = { ...entry.job, ...change };
    }).finally(() => {
      this.#running = null;
    });
    return job;
  }

  /**
   * Job `id` as it stands now; `NotFound` (404) for an id this node never started (or started before a
   * restart).
   */
  get(id: string): BackupJob {
    const entry = this.#jobs.get(id);
    if (entry === undefined) throw new ApiError('NotFound', `no backup ${id}`);
    return entry.job;
  }

  /** Newest first; `latest` is the newest done one. */
  list(): { backups: BackupJob[]; latest: string | null } {
    const backups = [...this.#jobs.values()].map((e) => e.job).reverse();
    return { backups, latest: backups.find((b) => b.state === 'done')?.id ?? null };
  }

  /** Resolves when the job has finished (done or failed). */
  async wait(id: string): Promise<BackupJob> {
    const entry = this.#jobs.get(id);
    if (entry === undefined) throw new ApiError('NotFound', `no backup ${id}`);
    await entry.done;
    return this.get(id);
  }

  /** A done job's file, streamed. */
  download(id: string): { stream: ReadableStream<Uint8Array>; name: string } {
    const job = this.get(id);
    if (job.state !== 'done') throw new ApiError('NotFound', `backup ${id} is ${job.state}, not done`);
    return { stream: toReadableStream(readFileChunks(this.#file(id))), name: `${id}.tar.gz` };
  }

  /** A snapshot of the state as of now, copied aside into the spool file named `name`. */
  async #capture(name: string): Promise<Awaited<ReturnType<typeof captureSnapshot>>> {
    await this.#options.snapshotNow?.();
    return captureSnapshot(this.#options.storage, this.#spool(name));
  }

  async #run(id: string, update: (change: Partial<BackupJob>) => void): Promise<void> {
    try {
      await mkdir(this.#options.dir, { recursive: true });
      const captured = await this.#capture(id);
      const total = captured.bytes;
      update({ index: captured.meta.index, totalBytes: total });
      let manifest: Awaited<ReturnType<typeof saveBackupFile>>;
      try {
        const stream = writeBackup(captured, {
          ...this.#stateMachineOption(),
          onProgress: (bytes) => update({ bytes, percent: percentOf(0, bytes, total) }),
        });
        manifest = await saveBackupFile(stream, this.#file(id), {
          onProgress: (bytes) => update({ percent: percentOf(50, bytes, total) }),
        });
      } finally {
        await captured.remove();
      }
      const { size } = await stat(this.#file(id));
      update({
        state: 'done',
        finishedAt: this.#now().toISOString(),
        bytes: size,
        percent: 100,
        index: manifest.snapshot.index,
      });
      this.#logger.info('backup done', { id, index: manifest.snapshot.index, bytes: size });
      if (this.#options.schedule !== undefined) await this.#prune(this.#options.schedule.keep);
    } catch (error) {
      const reason = {
        code: isBackupError(error) ? error.code : 'Internal',
        message: error instanceof Error ? error.message : String(error),
      };
      update({ state: 'failed', finishedAt: this.#now().toISOString(), error: reason });
      this.#logger.error('backup failed', { id, ...reason });
    }
  }

  /** Deletes done backups past the newest `keep` (their files first, then their records). */
  async #prune(keep: number): Promise<void> {
    const done = this.list().backups.filter((b) => b.state === 'done');
    for (const old of done.slice(keep)) {
      await rm(this.#file(old.id), { force: true });
      this.#jobs.delete(old.id);
    }
  }

  /** The state copied out of storage while a backup is written from it. */
  #spool(name: string): string {
    return join(this.#options.dir, `.${name}.state`);
  }

  #file(id: string): string {
    return join(this.#options.dir, `${id}.tar.gz`);
  }

  get #logger(): Logger {
    return this.#options.logger ?? silentLogger;
  }

  #now(): Date {
    return (this.#options.now ?? (() => new Date()))();
  }

  #stateMachineOption(): { stateMachine?: BackupMetadataSource } {
    return this.#options.stateMachine === undefined ? {} : { stateMachine: this.#options.stateMachine };
  }
}

/**
 * Progress within one half of a job (writing from 0, verifying from 50): `bytes` of `total`.
 * Verifying also reads the archive's tar headers and manifest, so it may pass `total`; the
 * result stays below 100 until the job is done.
 */
function percentOf(from: 0 | 50, bytes: number, total: number): number {
  const share = total === 0 ? 1 : Math.min(1, bytes / total);
  return Math.min(99, from + Math.floor(50 * share));
}
