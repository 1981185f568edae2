import type { HardState, Membership, StorageIdentity } from '@raftkit/core';
import { StorageError } from '@raftkit/core';
import { type DataDirState, type Problem, readDataDir, type TornTail } from './data-dir.ts';
import { LOCK_FILE, ownerMayBeAlive, parseLockOwner, systemProcesses } from './dir-lock.ts';
import { type FsOps, nodeFsOps } from './fs-ops.ts';
import { IDENTITY_FILE } from './identity-file.ts';
import { readSnapshotData, SNAPSHOT_FILE, SnapshotFormatError } from './snapshot-file.ts';

/** A run of consecutive entries with one term. */
export interface TermRun {
  readonly term: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
}

/** What `checkFsDataDir` found. `ok` is false exactly when `problems` is not empty. */
export interface FsCheckReport {
  readonly dir: string;
  readonly ok: boolean;
  readonly identity: StorageIdentity | null;
  readonly hardState: HardState | null;
  readonly snapshot: { index: number; term: number; membership: Membership; dataBytes: number } | null;
  readonly entries: number;
  /** First and last index of the log (first = snapshot index + 1; last = snapshot index when empty). */
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly terms: readonly TermRun[];
  readonly segments: readonly { file: string; bytes: number }[];
  readonly bytesOnDisk: number;
  /** A partial write at the WAL's tail: not damage, the next open cuts it off. */
  readonly tornTail: TornTail | null;
  /** The lock file's owner, if one is present (a running node, or one that died). */
  readonly lock: { pid: number; host: string; alive: boolean } | null;
  readonly problems: readonly Problem[];
  /** Temp files the next open removes, and files that are none of ours. */
  readonly leftovers: readonly string[];
  readonly unknownFiles: readonly string[];
}

/**
 * Verifies a stopped node's data directory without changing it: identity, every WAL frame's
 * checksum, the log's consistency rules, the snapshot's header, trailer and data checksum.
 * Damage is reported as `problems` (file and offset each); only a directory that cannot be read at
 * all throws (`StorageError` of kind `Io`).
 */
export async function checkFsDataDir(dir: string, fs: FsOps = nodeFsOps): Promise<FsCheckReport> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (cause) {
    throw new StorageError('Io', `${dir}: cannot read the data directory`, { file: dir, cause });
  }
  const problems: Problem[] = [];
  let state: DataDirState;
  try {
    state = await readDataDir(fs, dir, names);
  } catch (e) {
    if (!(e instanceof StorageError) || e.file !== `${dir}/${IDENTITY_FILE}`) throw e;
    problems.push({
      kind: e.kind === 'UnsupportedVersion' ? e.kind : 'Corrupt',
      file: e.file,
      offset: 0,
      message: e.message,
    });
    state = await readDataDir(
      fs,
      dir,
      names.filter((n) => n !== IDENTITY_FILE),
    );
  }
  if (state.identity === null && problems.length === 0) {
    problems.push({
      kind: 'Corrupt',
      file: `${dir}/${IDENTITY_FILE}`,
      offset: undefined,
      message: 'identity file missing',
    });
  }
  problems.push(...state.problems);

  if (state.snapshot !== null) {
    const path = `${dir}/${SNAPSHOT_FILE}`;
    const file = await fs.open(path, 'r');
    try {
      for await (const _ of readSnapshotData(file, state.snapshot, 1 << 20)) {
        // Reading is the check: the generator verifies the checksum at the end.
      }
    } catch (e) {
      if (!(e instanceof SnapshotFormatError)) throw e;
      problems.push({ kind: e.kind, file: path, offset: e.offset, message: e.message });
    } finally {
      await file.close();
    }
  }

  let bytesOnDisk = 0;
  for (const name of names) {
    const file = await fs.open(`${dir}/${name}`, 'r');
    try {
      bytesOnDisk += await file.size();
    } finally {
      await file.close();
    }
  }

  let lock: FsCheckReport['lock'] = null;
  if (names.includes(LOCK_FILE)) {
    const path = `${dir}/${LOCK_FILE}`;
    const owner = parseLockOwner(await fs.readFile(path).catch(() => new Uint8Array(0)));
    lock =
      owner === null
        ? { pid: Number.NaN, host: 'unreadable', alive: false }
        : {
            pid: owner.pid,
            host: owner.host,
            alive: ownerMayBeAlive(path, owner, systemProcesses.self(), systemProcesses),
          };
  }

  const log = state.log;
  const replayed = state.problems.length === 0;
  const terms: TermRun[] = [];
  if (replayed) {
    for (let i = log.baseIndex + 1; i <= log.lastIndex; i++) {
      const t = log.termAt(i);
      const current = terms.at(-1);
      if (current?.term === t) terms[terms.length - 1] = { ...current, lastIndex: i };
      else terms.push({ term: t, firstIndex: i, lastIndex: i });
    }
  }
  const snapshot = state.snapshot;
  return {
    dir,
    ok: problems.length === 0,
    identity: state.identity,
    hardState: replayed ? state.hardState : null,
    snapshot:
      snapshot === null
        ? null
        : {
            index: snapshot.meta.index,
            term: snapshot.meta.term,
            membership: snapshot.meta.membership,
            dataBytes: snapshot.dataLength,
          },
    entries: replayed ? log.length : 0,
    firstIndex: replayed ? log.baseIndex + 1 : 0,
    lastIndex: replayed ? log.lastIndex : 0,
    terms,
    segments: state.segments.map((s) => ({ file: s.path, bytes: s.bytes })),
    bytesOnDisk,
    tornTail: state.torn,
    lock,
    problems,
    leftovers: state.leftovers,
    unknownFiles: state.unknown,
  };
}

