import type {
  Entry,
  Index,
  PersistedState,
  Snapshot,
  SnapshotMeta,
  SnapshotWriter,
  Storage,
  StorageIdentity,
  StorageWrite,
  Term,
} from '@raftkit/core';
import { StorageError } from '@raftkit/core';

/** Calls that wait while it is closed; opening it lets them (and later ones) through. */
class Gate {
  #waiting: (() => void)[] | null = null;

  close(): void {
    this.#waiting ??= [];
  }

  open(): void {
    const waiting = this.#waiting ?? [];
    this.#waiting = null;
    for (const go of waiting) go();
  }

  get waiting(): number {
    return this.#waiting?.length ?? 0;
  }

  async pass(): Promise<void> {
    const waiting = this.#waiting;
    if (waiting !== null) await new Promise<void>((go) => waiting.push(go));
  }
}

/**
 * Wraps a real store and lets a test hold `save()` calls (to watch group commit and full queues)
 * or make them fail (a dying disk). Everything else passes straight through.
 */
export class ControlledStorage implements Storage {
  readonly writes: StorageWrite[] = [];
  readonly #saves = new Gate();
  readonly #snapshotCommits = new Gate();
  #failing = false;
  /** Saves and snapshot saves refused since `fail()`. */
  failedWrites = 0;

  constructor(private readonly inner: Storage) {}

  get identity(): StorageIdentity {
    return this.inner.identity;
  }

  /** Saves from now on wait until `release()`. */
  hold(): void {
    this.#saves.close();
  }

  /** Lets held saves (and later ones) through. */
  release(): void {
    this.#saves.open();
  }

  get heldSaves(): number {
    return this.#saves.waiting;
  }

  /** Snapshots written through `createSnapshot` from now on commit only after `releaseSnapshots()`. */
  holdSnapshots(): void {
    this.#snapshotCommits.close();
  }

  releaseSnapshots(): void {
    this.#snapshotCommits.open();
  }

  get heldSnapshots(): number {
    return this.#snapshotCommits.waiting;
  }

  /** Every later save, saveSnapshot and snapshot commit rejects, as after an fsync error. */
  fail(): void {
    this.#failing = true;
  }

  async save(write: StorageWrite): Promise<void> {
    await this.#saves.pass();
    this.#refuseIfFailing();
    this.writes.push(write);
    return this.inner.save(write);
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#refuseIfFailing();
    return this.inner.saveSnapshot(snapshot);
  }

  #refuseIfFailing(): void {
    if (!this.#failing) return;
    this.failedWrites++;
    throw new StorageError('Io', 'fsync failed (injected)');
  }

  load(): Promise<PersistedState> {
    return this.inner.load();
  }
  entries(low: Index, high: Index, maxBytes?: number): Promise<Entry[]> {
    return this.inner.entries(low, high, maxBytes);
  }
  term(i: Index): Term {
    return this.inner.term(i);
  }
  firstIndex(): Index {
    return this.inner.firstIndex();
  }
  lastIndex(): Index {
    return this.inner.lastIndex();
  }
  async createSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter> {
    const writer = await this.inner.createSnapshot(meta);
    return {
      write: (chunk) => writer.write(chunk),
      abort: () => writer.abort(),
      commit: async () => {
        await this.#snapshotCommits.pass();
        try {
          this.#refuseIfFailing();
        } catch (error) {
          await writer.abort();
          throw error;
        }
        return writer.commit();
      },
    };
  }
  snapshotMeta(): SnapshotMeta | null {
    return this.inner.snapshotMeta();
  }
  loadSnapshot(): Promise<Snapshot | null> {
    return this.inner.loadSnapshot();
  }
  readSnapshot(chunkBytes: number): AsyncIterable<Uint8Array> {
    return this.inner.readSnapshot(chunkBytes);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
