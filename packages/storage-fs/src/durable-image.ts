import {
  closeSync,
  copyFileSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FileOps, FsOps } from './fs-ops.ts';

/**
 * Test mode for power loss. `kill -9` keeps the page cache, so it cannot show a missing fsync:
 * after it, the disk still holds every write the process made. A power loss keeps only what was
 * made durable: file contents up to their last fsync, and directory entries as of the directory's
 * last fsync. This wrapper keeps that durable image beside the data directory as the store runs
 * (a mirror of each file holding only its synced bytes, and the directory's synced listing), so a
 * fault test can kill the process and then `restoreDurableImage` puts the data directory back to
 * exactly what a power loss would have left.
 *
 * It assumes one flat data directory, as the store keeps. The image is updated with synchronous
 * writes before a sync returns, so a `kill -9` right after a sync finds it current. Slow, and
 * only for tests: the server enables it with `RAFTKIT_TEST_DURABLE_IMAGE=<dir>`.
 */
export function recordDurableImage(inner: FsOps, dataDir: string, imageDir: string): FsOps {
  const image = new DurableImage(resolve(dataDir), imageDir);
  return {
    async open(path, flags) {
      const file = await inner.open(path, flags);
      const key = image.opened(path, flags !== 'r' && flags !== 'r+');
      return image.wrap(file, key);
    },
    readFile: (path) => inner.readFile(path),
    readdir: (path) => inner.readdir(path),
    mkdir: (path) => inner.mkdir(path),
    rename: (from, to) => inner.rename(from, to),
    unlink: (path) => inner.unlink(path),
    async syncDir(path) {
      await inner.syncDir(path);
      if (resolve(path) === resolve(dataDir)) image.directorySynced();
    },
  };
}

/** Puts `dataDir` back to the durable image `recordDurableImage` kept: what a power loss leaves. */
export function restoreDurableImage(dataDir: string, imageDir: string): void {
  const table = readTable(imageDir);
  for (const name of readdirSync(dataDir)) rmSync(join(dataDir, name), { force: true, recursive: true });
  for (const [name, key] of Object.entries(table))
    copyFileSync(mirrorPath(imageDir, key), join(dataDir, name));
  rmSync(imageDir, { recursive: true, force: true });
}

type Pending =
  | { readonly kind: 'write'; readonly position: number; readonly data: Uint8Array }
  | { readonly kind: 'truncate'; readonly size: number };

const mirrorPath = (imageDir: string, key: string) => join(imageDir, 'files', key);
const tablePath = (imageDir: string) => join(imageDir, 'table.json');

function readTable(imageDir: string): Record<string, string> {
  return JSON.parse(readFileSync(tablePath(imageDir), 'utf8')) as Record<string, string>;
}

/**
 * Files are known by a key of their inode and the moment the image saw them created: an inode
 * freed by an unlink may be handed to a new file before the directory is synced, and the old name
 * must keep the old file's bytes.
 */
class DurableImage {
  /** Writes and truncations since each file's last sync, by file key. */
  readonly #pending = new Map<string, Pending[]>();
  readonly #keys = new Map<number, string>();
  #created = 0;

  constructor(
    private readonly dataDir: string,
    private readonly imageDir: string,
  ) {
    // What is on disk when recording starts counts as durable: a clean start, a restored image,
    // or the files a killed process left (the kernel still has its unsynced writes, and this
    // process's first fsync of a file makes them durable, which a mirror of only this process's
    // writes would miss). So an image from an earlier process is dropped, never continued.
    rmSync(imageDir, { recursive: true, force: true });
    mkdirSync(join(imageDir, 'files'), { recursive: true });
    mkdirSync(dataDir, { recursive: true });
    const known: Record<string, string> = {};
    for (const name of readdirSync(dataDir)) {
      const key = this.#key(join(dataDir, name));
      copyFileSync(join(dataDir, name), mirrorPath(imageDir, key));
      known[name] = key;
    }
    this.#writeTable(known);
  }

  /** A file of the data directory was opened; a created one starts with an empty mirror. */
  opened(path: string, created: boolean): string {
    if (!created || resolve(dirname(path)) !== this.dataDir) return this.#key(path);
    const ino = statSync(path).ino;
    const key = `${ino}.${++this.#created}`;
    this.#keys.set(ino, key);
    writeFileSync(mirrorPath(this.imageDir, key), new Uint8Array(0));
    return key;
  }

  wrap(file: FileOps, key: string): FileOps {
    const pending = () => {
      let list = this.#pending.get(key);
      if (list === undefined) {
        list = [];
        this.#pending.set(key, list);
      }
      return list;
    };
    const synced = () => this.#apply(key);
    return {
      read: (buffer, position) => file.read(buffer, position),
      async write(data, position) {
        await file.write(data, position);
        pending().push({ kind: 'write', position, data: data.slice() });
      },
      async truncate(size) {
        await file.truncate(size);
        pending().push({ kind: 'truncate', size });
      },
      async sync() {
        await file.sync();
        synced();
      },
      async datasync() {
        await file.datasync();
        synced();
      },
      size: () => file.size(),
      close: () => file.close(),
    };
  }

  /** The directory's entries are durable as they are now. */
  directorySynced(): void {
    const table: Record<string, string> = {};
    for (const name of readdirSync(this.dataDir)) {
      const key = this.#key(join(this.dataDir, name));
      this.#ensureMirror(key);
      table[name] = key;
    }
    this.#writeTable(table);
  }

  /** The file's pending writes reached the disk: replay them into its mirror. */
  #apply(key: string): void {
    const list = this.#pending.get(key);
    if (list === undefined || list.length === 0) return;
    this.#pending.delete(key);
    this.#ensureMirror(key);
    const fd = openSync(mirrorPath(this.imageDir, key), 'r+');
    try {
      for (const op of list) {
        if (op.kind === 'truncate') ftruncateSync(fd, op.size);
        else writeSync(fd, op.data, 0, op.data.byteLength, op.position);
      }
    } finally {
      closeSync(fd);
    }
  }

  #writeTable(table: Record<string, string>): void {
    const temp = `${tablePath(this.imageDir)}.tmp`;
    writeFileSync(temp, JSON.stringify(table));
    renameSync(temp, tablePath(this.imageDir));
  }

  /** A file the image never saw created (made before recording, or by another tool) has no synced bytes yet. */
  #ensureMirror(key: string): void {
    try {
      statSync(mirrorPath(this.imageDir, key));
    } catch {
      writeFileSync(mirrorPath(this.imageDir, key), new Uint8Array(0));
    }
  }

  #key(path: string): string {
    const ino = statSync(path).ino;
    let key = this.#keys.get(ino);
    if (key === undefined) {
      key = `${ino}.0`;
      this.#keys.set(ino, key);
    }
    return key;
  }
}
