import { afterAll, describe, expect, it } from 'vitest';
import {
  agreedLeader,
  eventually,
  freePort,
  get,
  json,
  put,
  ServerProcess,
  type Status,
  status,
  tempDir,
} from '../support/harness.ts';

/** Membership over the API: grow 1 → 3 with --join, add a learner, promote it, remove a voter, transfer leadership. */
describe('membership', () => {
  const nodes: ServerProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
    await Promise.all(cleanups.map((cleanup) => cleanup()));
  });

  const launch = async (id: string, runtime: 'node' | 'bun', args: string[]) => {
    const dir = await tempDir(id);
    cleanups.push(dir.remove);
    const node = new ServerProcess({ id, runtime, port: await freePort(), dataDir: dir.path, args });
    nodes.push(node);
    await node.start();
    return node;
  };
  const roles = async (node: ServerProcess) =>
    Object.fromEntries((await status(node)).members.map((member) => [member.id, member.role]));

  it('grows from one node to three with --join, then adds, promotes and removes members and moves leadership', async () => {
    const n1 = await launch('n1', 'node', []);
    await agreedLeader([n1]);
    await put(n1, 'seed', 'one-node');

    const n2 = await launch('n2', 'bun', ['--join', n1.url]);
    const n3 = await launch('n3', 'node', ['--join', n1.url]);
    await eventually('n2 and n3 promoted to voters', async () => {
      const r = await roles(n1);
      return r.n2 === 'voter' && r.n3 === 'voter' ? true : undefined;
    });
    await agreedLeader([n1, n2, n3]);
    expect(await get(n3, 'seed')).toBe('one-node');

    const n4 = await launch('n4', 'node', ['--join', n1.url, '--join-role', 'learner']);
    // Every view converges; n1 may be a follower a heartbeat behind the leader.
    const rolesBecome = (expected: Record<string, string>) =>
      eventually(`roles ${JSON.stringify(expected)}`, async () => {
        const r = await roles(n1);
        return JSON.stringify(r) === JSON.stringify(expected) ? r : undefined;
      });
    await rolesBecome({ n1: 'voter', n2: 'voter', n3: 'voter', n4: 'learner' });
    await put(n2, 'while-learning', 'x');
    expect(await get(n4, 'while-learning')).toBe('x');

    let leader = await agreedLeader([n1, n2, n3]);
    // The leader refuses to promote a learner it does not yet see caught up: retry until it does.
    await eventually('the leader to promote n4', async () => {
      const response = await fetch(`${leader.url}/v1/members/n4/promote`, { method: 'POST' });
      const body = (await response.json()) as { error?: { code: string } };
      if (body.error?.code === 'LearnerCatchingUp') return undefined;
      if (!response.ok) throw new Error(`promote: ${response.status} ${JSON.stringify(body)}`);
      return true;
    });
    await rolesBecome({ n1: 'voter', n2: 'voter', n3: 'voter', n4: 'voter' });

    const removed = leader === n2 ? n3 : n2;
    leader = await agreedLeader([n1, n2, n3, n4]);
    const after = await json<{ members: Status['members'] }>(`${leader.url}/v1/members/${removed.spec.id}`, {
      method: 'DELETE',
    });
    expect(after.members.map((member) => member.id).sort()).not.toContain(removed.spec.id);
    await removed.kill('SIGTERM');
    const remaining = [n1, n2, n3, n4].filter((node) => node !== removed);
    await eventually('every remaining node to drop the removed member', async () => {
      const views = await Promise.all(remaining.map(roles));
      return views.every((view) => !(removed.spec.id in view) && Object.keys(view).length === 3)
        ? true
        : undefined;
    });

    leader = await agreedLeader(remaining);
    const target = remaining.find((node) => node !== leader)!;
    const moved = await json<{ leader: string }>(`${leader.url}/v1/leader/transfer`, {
      method: 'POST',
      body: JSON.stringify({ to: target.spec.id }),
    });
    expect(moved.leader).toBe(target.spec.id);
    expect(await agreedLeader(remaining)).toBe(target);
    await put(leader, 'after-transfer', 'y');
    for (const node of remaining) expect(await get(node, 'after-transfer')).toBe('y');

    // Admin calls sent to a follower reach the leader, as writes do (they used to answer 503
    // NoLeader naming the leader, and retrying there never succeeded).
    const current = await agreedLeader(remaining);
    const follower = remaining.find((node) => node !== current)!;
    const back = await json<{ leader: string }>(`${follower.url}/v1/leader/transfer`, {
      method: 'POST',
      body: JSON.stringify({ to: follower.spec.id }),
    });
    expect(back.leader).toBe(follower.spec.id);
    expect(await agreedLeader(remaining)).toBe(follower);
  });
});
