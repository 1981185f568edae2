import { afterAll, describe, expect, it } from 'vitest';
import {
  agreedLeader,
  eventually,
  get,
  processScope,
  put,
  type ServerProcess,
  startCluster,
  status,
} from '../support/harness.ts';

/**
 * One node per runtime in one cluster: elects a leader, takes writes through every node, serves
 * linearizable reads through every node, loses no acknowledged write when the leader is killed
 * with SIGKILL, and takes the killed node back from its data directory.
 */
describe.each(['fs', 'sqlite'] as const)('a Node + Bun + Deno cluster on %s storage', (storage) => {
  const scope = processScope();
  afterAll(() => scope.cleanup());

  it('replicates through every node and survives kill -9 of the leader', async () => {
    const nodes = await startCluster(scope, {
      name: storage,
      runtimes: ['node', 'bun', 'deno'],
      args: ['--storage', storage],
    });
    const leader = await agreedLeader(nodes);

    const acknowledged = new Map<string, string>();
    const writeThroughEach = async (through: readonly ServerProcess[], round: string) => {
      for (const node of through) {
        for (let j = 0; j < 5; j++) {
          const key = `${round}-${node.spec.id}-${j}`;
          const value = `${node.spec.runtime}:${j}`;
          expect(await put(node, key, value)).toBeGreaterThan(0);
          acknowledged.set(key, value);
        }
      }
    };
    const readAllThrough = async (through: readonly ServerProcess[]) => {
      for (const node of through) {
        for (const [key, value] of acknowledged)
          expect(await get(node, key), `${key} on ${node.spec.id}`).toBe(value);
      }
    };

    await writeThroughEach(nodes, 'before');
    await readAllThrough(nodes);

    await leader.kill('SIGKILL');
    const survivors = nodes.filter((node) => node !== leader);
    const successor = await agreedLeader(survivors);
    expect(successor).not.toBe(leader);
    await writeThroughEach(survivors, 'after');
    await readAllThrough(survivors);

    await leader.start();
    const { commitIndex } = await status(successor);
    await eventually(`${leader.spec.id} to catch up from its data directory`, async () =>
      (await status(leader)).appliedIndex >= commitIndex ? true : undefined,
    );
    await readAllThrough([leader]);
    for (const [key, value] of acknowledged) expect(await get(leader, key, 'stale')).toBe(value);
  });
});

/**
 * SIGTERM stops a node cleanly on every runtime while its peers hold their message streams to it
 * open. Deno's server waits for the requests in flight before it closes, and those streams end
 * only when the transport closes: a node there once ignored SIGTERM for good.
 */
describe('SIGTERM on a Node + Bun + Deno cluster', () => {
  const scope = processScope();
  afterAll(() => scope.cleanup());

  it('stops every node with exit code 0, the leader last', async () => {
    const nodes = await startCluster(scope, { name: 'sigterm', runtimes: ['node', 'bun', 'deno'] });
    const leader = await agreedLeader(nodes);
    expect(await put(leader, 'before-stop', 'v')).toBeGreaterThan(0);
    for (const node of [...nodes.filter((n) => n !== leader), leader]) {
      const stopped = node.kill('SIGTERM').then(() => node.exited);
      const hung = new Promise((resolve) => setTimeout(resolve, 20_000, 'still running 20 s after SIGTERM'));
      expect(await Promise.race([stopped, hung]), `${node.spec.id} (${node.spec.runtime})`).toEqual({
        code: 0,
        signal: null,
      });
    }
  });
});
