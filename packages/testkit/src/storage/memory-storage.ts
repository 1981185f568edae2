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
  StoredLogView,
  Term,
} from '@raftkit/core';
import { admitSnapshot, admitWrite, index, StorageError, term } from '@raftkit/core';
import type { StorageFactory } from './describe-storage.ts';
import {
  applySnapshot,
  applyWrite,
  copyMeta,
  emptyModel,
  lastIndex,
  type ModelState,
  snapshotIndex,
  termAt,
} from './storage-model.ts';

/** What survives a "restart": one per directory name, shared by the stores opened on it. */
interface MemoryDisk {
  readonly identity: StorageIdentity;
  state: ModelState;
  locked: boolean;
}

const copyEntry = (e: Entry): Entry => ({ index: e.index, term: e.term, type: e.type, data: e.data.slice() });
const copySnapshot = (s: Snapshot): Snapshot => ({ meta: copyMeta(s.meta), data: s.data.slice() });

/**
 * A `Storage` in memory, for the simulator and driver tests. "Durable" means: kept in the
 * `MemoryDisk` a factory holds, so closing and reopening the same name returns what was written.
 * Inputs are copied on the way in and out, so a caller mutating its buffers cannot change what
 * was stored.
 */
export class MemoryStorage implements Storage {
  private closed: StorageError | null = null;

  private constructor(
    private readonly disk: MemoryDisk,
    readonly identity: StorageIdentity,
  ) {}

  /** A fresh store on its own disk, for tests that never reopen. */
  static create(identity: StorageIdentity): MemoryStorage {
    return MemoryStorage.open({ identity, state: emptyModel, locked: false }, identity);
  }

  private static open(disk: MemoryDisk, identity: StorageIdentity): MemoryStorage {
    if (disk.identity.clusterId !== identity.clusterId || disk.identity.nodeId !== identity.nodeId) {
      throw new StorageError(
        'IdentityMismatch',
        `this store belongs to node "${disk.identity.nodeId}" of cluster "${disk.identity.clusterId}"`,
      );
    }
    if (disk.locked) throw new StorageError('Locked', 'this store is already open');
    disk.locked = true;
    return new MemoryStorage(disk, identity);
  }

  /** A factory whose stores survive close and reopen by directory name, like files would. */
  static factory(): StorageFactory {
    const disks = new Map<string, MemoryDisk>();
    return {
      async open(dir, identity) {
        let disk = disks.get(dir);
        if (disk === undefined) {
          disk = { identity, state: emptyModel, locked: false };
          disks.set(dir, disk);
        }
        return MemoryStorage.open(disk, identity);
      },
    };
  }

  private get state(): ModelState {
    if (this.closed !== null) throw this.closed;
    return this.disk.state;
  }

  private view(): StoredLogView {
    const state = this.state;
    return {
      snapshotIndex: snapshotIndex(state),
      lastIndex: lastIndex(state),
      commitIndex: state.hardState.commitIndex,
      termAt: (i) => termAt(state, i) ?? Number.NaN,
    };
  }

  async load(): Promise<PersistedState> {
    const state = this.state;
    return {
      hardState: state.hardState,
      snapshot: state.snapshot && copySnapshot(state.snapshot),
      entries: state.entries.map(copyEntry),
    };
  }

  async save(write: StorageWrite): Promise<void> {
    const entries = admitWrite(this.view(), write);
    this.disk.state = applyWrite(this.state, {
      entries: entries.map(copyEntry),
      ...(write.hardState === undefined ? {} : { hardState: { ...write.hardState } }),
    });
  }

  async entries(low: Index, high: Index, maxBytes = Number.POSITIVE_INFINITY): Promise<Entry[]> {
    const state = this.state;
    if (low > high) throw new StorageError('InvalidArgument', `entries(${low}, ${high}): low is above high`);
    if (low === high) return [];
    this.checkRange(low, high, snapshotIndex(state) + 1);
    const base = snapshotIndex(state);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i: number = low; i < high; i++) {
      const entry = state.entries[i - base - 1]!;
      bytes += entry.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(copyEntry(entry));
    }
    return out;
  }

  private checkRange(low: number, high: number, lowest: number): void {
    if (low < lowest) throw new StorageError('Compacted', `index ${low} is compacted`);
    const last = lastIndex(this.state);
    if (high - 1 > last)
      throw new StorageError('Unavailable', `index ${high - 1} is past the last index ${last}`);
  }

  term(i: Index): Term {
    this.checkRange(i, i + 1, snapshotIndex(this.state));
    return term(termAt(this.state, i)!);
  }

  firstIndex(): Index {
    return index(snapshotIndex(this.state) + 1);
  }

  lastIndex(): Index {
    return index(lastIndex(this.state));
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    admitSnapshot(this.view(), snapshot.meta);
    this.disk.state = applySnapshot(this.state, copySnapshot(snapshot));
  }

  async createSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter> {
    admitSnapshot(this.view(), meta);
    const chunks: Uint8Array[] = [];
    let done = false;
    const ensureOpen = () => {
      if (this.closed !== null) throw this.closed;
      if (done) throw new StorageError('InvalidArgument', 'the snapshot writer is finished');
    };
    return {
      write: async (chunk) => {
        ensureOpen();
        chunks.push(chunk.slice());
      },
      commit: async () => {
        ensureOpen();
        done = true;
        const data = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
        let at = 0;
        for (const chunk of chunks) {
          data.set(chunk, at);
          at += chunk.byteLength;
        }
        await this.saveSnapshot({ meta, data });
      },
      abort: async () => {
        done = true;
      },
    };
  }

  snapshotMeta(): SnapshotMeta | null {
    const snapshot = this.state.snapshot;
    return snapshot && copyMeta(snapshot.meta);
  }

  async loadSnapshot(): Promise<Snapshot | null> {
    const snapshot = this.state.snapshot;
    return snapshot && copySnapshot(snapshot);
  }

  async *readSnapshot(chunkBytes: number): AsyncIterable<Uint8Array> {
    if (!(chunkBytes >= 1)) throw new StorageError('InvalidArgument', `chunkBytes must be at least 1`);
    const data = this.state.snapshot?.data;
    if (data === undefined) return;
    for (let at = 0; at < data.byteLength; at += chunkBytes) yield data.slice(at, at + chunkBytes);
  }

  async close(): Promise<void> {
    if (this.closed !== null) return;
    this.closed = new StorageError('Closed', 'storage is closed');
    this.disk.locked = false;
  }
}
