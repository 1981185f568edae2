import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { type CounterNode, startCounterNode } from './service.ts';

/** A loopback port free right now, so this test can run beside others. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (let value = probe(); ; value = probe()) {
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function call(url: string, method: 'GET' | 'POST'): Promise<number> {
  const response = await fetch(`${url}/counter${method === 'POST' ? '?by=1' : ''}`, { method });
  const body = (await response.json()) as { value?: number; error?: string };
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${body.error}`);
  return body.value!;
}

/** Waits until every given node names the same leader, one of them, and returns it. */
function settledLeader(nodes: readonly CounterNode[]): Promise<CounterNode> {
  return until('an agreed leader', () => {
    const leader = nodes.find((n) => n.raft.status().role === 'leader');
    return leader && nodes.every((n) => n.raft.status().leader === leader.raft.id) ? leader : undefined;
  });
}

const root = await mkdtemp(join(tmpdir(), 'raftkit-counter-'));
const ids = ['n1', 'n2', 'n3'];
const ports = await Promise.all(ids.map(() => freePort()));
const members = Object.fromEntries(ids.map((id, i) => [id, `http://127.0.0.1:${ports[i]}`]));
let nodes: CounterNode[] = [];

afterAll(async () => {
  for (const node of nodes) await node.stop();
  await rm(root, { recursive: true, force: true });
});

it('counts every increment exactly once, through every node, across the loss of the leader', async () => {
  const secret = 'counter-example-cluster-secret';
  nodes = await Promise.all(ids.map((id) => startCounterNode({ id, members, dir: join(root, id), secret })));
  await settledLeader(nodes);

  // Round robin: two of every three increments reach a follower, which forwards them.
  const answers: number[] = [];
  for (let i = 0; i < 6; i++) answers.push(await call(members[ids[i % 3]!]!, 'POST'));
  expect(answers).toEqual([1, 2, 3, 4, 5, 6]);

  // Kill the leader. The two survivors are a majority of three: they elect a new leader.
  const old = await settledLeader(nodes);
  await old.stop();
  const survivors = nodes.filter((n) => n !== old);
  nodes = survivors;
  const leader = await settledLeader(survivors);
  expect(leader).not.toBe(old);

  for (let i = 0; i < 4; i++) answers.push(await call(members[survivors[i % 2]!.raft.id]!, 'POST'));
  expect(answers.slice(6)).toEqual([7, 8, 9, 10]);
  // A linearizable read on either survivor sees all ten acknowledged increments.
  for (const n of survivors) expect(await call(members[n.raft.id]!, 'GET')).toBe(10);
});
