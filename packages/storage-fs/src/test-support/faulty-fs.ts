import type { FileOps, FsOps } from '../fs-ops.ts';
import { nodeFsOps } from '../fs-ops.ts';

/** What the double did, in order: one line per mutating step (`sync wal-…`, `rename a -> b`). */
export type StepLog = string[];

/** The simulated crash: this step and every later call never happen. */
export class CrashError extends Error {
  readonly code = 'ECRASH';
}

const errno = (code: string, step: string) =>
  Object.assign(new Error(`${code}: injected on ${step}`), { code });

/**
 * A file system that records each mutating step (create, write, fsync, truncate, rename, unlink,
 * directory fsync) and, once armed, can stop after step N (a crash: nothing later reaches the disk)
 * or fail step N with an errno such as ENOSPC or EIO.
 */
export class FaultyFs {
  readonly steps: StepLog = [];
  private limit = Number.POSITIVE_INFINITY;
  private failure: { step: number; code: string } | null = null;
  private crashed = false;

  /** Allows `n` more mutating steps; the one after throws `CrashError`, and so does everything after it. */
  crashAfter(n: number): void {
    this.limit = this.steps.length + n;
  }

  /** Makes the `n`-th mutating step from now (1-based) fail with `code`; later steps run normally. */
  failStep(n: number, code: string): void {
    this.failure = { step: this.steps.length + n, code };
  }

  private step(label: string): void {
    if (this.crashed) throw new CrashError(`crashed before ${label}`);
    if (this.steps.length >= this.limit) {
      this.crashed = true;
      throw new CrashError(`crash before ${label}`);
    }
    this.steps.push(label);
    if (this.failure !== null && this.steps.length === this.failure.step)
      throw errno(this.failure.code, label);
  }

  private read(): void {
    if (this.crashed) throw new CrashError('crashed');
  }

  readonly fs: FsOps = {
    open: async (path, flags) => {
      if (flags === 'wx+' || flags === 'w+') this.step(`create ${base(path)}`);
      else this.read();
      return this.file(path, await nodeFsOps.open(path, flags));
    },
    readFile: async (path) => {
      this.read();
      return nodeFsOps.readFile(path);
    },
    readdir: async (path) => {
      this.read();
      return nodeFsOps.readdir(path);
    },
    mkdir: async (path) => {
      this.read();
      return nodeFsOps.mkdir(path);
    },
    rename: async (from, to) => {
      this.step(`rename ${base(from)} -> ${base(to)}`);
      return nodeFsOps.rename(from, to);
    },
    unlink: async (path) => {
      this.step(`unlink ${base(path)}`);
      return nodeFsOps.unlink(path);
    },
    syncDir: async (path) => {
      this.step(`syncDir ${base(path)}`);
      return nodeFsOps.syncDir(path);
    },
  };

  private file(path: string, inner: FileOps): FileOps {
    const name = base(path);
    return {
      read: async (buffer, position) => {
        this.read();
        return inner.read(buffer, position);
      },
      write: async (data, position) => {
        this.step(`write ${name} ${data.byteLength}@${position}`);
        return inner.write(data, position);
      },
      sync: async () => {
        this.step(`sync ${name}`);
        return inner.sync();
      },
      datasync: async () => {
        this.step(`datasync ${name}`);
        return inner.datasync();
      },
      truncate: async (size) => {
        this.step(`truncate ${name} ${size}`);
        return inner.truncate(size);
      },
      size: async () => {
        this.read();
        return inner.size();
      },
      // Closing releases the descriptor even after a crash, so tests leak nothing.
      close: () => inner.close(),
    };
  }
}

const base = (path: string) => path.slice(path.lastIndexOf('/') + 1);