/** The report as text for a terminal: a summary, then each problem with file and offset. */
export function renderFsCheckReport(report: FsCheckReport): string {
  const lines = [
    `data directory ${report.dir}: ${report.ok ? 'OK' : `${report.problems.length} problem(s)`}`,
  ];
  const id = report.identity;
  lines.push(`  identity    ${id === null ? '(none)' : `node ${id.nodeId} of cluster ${id.clusterId}`}`);
  const hs = report.hardState;
  if (hs !== null) {
    lines.push(
      `  hard state  term ${hs.term}, voted for ${hs.votedFor ?? '(nobody)'}, commit index ${hs.commitIndex}`,
    );
  }
  const s = report.snapshot;
  lines.push(
    `  snapshot    ${s === null ? '(none)' : `index ${s.index}, term ${s.term}, ${s.dataBytes} bytes, voters ${s.membership.voters.join(',') || '-'}`}`,
  );
  lines.push(
    `  log         ${report.entries} entries${report.entries > 0 ? `, ${report.firstIndex}..${report.lastIndex}` : ''}`,
  );
  const shown = report.terms.slice(-10);
  if (shown.length > 0) {
    const skipped = report.terms.length - shown.length;
    lines.push(
      `  terms       ${skipped > 0 ? `(${skipped} earlier) ` : ''}${shown.map((r) => `${r.term}: ${r.firstIndex}..${r.lastIndex}`).join(', ')}`,
    );
  }
  lines.push(
    `  on disk     ${report.bytesOnDisk} bytes in ${report.segments.length} WAL segment(s) and other files`,
  );
  if (report.lock !== null) {
    const { pid, host, alive } = report.lock;
    lines.push(
      `  lock        held by pid ${pid} on ${host}${alive ? ' (alive: is the node still running?)' : ' (stale)'}`,
    );
  }
  if (report.tornTail !== null) {
    const t = report.tornTail;
    lines.push(`  torn tail   ${t.bytes} bytes at offset ${t.offset} of ${t.file}: cut on the next open`);
  }
  for (const name of report.leftovers) lines.push(`  leftover    ${name}: removed on the next open`);
  for (const name of report.unknownFiles) lines.push(`  unknown     ${name}: not a raftkit file`);
  for (const p of report.problems) {
    lines.push(
      `  PROBLEM     ${p.kind}: ${p.file}${p.offset === undefined ? '' : ` at offset ${p.offset}`}: ${p.message}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
