import { fdatasync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';

/**
 * The file-system operations the store uses, and nothing more. Injectable so tests can stop the
 * store after any step (a crash) or make one step fail (ENOSPC, EIO) without mocking modules.
 * Every call here is one the three runtimes (Node, Bun, Deno) implement through `node:fs`.
 */
export interface FsOps {
  /**
   * `r`: read only. `r+`: read and write an existing file. `wx+`: create a new file, failing
   * with EEXIST if it exists (the lock and new segments rely on that). `w+`: create or truncate.
   */
  open(path: string, flags: 'r' | 'r+' | 'wx+' | 'w+'): Promise<FileOps>;
  /** The whole file at `path`; rejects ENOENT when it does not exist. */
  readFile(path: string): Promise<Uint8Array>;
  /** Names in `path`; rejects ENOENT when it does not exist. */
  readdir(path: string): Promise<string[]>;
  /** Creates `path` and its missing parents; an existing directory is fine. */
  mkdir(path: string): Promise<void>;
  /** Atomically replaces `to` with `from`; durable only after `syncDir` of the directory. */
  rename(from: string, to: string): Promise<void>;
  /** Removes the file at `path`; durable only after `syncDir` of the directory. */
  unlink(path: string): Promise<void>;
  /** Makes a directory's entries (creates, renames, unlinks) durable: open it read-only, fsync. */
  syncDir(path: string): Promise<void>;
}

/** An open file, as storage uses it. Positions and sizes are in bytes. */
export interface FileOps {
  /** Reads into `buffer` from `position`; returns the bytes read (fewer only at end of file). */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** fsync: data and all metadata. */
  sync(): Promise<void>;
  /**
   * fdatasync: data and the metadata needed to read it back (the size), not timestamps. Enough
   * for a WAL append, and cheaper when the append overwrites preallocated space.
   */
  datasync(): Promise<void>;
  /** Cuts the file to `size` bytes (not durable until `sync`). */
  truncate(size: number): Promise<void>;
  /** The file's current size in bytes. */
  size(): Promise<number>;
  /** Closes the file; it syncs nothing. */
  close(): Promise<void>;
}

/**
 * Writes up to this size go straight to the kernel from the calling thread (see `write`). Not on
 * Deno: there a `writeSync` on the event loop's thread now and then stalled it for tens of
 * milliseconds under load (a 3-node cluster at 64 connections: writes p99 of 16 to 55 ms per
 * 5 s run, against 14 to 32 ms with every write on the thread pool), which costs the slowest
 * writes far more than the hand-off costs each (p50 at one write in flight 1.08 against 1.16 ms).
 * Node and Bun showed no such stall.
 */
const SYNC_WRITE_BYTES = 'Deno' in globalThis ? 0 : 64 * 1024;

/** The real file system, through `node:fs/promises`. */
export const nodeFsOps: FsOps = {
  async open(path, flags) {
    const handle = await open(path, flags);
    return {
      async read(buffer, position) {
        let done = 0;
        while (done < buffer.byteLength) {
          const { bytesRead } = await handle.read(buffer, done, buffer.byteLength - done, position + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done;
      },
      async write(data, position) {
        let done = 0;
        // A small write only copies into the page cache (microseconds): on the calling thread it
        // costs less than the thread pool's hand-off and wake-up, which every WAL append paid
        // before its fdatasync (that one stays asynchronous). Large ones (preallocation, snapshot
        // chunks) keep to the pool so the event loop never blocks on them.
        if (data.byteLength <= SYNC_WRITE_BYTES) {
          while (done < data.byteLength) {
            done += writeSync(handle.fd, data, done, data.byteLength - done, position + done);
          }
          return;
        }
        while (done < data.byteLength) {
          const { bytesWritten } = await handle.write(data, done, data.byteLength - done, position + done);
          done += bytesWritten;
        }
      },
      sync: () => handle.sync(),
      // Through the callback API on the handle's descriptor: `FileHandle.datasync()` costs about
      // 0.1 ms more per call on Node (0.23 against 0.14 ms at p50 for a 128-byte append here),
      // and every WAL append, on the leader and on each follower, waits for one.
      datasync: () =>
        new Promise<void>((resolve, reject) =>
          fdatasync(handle.fd, (error) => (error === null ? resolve() : reject(error))),
        ),
      truncate: (size) => handle.truncate(size),
      size: async () => (await handle.stat()).size,
      close: () => handle.close(),
    };
  },
  readFile: async (path) => {
    // A view on the Buffer, not a copy: segments are read whole at open.
    const bytes = await readFile(path);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
  readdir: (path) => readdir(path),
  mkdir: async (path) => {
    await mkdir(path, { recursive: true });
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDir(path) {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
