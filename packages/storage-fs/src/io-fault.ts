import { existsSync } from 'node:fs';
import type { FileOps, FsOps } from './fs-ops.ts';

/**
 * Test mode for a disk that fails: while `controlFile` exists, every write, truncate and sync
 * through these ops fails with EIO, and the store must stop (a failed fsync is fatal: after one,
 * the page cache may claim data is on disk that is not). A fault test creates the file to break
 * the disk and removes it to heal it; the file lives outside the data directory, so the store
 * never sees it. A sync does its work first and then reports EIO, as Linux may after writeback
 * fails: what it covered may or may not be on disk, and nothing acknowledged may depend on it.
 * Reads keep working, so a restarted node opens its data directory and stops at its first write.
 *
 * Looks for the file (one stat) before every mutating call, so only for tests: the server
 * enables it with `RAFTKIT_TEST_IO_FAULT=<file>`, and without that the store runs on its
 * ordinary ops, untouched.
 */
export function failIoOnDemand(inner: FsOps, controlFile: string): FsOps {
  const check = (syscall: string, path: string) => {
    if (existsSync(controlFile)) throw injectedEio(syscall, path, controlFile);
  };
  return {
    async open(path, flags) {
      const file = await inner.open(path, flags);
      return wrapFile(file, path, check);
    },
    readFile: (path) => inner.readFile(path),
    readdir: (path) => inner.readdir(path),
    mkdir: (path) => inner.mkdir(path),
    async rename(from, to) {
      check('rename', from);
      await inner.rename(from, to);
    },
    async unlink(path) {
      check('unlink', path);
      await inner.unlink(path);
    },
    async syncDir(path) {
      await inner.syncDir(path);
      check('fsync', path);
    },
  };
}

function wrapFile(file: FileOps, path: string, check: (syscall: string, path: string) => void): FileOps {
  return {
    read: (buffer, position) => file.read(buffer, position),
    async write(data, position) {
      check('write', path);
      await file.write(data, position);
    },
    async sync() {
      await file.sync();
      check('fsync', path);
    },
    async datasync() {
      await file.datasync();
      check('fdatasync', path);
    },
    async truncate(size) {
      check('ftruncate', path);
      await file.truncate(size);
    },
    size: () => file.size(),
    close: () => file.close(),
  };
}

/** Shaped as the runtimes' own errno errors (`code`, `errno`, `syscall`, `path`), so callers treat it alike. */
function injectedEio(syscall: string, path: string, controlFile: string): NodeJS.ErrnoException {
  return Object.assign(
    new Error(`EIO: i/o error, ${syscall} '${path}' (injected by the test mode: ${controlFile} exists)`),
    { code: 'EIO', errno: -5, syscall, path },
  );
}
