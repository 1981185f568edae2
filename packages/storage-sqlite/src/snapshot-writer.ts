import { sha256 } from '@noble/hashes/sha2.js';
import { type SnapshotWriter, StorageError } from '@raftkit/core';
import { SNAPSHOT_CHUNK_BYTES } from './schema.ts';

/** What a writer needs from the store; each call is one transaction there. */
export interface SnapshotSink {
  /** Throws `Closed` once the store is closed, so a writer outliving it fails like every other call. */
  mustBeOpen(): void;
  insertChunk(seq: number, data: Uint8Array): void;
  /** Makes the staged snapshot the current one; validates against the log first. */
  install(size: number, digest: Uint8Array): void;
  discard(): void;
}

/**
 * Streams a snapshot into the staging area in chunk-sized rows. Input is gathered into one buffer
 * of `SNAPSHOT_CHUNK_BYTES` (so tiny writes do not each cost a commit and an fsync, and no more
 * than one chunk is held); the SHA-256 is computed on the way so commit never rereads the data.
 * Nothing is in force until `commit()`: a crash before it leaves the previous snapshot current.
 */
export class StagedSnapshotWriter implements SnapshotWriter {
  readonly #sink: SnapshotSink;
  readonly #hash = sha256.create();
  readonly #buffer = new Uint8Array(SNAPSHOT_CHUNK_BYTES);
  #buffered = 0;
  #seq = 0;
  #size = 0;
  #state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(sink: SnapshotSink) {
    this.#sink = sink;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#mustBeOpen('write');
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
    let offset = 0;
    while (offset < chunk.byteLength) {
      const taken = Math.min(chunk.byteLength - offset, SNAPSHOT_CHUNK_BYTES - this.#buffered);
      this.#buffer.set(chunk.subarray(offset, offset + taken), this.#buffered);
      this.#buffered += taken;
      offset += taken;
      if (this.#buffered === SNAPSHOT_CHUNK_BYTES) this.#flush();
    }
  }

  async commit(): Promise<void> {
    this.#mustBeOpen('commit');
    if (this.#buffered > 0) this.#flush();
    // Settled before install: if install rejects, the writer is spent and the stage is dropped.
    this.#state = 'committed';
    try {
      this.#sink.install(this.#size, this.#hash.digest());
    } catch (error) {
      this.#sink.discard();
      throw error;
    }
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    this.#sink.discard();
  }

  #flush(): void {
    this.#sink.insertChunk(this.#seq++, this.#buffer.subarray(0, this.#buffered));
    this.#buffered = 0;
  }

  #mustBeOpen(operation: string): void {
    this.#sink.mustBeOpen();
    if (this.#state !== 'open') {
      throw new StorageError(
        'InvalidArgument',
        `snapshot writer: ${operation} after the stream was ${this.#state}`,
      );
    }
  }
}
