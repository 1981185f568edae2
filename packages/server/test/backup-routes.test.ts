import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyBackup } from '@raftkit/backup';
import { nodeId } from '@raftkit/core';
import type { RaftNode } from '@raftkit/node';
import { MemoryStorage } from '@raftkit/testkit';
import type { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServerApp } from '../src/app.ts';
import { type BackupJob, BackupJobs } from '../src/backup-jobs.ts';
import { encodeCommand } from '../src/kv/command.ts';
import { KvStateMachine } from '../src/kv/kv-state-machine.ts';
import { type SingleNode, startSingleNode } from './single-node.ts';

const TOKEN = 'backup-route-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let app: Hono;
let node: RaftNode;
let jobs: BackupJobs;
let dir: string;
let storage: MemoryStorage;
let single: SingleNode;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftkit-backup-routes-'));
  single = await startSingleNode(
    { clientToken: TOKEN },
    { backupDir: join(dir, 'backups'), snapshotEvery: { entries: 50 } },
  );
  ({ app, node, storage } = single);
  jobs = single.backups!;
});
afterEach(async () => {
  await single.stop();
  await rm(dir, { recursive: true, force: true });
});

const put = (key: string) =>
  node.propose(encodeCommand({ op: 'put', key, value: new TextEncoder().encode(`v-${key}`) }));
const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer());

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

