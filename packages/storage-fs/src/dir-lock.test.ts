import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import type { StorageError } from '@raftkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LOCK_FILE,
  type LockOwner,
  type ProcessLookup,
  type ProcessTable,
  systemProcesses,
} from './dir-lock.ts';
import { openFsStorage } from './index.ts';
import { listDir, tempDirs } from './test-support/dirs.ts';
import { identity } from './test-support/fixtures.ts';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

const me: LockOwner = { pid: 100, host: hostname(), boot: 'boot-a', started: '5000' };

/** A process table that knows only the processes it is given. */
const table = (processes: Record<number, ProcessLookup>): ProcessTable => ({
  self: () => me,
  lookup: (pid) => processes[pid] ?? { state: 'gone' },
});

const open = (dir: string, processes: ProcessTable) => openFsStorage({ dir, identity, processes });
const lockedBy = async (dir: string, owner: object) => {
  await writeFile(join(dir, LOCK_FILE), JSON.stringify(owner));
};
const outcome = (promise: Promise<{ close(): Promise<void> }>): Promise<string> =>
  promise.then(
    async (store) => {
      await store.close();
      return 'opened';
    },
    (e: StorageError) => e.kind,
  );

describe('the directory lock', () => {
  it('refuses a live owner, on this host or another, and takes over from a dead one', async () => {
    const dir = await dirs.make();
    await (await open(dir, table({}))).close();
    const live = table({ 7: { state: 'running', started: '1234' } });
    await lockedBy(dir, { pid: 7, host: me.host, boot: 'boot-a', started: '1234' });
    expect(await outcome(open(dir, live))).toBe('Locked');
    // Another host's processes are out of sight: never presumed dead, whatever our table says.
    await lockedBy(dir, { pid: 7, host: 'some-other-host', boot: 'boot-a', started: '1234' });
    expect(await outcome(open(dir, table({})))).toBe('Locked');
    await lockedBy(dir, { pid: 7, host: me.host, boot: 'boot-a', started: '1234' });
    const store = await open(dir, table({}));
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toEqual(me);
    await store.close();
    expect(await listDir(dir)).not.toContain(LOCK_FILE);
  });

  it('takes over when the pid now belongs to another process, a zombie, or another boot', async () => {
    const dir = await dirs.make();
    await (await open(dir, table({}))).close();
    const owner = { pid: 7, host: me.host, boot: 'boot-a', started: '1234' };
    // The pid was reused by a process that started later.
    await lockedBy(dir, owner);
    expect(await outcome(open(dir, table({ 7: { state: 'running', started: '9999' } })))).toBe('opened');
    // The machine rebooted: whatever runs as pid 7 now is not the owner.
    await lockedBy(dir, { ...owner, boot: 'boot-before' });
    expect(await outcome(open(dir, table({ 7: { state: 'running', started: '1234' } })))).toBe('opened');
    // A lock of an older format (pid and host only) still counts while its pid runs.
    await lockedBy(dir, { pid: 7, host: me.host });
    expect(await outcome(open(dir, table({ 7: { state: 'running', started: '1234' } })))).toBe('Locked');
  });

  it('takes over a lock bearing its own pid that it did not take (pid 1 in a restarted container)', async () => {
    const dir = await dirs.make();
    await (await open(dir, table({}))).close();
    await lockedBy(dir, { pid: me.pid, host: me.host, boot: 'boot-a', started: '1' });
    const store = await open(dir, table({}));
    // But a second open of a directory this process holds is refused.
    expect(await outcome(open(dir, table({})))).toBe('Locked');
    await store.close();
  });
});

describe('the system process table', () => {
  it('describes this process with its boot and start time, and sees it running', () => {
    const self = systemProcesses.self();
    expect(self.pid).toBe(process.pid);
    expect(self.host).toBe(hostname());
    if (process.platform === 'linux') {
      expect(self.boot).toMatch(/^[0-9a-f-]{36}$/);
      expect(self.started).toMatch(/^\d+$/);
    }
    expect(systemProcesses.lookup(process.pid)).toEqual({
      state: 'running',
      ...(self.started !== undefined ? { started: self.started } : {}),
    });
  });

  it('sees a child while it runs and not once it has exited', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      expect(systemProcesses.lookup(child.pid!).state).toBe('running');
    } finally {
      process.kill(child.pid!, 'SIGKILL');
      await exited;
    }
    expect(systemProcesses.lookup(child.pid!).state).toBe('gone');
  });
});

describe('a lock left empty by a power loss', () => {
  it('is taken over once it stays unreadable, but a lock being written is waited for', async () => {
    const dir = await dirs.make();
    await (await open(dir, table({}))).close();
    // Created, its name made durable by a later directory sync, its bytes never synced.
    await writeFile(join(dir, LOCK_FILE), '');
    const store = await open(dir, table({}));
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toEqual(me);
    await store.close();
    // A live owner writing its lock this instant: its bytes arrive within the retries.
    await writeFile(join(dir, LOCK_FILE), '');
    setTimeout(() => void writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 7, host: me.host })), 20);
    expect(await outcome(open(dir, table({ 7: { state: 'running' } })))).toBe('Locked');
  });
});
