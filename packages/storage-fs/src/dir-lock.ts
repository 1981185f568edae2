import { hostname } from 'node:os';
import process from 'node:process';
import { StorageError } from '@raftkit/core';
import type { FsOps } from './fs-ops.ts';

/**
 * `LOCK`: one process per data directory. Created with exclusive create (`wx`), which every
 * runtime and file system supports, unlike `flock` (not exposed by Deno's or Bun's `node:fs`).
 * It holds the owner's pid and host. A lock left by a process that died (same host, pid no longer
 * alive) is stale and taken over; one from another host is never presumed stale, since we cannot
 * see its processes. Two processes racing to take over the same stale lock is not excluded; a
 * reused pid keeps a stale lock looking alive: both rare, both fail safe (`Locked`, remove the
 * file by hand after checking).
 */
export const LOCK_FILE = 'LOCK';

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
}

/** Whether a process with this pid exists: signal 0 checks without delivering anything. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as { code?: string }).code === 'EPERM';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function parseOwner(bytes: Uint8Array): LockOwner | null {
  try {
    const raw = JSON.parse(decoder.decode(bytes)) as Partial<LockOwner>;
    return typeof raw.pid === 'number' && typeof raw.host === 'string'
      ? { pid: raw.pid, host: raw.host }
      : null;
  } catch {
    return null;
  }
}

export async function acquireLock(
  fs: FsOps,
  dir: string,
  alive: (pid: number) => boolean = isProcessAlive,
): Promise<void> {
  const path = `${dir}/${LOCK_FILE}`;
  const me: LockOwner = { pid: process.pid, host: hostname() };
  for (let attempt = 0; ; attempt++) {
    try {
      const file = await fs.open(path, 'wx+');
      try {
        // No fsync: after a power loss no process holds the lock anyway.
        await file.write(encoder.encode(JSON.stringify(me)), 0);
      } finally {
        await file.close();
      }
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
    const owner = parseOwner(await fs.readFile(path));
    // An unreadable lock may be one being written this instant: never presume it stale.
    const stale = owner !== null && owner.host === me.host && owner.pid !== me.pid && !alive(owner.pid);
    if (!stale || attempt > 0) {
      const who = owner === null ? 'an unknown owner' : `pid ${owner.pid} on ${owner.host}`;
      throw new StorageError('Locked', `${path}: data directory is in use by ${who}`, { file: path });
    }
    await fs.unlink(path);
  }
}

export async function releaseLock(fs: FsOps, dir: string): Promise<void> {
  await fs.unlink(`${dir}/${LOCK_FILE}`);
}
