import type { FileOps } from './fs-ops.ts';

/**
 * One open WAL segment. Reads may be in flight when compaction deletes the segment, so the
 * handle closes only once the last reader releases it (the unlinked file stays readable until
 * then).
 */
export class Segment {
  private readers = 0;
  private deleted = false;

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
    if (this.deleted && this.readers === 0) await this.file.close();
  }

  /** The file was unlinked: close now, or when the last reader is done. */
  async retire(): Promise<void> {
    this.deleted = true;
    if (this.readers === 0) await this.file.close();
  }
}
