import { nodeId } from '@raftkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { isRaftNodeError } from '../src/errors.ts';
import { TestCluster, text } from './support/cluster.ts';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  expect(cluster?.clock.activeTimers ?? 0).toBe(0);
  cluster = null;
});

const d = nodeId('d');

describe('membership', () => {
  it('adds a joining node as a learner, promotes it, and removes it; every node tracks its URL', async () => {
    cluster = await TestCluster.started(['a', 'b', 'c']);
    await cluster.settle(cluster.leader()!.propose(text('before-d')));
    // It needs to know where the others are to answer the leader's first messages.
    const joiner = await cluster.start('d', { bootstrap: 'join', peers: cluster.members });
    expect(joiner.status().members).toEqual([]);

    await cluster.settle(cluster.leader()!.addMember(d, 'mem://d', 'learner'));
    await cluster.until(() => cluster!.machine('d').items.length === 1, 'the learner catches up');
    expect(cluster.transports.get(cluster.leader()!.id)?.peers.get(d)).toBe('mem://d');
    for (const node of cluster.nodes.values()) {
      await cluster.until(() => node.memberUrl(d) === 'mem://d', `${node.id} knows d's URL`);
    }
    // The joiner learned the founders' URLs from the bootstrap entry in the log.
    expect(joiner.memberUrl(nodeId('a'))).toBe('mem://a');
    expect(
      cluster
        .leader()!
        .status()
        .members.find((m) => m.id === d),
    ).toMatchObject({ role: 'learner', url: 'mem://d' });

    await cluster.settle(cluster.leader()!.promote(d));
    expect(
      cluster
        .leader()!
        .status()
        .members.find((m) => m.id === d)?.role,
    ).toBe('voter');
    await cluster.settle(cluster.leader()!.propose(text('with-d')));
    await cluster.until(() => cluster!.machine('d').items.length === 2, 'the new voter applies new writes');

    const leader = cluster.leader()!;
    const remover = leader.id === d ? cluster.followers()[0]! : leader;
    await cluster.settle(cluster.leader()!.removeMember(d));
    await cluster.until(
      () => !remover.status().members.some((m) => m.id === d),
      'd is gone from the membership',
    );
    expect(remover.memberUrl(d)).toBeUndefined();
    expect(cluster.transports.get(remover.id)?.peers.has(d)).toBe(false);
  });

  it('refuses invalid changes and changes on a follower with typed errors', async () => {
    cluster = await TestCluster.started(['a', 'b', 'c']);
    const leader = cluster.leader()!;
    await expect(leader.removeMember(nodeId('zz'))).rejects.toMatchObject({ code: 'InvalidConfigChange' });
    const follower = cluster.followers()[0]!;
    await cluster.until(() => follower.status().leader === leader.id, 'the follower knows the leader');
    const error = await follower.addMember(d, 'mem://d', 'voter').catch((e: unknown) => e);
    expect(isRaftNodeError(error, 'NotLeader')).toBe(true);
    expect(error).toMatchObject({ leader: leader.id, leaderUrl: TestCluster.url(leader.id) });
  });

  it('hands leadership to another voter', async () => {
    cluster = await TestCluster.started(['a', 'b', 'c']);
    const leader = cluster.leader()!;
    const target = cluster.followers()[0]!;
    const roles: string[] = [];
    leader.on('role', ({ role }) => roles.push(role));
    await cluster.settle(leader.transferLeadership(target.id));
    await cluster.until(() => cluster!.leader() === target, 'the target leads');
    expect(roles).toContain('follower');
    await cluster.settle(target.propose(text('under-new-leader')));
    await expect(target.transferLeadership(target.id)).rejects.toMatchObject({
      code: 'InvalidTransferTarget',
    });
  });
});

describe('a proposal overwritten by another leader', () => {
  it('rejects with Dropped, never with another entry’s result', async () => {
    cluster = await TestCluster.started(['a', 'b', 'c']);
    const old = cluster.leader()!;
    const others = cluster.followers().map((n) => n.id);
    cluster.network.isolate(old.id, others);
    const lost = old.propose(text('lost'));
    let outcome: unknown = null;
    lost.then(
      (r) => (outcome = r),
      (e: unknown) => (outcome = e),
    );
    await cluster.until(
      () => cluster!.leader() !== null && cluster!.leader() !== old,
      'the majority elects a new leader',
    );
    const winner = cluster.leader()!;
    await cluster.settle(winner.propose(text('won')));
    cluster.network.healAll();
    await cluster.until(() => outcome !== null, 'the old proposal settles');
    expect(isRaftNodeError(outcome, 'Dropped')).toBe(true);
    await cluster.until(() => cluster!.machine(old.id).items.includes('won'), 'the old leader catches up');
    expect(cluster.machine(old.id).items).not.toContain('lost');
  });
});
