import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBackup } from '@raftkit/backup';
import { type Index, nodeId, type Term } from '@raftkit/core';
import { openFsStorage } from '@raftkit/storage-fs';
import { openSqliteStorage } from '@raftkit/storage-sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../src/cli.ts';
import { encodeCommand } from '../src/kv/command.ts';
import { KvStateMachine } from '../src/kv/kv-state-machine.ts';

let dir: string;
let out: string[];
let err: string[];
const io: CliIo = {
  env: {},
  out: (line) => out.push(line),
  err: (line) => err.push(line),
  shutdownSignal: () => new Promise(() => {}),
};
const noListen = () => Promise.reject(new Error('no server in this test'));
const cli = (...argv: string[]) => runCli(argv, noListen, io);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftkit-backup-cli-'));
  out = [];
  err = [];
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A backup file of a KV state holding `keys` keys. */
async function kvBackup(keys: number): Promise<string> {
  const kv = new KvStateMachine();
  for (let i = 0; i < keys; i++) {
    kv.apply({
      index: (i + 1) as Index,
      term: 1 as Term,
      type: 'normal',
      data: encodeCommand({ op: 'put', key: `k${i}`, value: new TextEncoder().encode(`v${i}`) }),
    });
  }
  const stream = writeBackup(
    {
      clusterId: 'c1',
      nodeId: 'n1',
      meta: {
        index: keys as Index,
        term: 1 as Term,
        membership: { voters: [nodeId('n1')], votersOutgoing: [], learners: [] },
      },
      urls: { n1: 'http://127.0.0.1:7001' },
      state: kv.snapshot(),
    },
    { stateMachine: kv },
  );
  const file = join(dir, 'b.tar.gz');
  await writeFile(file, new Uint8Array(await new Response(stream).arrayBuffer()));
  return file;
}

describe('raftkit backup create', () => {
  it('gives up on a download that stops, and leaves no file behind', async () => {
    const backup = await kvBackup(50);
    const bytes = await readFile(backup);
    // Sends the first half of a real backup, then nothing, keeping the connection open.
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/gzip' });
      response.write(bytes.subarray(0, bytes.length >> 1));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const file = join(dir, 'stalled.tar.gz');
      const started = performance.now();
      expect(await cli('backup', 'create', '--url', url, '-o', file, '--timeout', '300')).toBe(1);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(err.at(-1)).toContain(`${url}/v1/backup sent nothing for 300 ms`);
      expect((await readdir(dir)).filter((name) => name.startsWith('stalled'))).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('raftkit backup verify / inspect', () => {
  it('verifies, inspects in both forms, with plain progress lines off a terminal', async () => {
    const file = await kvBackup(500);
    expect(await cli('backup', 'verify', file)).toBe(0);
    expect(out.at(-1)).toContain('OK, c1 at index 500');
    expect(err.at(-1)).toMatch(/^verifying: .* MiB \(100%\) at .* MiB\/s$/);
    expect(await cli('backup', 'inspect', file)).toBe(0);
    expect(out.at(-1)).toContain('keys: 500');
    expect(await cli('backup', 'inspect', '--json', file)).toBe(0);
    expect(JSON.parse(out.at(-1)!).stateMachine.keys).toBe(500);
  });

  it('exits 3 with the code for a bad file', async () => {
    const file = join(dir, 'bad.tar.gz');
    await writeFile(file, 'not a backup');
    expect(await cli('backup', 'verify', file)).toBe(1);
    expect(err.at(-1)).toContain('Gzip');
  });
});

describe.each([
  ['fs', openFsStorage],
  ['sqlite', openSqliteStorage],
] as const)('raftkit restore --storage %s', (storage, open) => {
  it('restores a data directory that holds every key', async () => {
    const file = await kvBackup(300);
    const dataDir = join(dir, 'restored');
    expect(
      await cli(
        'restore',
        file,
        '--data-dir',
        dataDir,
        '--storage',
        storage,
        '--id',
        'r1',
        '--url',
        'http://127.0.0.1:7101',
      ),
    ).toBe(0);
    expect(out.at(-1)).toContain('restored c1 at index 300');
    const store = await open({ dir: dataDir, identity: { clusterId: 'c1', nodeId: nodeId('r1') } });
    const loaded = await store.loadSnapshot();
    await store.close();
    expect(loaded?.meta.index).toBe(300);
    expect(await cli('restore', file, '--data-dir', dataDir, '--storage', storage)).toBe(1);
    expect(err.at(-1)).toContain('TargetNotEmpty');
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['b.tar.gz', 'restored']));
  });
});

describe('raftkit recover', () => {
  it('refuses without --force-new-cluster', async () => {
    expect(await cli('recover', '--data-dir', dir, '--id', 'n1', '--cluster-id', 'c1')).toBe(2);
    expect(err.at(-1)).toContain('--force-new-cluster');
  });

  it('turns a restored three-member node into a single-member cluster', async () => {
    const file = await kvBackup(10);
    const dataDir = join(dir, 'n2');
    const members = 'n1=http://127.0.0.1:7001,n2=http://127.0.0.1:7002,n3=http://127.0.0.1:7003';
    expect(await cli('restore', file, '--data-dir', dataDir, '--id', 'n2', '--members', members)).toBe(0);
    expect(
      await cli('recover', '--data-dir', dataDir, '--id', 'n2', '--cluster-id', 'c1', '--force-new-cluster'),
    ).toBe(0);
    expect(out.at(-1)).toContain('single-member cluster (n2 at http://127.0.0.1:7002) at index 10');
    const store = await openFsStorage({ dir: dataDir, identity: { clusterId: 'c1', nodeId: nodeId('n2') } });
    expect(store.snapshotMeta()?.membership.voters).toEqual(['n2']);
    await store.close();
  });
});
