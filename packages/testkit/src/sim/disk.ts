import type { Entry, HardState, PersistedState, Snapshot, Storage, Term } from '@raftkit/core';

/** What one Ready asks to make durable (Ready contract step 2), in the order it is applied. */
export interface DiskWrite {
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
}

/**
 * A simulated node's durable storage. Methods may be synchronous (the simulated disk) or return
 * promises (a real `Storage`); the simulator awaits them one at a time, so the order of events
 * stays decided by the seed alone. A crash calls `close()` and throws the node away; the restarted
 * node calls `load()`, which must return exactly what was persisted before.
 */
export interface NodeDisk {
  /** The state the node restarts from: what reached the disk before the crash. */
  load(): PersistedState | Promise<PersistedState>;
  /**
   * Makes `write` (hard state, entries, snapshot) durable, in order; a crash before it completes may lose
   * it.
   */
  persist(write: DiskWrite): void | Promise<void>;
  /** The application's own snapshot, stored before the core is told to compact. */
  saveSnapshot(snapshot: Snapshot): void | Promise<void>;
  /** Called when the node crashes or the run ends; a real store is closed here. */
  close(): void | Promise<void>;
}

/** Thrown when a write breaks the storage contract: a bug in whoever asked for the write. */
export class DiskContractError extends Error {
  override readonly name = 'DiskContractError';
}

/**
 * The simulated disk: durable state held in memory, surviving the node's crashes (the
 * simulator keeps the object, the crashed node loses everything else). Writes reach it only when
 * their simulated fsync completes, so a crash before that loses them. It also serves as the
 * reference copy the safety checker reads, whichever disk the node really uses.
 */
export class MemoryDisk implements NodeDisk {
  #hardState: HardState;
  #snapshot: Snapshot | null;
  /** `#entries[k]` has index `#snapshotIndex + 1 + k`; contiguous by construction. */
  #entries: Entry[];

  constructor(initial: PersistedState) {
    this.#hardState = initial.hardState;
    this.#snapshot = initial.snapshot;
    this.#entries = [...initial.entries];
    const first = this.#entries[0];
    if (first !== undefined && first.index !== this.snapshotIndex + 1) {
      throw new DiskContractError(
        `initial log starts at ${first.index}, snapshot is at ${this.snapshotIndex}`,
      );
    }
  }

  get hardState(): HardState {
    return this.#hardState;
  }

  get snapshotIndex(): number {
    return this.#snapshot?.meta.index ?? 0;
  }

  get lastIndex(): number {
    return this.snapshotIndex + this.#entries.length;
  }

  /** The term at `i` if this disk still knows it (the snapshot's own index included). */
  termAt(i: number): Term | undefined {
    if (i === this.snapshotIndex) return this.#snapshot?.meta.term ?? (0 as Term);
    return this.#entries[i - this.snapshotIndex - 1]?.term;
  }

  /** The entry at `i`, if it is stored (not compacted, not past the end). */
  entryAt(i: number): Entry | undefined {
    return this.#entries[i - this.snapshotIndex - 1];
  }

  load(): PersistedState {
    return { hardState: this.#hardState, snapshot: this.#snapshot, entries: [...this.#entries] };
  }

  persist(write: DiskWrite): void {
    if (write.snapshot !== null) this.saveSnapshot(write.snapshot);
    if (write.entries.length > 0) this.#append(write.entries);
    if (write.hardState !== null) this.#hardState = write.hardState;
  }

  saveSnapshot(snapshot: Snapshot): void {
    const at = snapshot.meta.index;
    if (at < this.snapshotIndex) {
      throw new DiskContractError(`snapshot at ${at} is older than the stored one at ${this.snapshotIndex}`);
    }
    // Keep the suffix only when the log agrees with the snapshot at its index (storage.ts).
    const keep = this.termAt(at) === snapshot.meta.term ? this.#entries.slice(at - this.snapshotIndex) : [];
    this.#snapshot = snapshot;
    this.#entries = keep;
  }

  close(): void {}

  #append(entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    if (first <= this.snapshotIndex) {
      throw new DiskContractError(`append at ${first} overwrites the snapshot at ${this.snapshotIndex}`);
    }
    if (first > this.lastIndex + 1) {
      throw new DiskContractError(`append at ${first} leaves a gap after ${this.lastIndex}`);
    }
    for (let k = 1; k < entries.length; k++) {
      if (entries[k]!.index !== first + k)
        throw new DiskContractError(`entries not contiguous at ${first + k}`);
    }
    this.#entries.length = first - this.snapshotIndex - 1;
    this.#entries.push(...entries);
  }
}

/**
 * A real `Storage` as a simulated node's disk. A crash closes the store; the restart reopens it
 * (for a directory-backed store: from the same directory), so recovery code runs for real.
 */
export class StorageDisk implements NodeDisk {
  readonly #open: () => Promise<Storage>;
  readonly #initial: PersistedState;
  #storage: Storage | null = null;

  /**
   * `open` opens the node's store; it is called again after every crash. A fresh store (no
   * snapshot) is first given `initial`, the node's boot state (`bootstrapState(...)`).
   */
  constructor(open: () => Promise<Storage>, initial: PersistedState) {
    this.#open = open;
    this.#initial = initial;
  }

  async load(): Promise<PersistedState> {
    this.#storage ??= await this.#open();
    const storage = this.#storage;
    const state = await storage.load();
    if (state.snapshot !== null) return state;
    await this.persist(this.#initial);
    return storage.load();
  }

  async persist(write: DiskWrite): Promise<void> {
    const storage = this.#require();
    if (write.snapshot !== null) await storage.saveSnapshot(write.snapshot);
    if (write.entries.length > 0 || write.hardState !== null) {
      await storage.save({
        ...(write.entries.length > 0 ? { entries: write.entries } : {}),
        ...(write.hardState !== null ? { hardState: write.hardState } : {}),
      });
    }
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    await this.#require().saveSnapshot(snapshot);
  }

  async close(): Promise<void> {
    const storage = this.#storage;
    this.#storage = null;
    await storage?.close();
  }

  #require(): Storage {
    if (this.#storage === null) throw new Error('StorageDisk used before load()');
    return this.#storage;
  }
}
