import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import process from 'node:process';
import { StorageError } from '@raftkit/core';
import type { FsOps } from './fs-ops.ts';

/**
 * `LOCK`: one process per data directory. Created with exclusive create (`wx`), which every
 * runtime and file system supports, unlike `flock` (not exposed by Node's, Deno's or Bun's
 * `node:fs`). It names its owner precisely enough to tell, after a crash, that the owner is gone:
 * a node killed with `kill -9` must restart by itself, with no one removing the file by hand.
 *
 * A pid alone cannot say that. The pid may answer `kill -0` as a zombie nobody reaped; it may have
 * been handed to another process after a reboot; and in a container the node is pid 1 in every
 * incarnation, so the new process finds its own pid in the lock. So the owner also records the
 * kernel's boot id and its own start time (both from `/proc`, where the system has it): a lock
 * from another boot is stale, and so is one whose pid now belongs to a process that started at
 * another time, or to none, or to a zombie. A lock bearing our own pid is ours only if this
 * process took it (it remembers which it holds); otherwise an earlier incarnation left it.
 *
 * One from another host is never presumed stale, since we cannot see its processes. Without
 * `/proc` (not Linux) a lock of a live pid is presumed held. Left open: two
 * processes racing to take over one stale lock, and two containers of one host name in separate
 * pid namespaces sharing one directory (each sees the other's pid as its own or as nobody's):
 * don't share a data directory between containers.
 */
export const LOCK_FILE = 'LOCK';

/**
 * Who holds a data directory's lock, as written into the lock file: enough to tell a live owner from a
 * stale lock left by a crash, even after the pid was reused or the machine rebooted.
 */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** The kernel's boot id (`/proc/sys/kernel/random/boot_id`), where known. */
  readonly boot?: string;
  /** The process's start time in clock ticks since boot (`/proc/<pid>/stat`), where known. */
  readonly started?: string;
}

/** What the system says of a pid now: `gone` covers no such process and a zombie (it can no longer write). */
export type ProcessLookup =
  | { readonly state: 'gone' }
  | { readonly state: 'running'; readonly started?: string };

/** How the lock sees processes; tests replace it. */
export interface ProcessTable {
  /** This process, as it writes itself into a lock. */
  self(): LockOwner;
  /**
   * Whether process `pid` still exists and, where the system says, its start time and boot, to compare with
   * a lock's owner.
   */
  lookup(pid: number): ProcessLookup;
}

function procStat(pid: number): { state: string; started: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const started = fields[19];
    return state === undefined || started === undefined ? null : { state, started };
  } catch {
    return null;
  }
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The real process table: `/proc` where it exists, else `kill(pid, 0)`. */
export const systemProcesses: ProcessTable = {
  self() {
    const boot = bootId();
    const started = procStat(process.pid)?.started;
    return {
      pid: process.pid,
      host: hostname(),
      ...(boot !== undefined ? { boot } : {}),
      ...(started !== undefined ? { started } : {}),
    };
  },
  lookup(pid) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      // EPERM: it exists but belongs to someone else.
      if ((e as { code?: string }).code !== 'EPERM') return { state: 'gone' };
    }
    const stat = procStat(pid);
    if (stat === null) return { state: 'running' };
    return stat.state === 'Z' || stat.state === 'X'
      ? { state: 'gone' }
      : { state: 'running', started: stat.started };
  },
};

/** Lock files this process holds: a lock bearing our pid that is not among them is an earlier incarnation's. */
const heldHere = new Set<string>();

/**
 * Whether the owner of the lock at `path` may still be running; `me` is this process. A pid is
 * unique among live processes, so a lock of our own pid is either one we hold (a second open of
 * one directory) or one a dead process with our pid left behind.
 */
export function ownerMayBeAlive(
  path: string,
  owner: LockOwner,
  me: LockOwner,
  processes: ProcessTable,
): boolean {
  if (owner.host !== me.host) return true;
  if (owner.boot !== undefined && me.boot !== undefined && owner.boot !== me.boot) return false;
  if (owner.pid === me.pid) return heldHere.has(path);
  const now = processes.lookup(owner.pid);
  if (now.state === 'gone') return false;
  // The pid was handed to a process that started at another time: the owner is gone.
  return owner.started === undefined || now.started === undefined || owner.started === now.started;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function parseLockOwner(bytes: Uint8Array): LockOwner | null {
  try {
    const raw = JSON.parse(decoder.decode(bytes)) as Partial<Record<keyof LockOwner, unknown>>;
    if (typeof raw.pid !== 'number' || typeof raw.host !== 'string') return null;
    return {
      pid: raw.pid,
      host: raw.host,
      ...(typeof raw.boot === 'string' ? { boot: raw.boot } : {}),
      ...(typeof raw.started === 'string' ? { started: raw.started } : {}),
    };
  } catch {
    return null;
  }
}

export async function acquireLock(
  fs: FsOps,
  dir: string,
  processes: ProcessTable = systemProcesses,
): Promise<void> {
  const path = `${dir}/${LOCK_FILE}`;
  const me = processes.self();
  for (let attempt = 0; ; attempt++) {
    try {
      const file = await fs.open(path, 'wx+');
      try {
        // No fsync: after a power loss no process holds the lock anyway.
        await file.write(encoder.encode(JSON.stringify(me)), 0);
      } finally {
        await file.close();
      }
      heldHere.add(path);
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
    const owner = await readOwner(fs, path);
    // An unreadable lock that stays unreadable was left by a power loss: the file was created but
    // its few bytes never reached the disk (nothing fsyncs them). Its owner died with the machine.
    const stale = owner === 'unreadable' || !ownerMayBeAlive(path, owner, me, processes);
    if (!stale || attempt > 0) {
      const who = owner === 'unreadable' ? 'an unknown owner' : `pid ${owner.pid} on ${owner.host}`;
      throw new StorageError('Locked', `${path}: data directory is in use by ${who}`, { file: path });
    }
    await fs.unlink(path);
  }
}

/**
 * The owner a lock names. One being written this instant reads empty: it is read again a few
 * times over a fifth of a second (its writer needs microseconds) before it is called unreadable.
 */
async function readOwner(fs: FsOps, path: string): Promise<LockOwner | 'unreadable'> {
  for (let tries = 0; ; tries++) {
    const owner = parseLockOwner(await fs.readFile(path));
    if (owner !== null) return owner;
    if (tries === 3) return 'unreadable';
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function releaseLock(fs: FsOps, dir: string): Promise<void> {
  const path = `${dir}/${LOCK_FILE}`;
  heldHere.delete(path);
  await fs.unlink(path);
}
