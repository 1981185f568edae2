import type { FileOps } from './fs-ops.ts';

/**
 * One open WAL segment. Reads may be in flight when compaction deletes the segment, so the
 * handle closes only once the last reader releases it (the unlinked file stays readable until
 * then).
 *
 * Closing the last descriptor of an unlinked file frees its blocks inside `close`, which Deno
 * runs on the event loop's thread: for a full segment on a file system mounted with `discard`,
 * tens of milliseconds in which no client is answered. So a segment nobody reads is closed
 * first and unlinked after, and the unlink (on the runtime's thread pool) frees the blocks.
 */
export class Segment {
  private readers = 0;
  private retired = false;

  constructor(
    readonly seq: number,
    readonly path: string,
    readonly file: FileOps,
    /** Bytes written so far; appends go here. */
    public size: number,
    /** The file's size: beyond `size` it holds preallocated zeros. */
    public allocated: number,
  ) {}

  retain(): void {
    this.readers++;
  }

  async release(): Promise<void> {
    this.readers--;
    if (this.retired && this.readers === 0) await this.file.close();
  }

  /** The store is closing, or `unlink` deletes the file: close now, or when the last reader is done. */
  async retire(unlink?: () => Promise<void>): Promise<void> {
    this.retired = true;
    if (this.readers === 0) await this.file.close();
    await unlink?.();
  }
}
