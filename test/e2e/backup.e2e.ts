import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  agreedLeader,
  eventually,
  freePort,
  get,
  processScope,
  put,
  ROOT,
  ServerProcess as Server,
  type ServerProcess,
  startCluster,
  status,
} from '../support/harness.ts';

/** Runs the built `raftkit` command as its own process. */
function raftkit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'packages/cli/bin/raftkit.js'), ...args],
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    );
  });
}

/** `count` keys written `parallel` at a time; each key's acknowledged index is recorded. */
async function writeKeys(
  node: ServerProcess,
  prefix: string,
  count: number,
  parallel: number,
  acked: Map<string, number>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < count; i = next++) {
        const key = `${prefix}${i}`;
        acked.set(key, await put(node, key, `value-of-${key}`));
      }
    }),
  );
}

/** Every key in `keys` reads back its value from `node`. */
async function readBack(node: ServerProcess, keys: readonly string[], parallel: number): Promise<string[]> {
  const wrong: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < keys.length; i = next++) {
        const key = keys[i]!;
        if ((await get(node, key, 'stale')) !== `value-of-${key}`) wrong.push(key);
      }
    }),
  );
  return wrong;
}

const KEYS = 100_000;

/**
 * The bar: 100,000 keys on three nodes, a backup taken while writes continue, verified,
 * restored on the other backend and served; then two of three nodes lost for good and the
 * cluster brought back from the third with `recover --force-new-cluster`.
 */
describe('backup, restore and recovery of a real cluster', () => {
  const scope = processScope();
  afterAll(async () => {
    await scope.cleanup();
    // The nodes' backup directories sit beside their data directories (the spool of GET /v1/backup).
    await Promise.all(
      scope.nodes.map((node) => rm(`${node.spec.dataDir}-backups`, { recursive: true, force: true })),
    );
  });

  it('restores every key acknowledged before the backup, and recovers a survivor losing nothing it applied', async () => {
    const nodes = await startCluster(scope, {
      name: 'backup',
      runtimes: ['node', 'node', 'node'],
      args: ['--snapshot-every', '5000'],
    });
    const leader = await agreedLeader(nodes);
    const acked = new Map<string, number>();
    await writeKeys(leader, 'k', KEYS, 64, acked);

    // The backup is taken while another stream of writes goes on.
    const dir = await scope.tempDir('backup-files');
    const file = join(dir, 'cluster.tar.gz');
    let writing = true;
    const during = (async () => {
      for (let i = 0; writing; i++)
        acked.set(`during${i}`, await put(leader, `during${i}`, `value-of-during${i}`));
    })();
    const created = await raftkit(['backup', 'create', '--url', leader.url, '-o', file]);
    writing = false;
    await during;
    expect(created.code, created.stderr).toBe(0);

    const verified = await raftkit(['backup', 'verify', file]);
    expect(verified.code, verified.stderr).toBe(0);
    const inspected = await raftkit(['backup', 'inspect', '--json', file]);
    const manifest = JSON.parse(inspected.stdout) as {
      snapshot: { index: number };
      stateMachine: { keys: number };
    };
    const covered = [...acked].filter(([, index]) => index <= manifest.snapshot.index).map(([key]) => key);
    expect(covered.length).toBeGreaterThan(KEYS - 5000);
    expect(manifest.stateMachine.keys).toBeGreaterThanOrEqual(covered.length);

    // Restore on the other backend (the cluster runs on fs) and serve it as a new cluster.
    const port = await freePort();
    const restoredDir = join(await scope.tempDir('backup-restored'), 'data');
    const restored = await raftkit([
      'restore',
      file,
      '--data-dir',
      restoredDir,
      '--storage',
      'sqlite',
      '--id',
      'r1',
      '--url',
      `http://127.0.0.1:${port}`,
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    const server = new Server({
      id: 'r1',
      runtime: 'node',
      port,
      dataDir: restoredDir,
      args: ['--storage', 'sqlite'],
    });
    scope.nodes.push(server);
    await server.start();
    await eventually('the restored node to lead', async () =>
      (await status(server)).leader === 'r1' ? true : undefined,
    );
    expect(await readBack(server, covered, 64)).toEqual([]);
    await put(server, 'after-restore', 'value-of-after-restore');

    // Two of three lost for good; the third, stopped, recovers as a single-member cluster.
    const survivor = nodes.find((node) => node !== leader)!;
    const applied = (await status(survivor)).appliedIndex;
    for (const node of nodes) if (node !== survivor) await node.kill('SIGKILL');
    await survivor.kill('SIGTERM');
    const recovered = await raftkit([
      'recover',
      '--data-dir',
      survivor.spec.dataDir,
      '--force-new-cluster',
      '--id',
      survivor.spec.id,
      '--cluster-id',
      'raftkit',
    ]);
    expect(recovered.code, recovered.stderr + recovered.stdout).toBe(0);
    await survivor.start();
    await eventually('the survivor to lead alone', async () =>
      (await status(survivor)).leader === survivor.spec.id ? true : undefined,
    );
    const kept = [...acked].filter(([, index]) => index <= applied).map(([key]) => key);
    expect(kept.length).toBeGreaterThanOrEqual(covered.length);
    expect(await readBack(survivor, kept, 64)).toEqual([]);
    expect((await status(survivor)).members.map((m) => m.id)).toEqual([survivor.spec.id]);
    await put(survivor, 'after-recover', 'value-of-after-recover');
  }, 1_800_000);
});