describe('backup routes', () => {
  it('need the client token', async () => {
    for (const [method, path] of [
      ['GET', '/v1/backup'],
      ['POST', '/v1/backups'],
      ['GET', '/v1/backups'],
      ['GET', '/v1/backups/x'],
      ['GET', '/v1/backups/x/download'],
    ] as const) {
      expect((await app.request(path, { method })).status, `${method} ${path}`).toBe(401);
    }
  });

  it('GET /v1/backup of a store with no snapshot yet answers 409 NoSnapshot', async () => {
    const empty = new BackupJobs({
      storage: MemoryStorage.create({ clusterId: 'c1', nodeId: nodeId('n9') }),
      dir: join(dir, 'empty'),
    });
    const bare = createServerApp({ node, kv: new KvStateMachine(), clientToken: TOKEN, backups: empty });
    const response = await bare.request('/v1/backup', { headers: auth });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: { code: 'NoSnapshot' } });
  });

  it('GET /v1/backup streams a verified backup of a committed, applied index while writes continue', async () => {
    for (let i = 0; i < 120; i++) await put(`k${i}`);
    let writing = true;
    const writes = (async () => {
      // Paced by a timer: with in-memory storage a proposal can resolve without yielding to it.
      for (let i = 0; writing; i++) {
        await put(`more${i}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const response = await app.request('/v1/backup', { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/gzip');
    const bytes = await bytesOf(response);
    writing = false;
    await writes;
    const manifest = await verifyBackup(once(bytes));
    expect(response.headers.get('content-disposition')).toContain(
      `raftkit-backup-test-${manifest.snapshot.index}.tar.gz`,
    );
    expect(manifest.snapshot.index).toBeGreaterThanOrEqual(100);
    expect(manifest.snapshot.index).toBeLessThanOrEqual(node.status().appliedIndex);
    expect(manifest.stateMachine).toMatchObject({ keys: expect.any(Number), bytes: expect.any(Number) });
    expect((manifest.stateMachine as { keys: number }).keys).toBeGreaterThanOrEqual(98);
    expect(manifest.configuration.voters).toEqual([{ id: 'n1', url: 'http://127.0.0.1:1' }]);
  });

  it('backs up every write applied before it was asked for, though no snapshot was due', async () => {
    const fresh = await startSingleNode({ clientToken: TOKEN }, { backupDir: join(dir, 'fresh') });
    try {
      const write = (key: string) =>
        fresh.node.propose(encodeCommand({ op: 'put', key, value: new TextEncoder().encode(key) }));
      for (let i = 0; i < 30; i++) await write(`k${i}`);
      const applied = fresh.node.status().appliedIndex;
      const response = await fresh.app.request('/v1/backup', { headers: auth });
      expect(response.status).toBe(200);
      const streamed = await verifyBackup(once(await bytesOf(response)));
      expect(streamed.snapshot.index).toBe(applied);
      expect((streamed.stateMachine as { keys: number }).keys).toBe(30);
      await write('k30');
      const job = fresh.backups!.start();
      const done = await fresh.backups!.wait(job.id);
      expect(done).toMatchObject({ state: 'done', index: applied + 1 });
    } finally {
      await fresh.stop();
    }
  });

  it('runs one job at a time, verified before done, listed newest first with the latest marked', async () => {
    for (let i = 0; i < 60; i++) await put(`k${i}`);
    const first = await app.request('/v1/backups', { method: 'POST', headers: auth });
    expect(first.status).toBe(202);
    const job = (await first.json()) as BackupJob;
    expect(job).toMatchObject({ state: 'running', bytes: 0, totalBytes: null, percent: 0, error: null });
    const busy = await app.request('/v1/backups', { method: 'POST', headers: auth });
    expect(busy.status).toBe(409);
    expect(await busy.json()).toMatchObject({ error: { code: 'BackupInProgress' } });

    await jobs.wait(job.id);
    const done = (await (await app.request(`/v1/backups/${job.id}`, { headers: auth })).json()) as BackupJob;
    expect(done).toMatchObject({ id: job.id, state: 'done', percent: 100, error: null });
    expect(done.index).toBeGreaterThanOrEqual(50);
    expect(await readdir(join(dir, 'backups'))).toEqual([`${job.id}.tar.gz`]);

    const second = (await (
      await app.request('/v1/backups', { method: 'POST', headers: auth })
    ).json()) as BackupJob;
    await jobs.wait(second.id);
    const list = (await (await app.request('/v1/backups', { headers: auth })).json()) as {
      backups: BackupJob[];
      latest: string;
    };
    expect(list.backups.map((b) => b.id)).toEqual([second.id, job.id]);
    expect(list.latest).toBe(second.id);

    const download = await app.request(`/v1/backups/${job.id}/download`, { headers: auth });
    expect(download.status).toBe(200);
    const bytes = await bytesOf(download);
    expect(bytes.length).toBe(done.bytes);
    expect((await verifyBackup(once(bytes))).snapshot.index).toBe(done.index);
    expect((await app.request('/v1/backups/nope', { headers: auth })).status).toBe(404);
  });

  it('reports bytes and percent while the job runs', async () => {
    const value = new Uint8Array(40_000).fill(7);
    for (let i = 0; i < 120; i++) await node.propose(encodeCommand({ op: 'put', key: `big${i}`, value }));
    // The metadata reader sees each state chunk as it is written, in the job's own pipeline:
    // looking at the job from there is looking mid-stream, with no timing involved.
    const seen: BackupJob[] = [];
    let watched: BackupJobs;
    const look = () => seen.push(watched.list().backups[0]!);
    watched = new BackupJobs({
      storage,
      dir: join(dir, 'watched'),
      stateMachine: {
        backupMetadata: () => ({
          update: look,
          digest: () => {
            look();
            return {};
          },
        }),
      },
    });
    const done = await watched.wait(watched.start().id);
    expect(done).toMatchObject({ state: 'done', percent: 100 });
    const total = done.totalBytes!;
    // The spooled state is read back in 1 MiB chunks: at the second, one has been written.
    expect(total).toBeGreaterThan(2 * 1024 * 1024);
    expect(seen[0]).toMatchObject({ state: 'running', bytes: 0, totalBytes: total, percent: 0 });
    expect(seen[1]).toMatchObject({
      state: 'running',
      bytes: 1024 * 1024,
      percent: Math.floor((50 * 1024 * 1024) / total),
    });
    expect(seen[1]!.percent).toBeGreaterThan(0);
    // digest() runs once every state byte is written, before the file is verified.
    expect(seen.at(-1)).toMatchObject({ state: 'running', bytes: total, percent: 50 });
  });

  it('reports a failed job with its reason', async () => {
    // The backup directory cannot be created: a file is in the way.
    const blocked = new BackupJobs({
      storage: MemoryStorage.create({ clusterId: 'c1', nodeId: nodeId('n9') }),
      dir: '/dev/null/backups',
    });
    const job = await blocked.wait(blocked.start().id);
    expect(job.state).toBe('failed');
    expect(job.error?.message).toMatch(/ENOTDIR|not a directory|no snapshot/i);
  });
});

describe('scheduled backups', () => {
  it('start on their own and keep only the newest K', async () => {
    for (let i = 0; i < 60; i++) await put(`k${i}`);
    const scheduled = new BackupJobs({
      storage,
      dir: join(dir, 'scheduled'),
      schedule: { everyMs: 30, keep: 2 },
    });
    try {
      // Ids end in the job's sequence number: wait until the fourth has finished.
      const sequence = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1));
      for (;;) {
        const newest = scheduled.list().backups[0];
        if (newest !== undefined && sequence(newest.id) >= 4 && newest.state !== 'running') break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await scheduled.close();
      const { backups, latest } = scheduled.list();
      expect(backups.every((b) => b.state === 'done')).toBe(true);
      expect(backups.length).toBe(2);
      expect(latest).toBe(backups[0]!.id);
      expect((await readdir(join(dir, 'scheduled'))).sort()).toEqual(
        backups.map((b) => `${b.id}.tar.gz`).sort(),
      );
    } finally {
      await scheduled.close();
    }
  });
});
