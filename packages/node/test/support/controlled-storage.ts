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

/**
 * Wraps a real store and lets a test hold `save()` calls (to watch group commit and full queues)
 * or make them fail (a dying disk). Everything else passes straight through.
 */
export class ControlledStorage implements Storage {
  readonly writes: StorageWrite[] = [];
  #held: (() => void)[] | null = null;
  #heldSnapshots: (() => void)[] | null = null;
  #failing = false;
  /** Saves and snapshot saves refused since `fail()`. */
  failedWrites = 0;

  constructor(private readonly inner: Storage) {}

  get identity(): StorageIdentity {
    return this.inner.identity;
  }

  /** Saves from now on wait until `release()`. */
  hold(): void {
    this.#held ??= [];
  }

  /** Lets held saves (and later ones) through. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const go of held) go();
  }

  get heldSaves(): number {
    return this.#held?.length ?? 0;
  }

  /** Snapshots written through `createSnapshot` from now on commit only after `releaseSnapshots()`. */
  holdSnapshots(): void {
    this.#heldSnapshots ??= [];
  }

  releaseSnapshots(): void {
    const held = this.#heldSnapshots ?? [];
    this.#heldSnapshots = null;
    for (const go of held) go();
  }

  get heldSnapshots(): number {
    return this.#heldSnapshots?.length ?? 0;
  }

  /** Every later save, saveSnapshot and snapshot commit rejects, as after an fsync error. */
  fail(): void {
    this.#failing = true;
  }

  async save(write: StorageWrite): Promise<void> {
    if (this.#held !== null) {
      const held = this.#held;
      await new Promise<void>((go) => held.push(go));
    }
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
        if (this.#heldSnapshots !== null) {
          const held = this.#heldSnapshots;
          await new Promise<void>((go) => held.push(go));
        }
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
