import type { Message, ReadIndexResponse } from '@raftkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, text } from './support/cluster.ts';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

describe('read request ids across restarts', () => {
  // Issue 9, item 1: ids restarted at 1 in every process, and the core takes any ReadIndexResponse
  // of its term. An answer meant for the node's previous process (still queued at the leader,
  // whose sender resends after its back-off) matched the first read of the new process and
  // served it at the old index, missing writes acknowledged in between.
  it('a restarted follower never serves a read with an answer meant for its previous process', async () => {
    cluster = await TestCluster.started(['a', 'b', 'c']);
    const leader = cluster.leader()!;
    const follower = cluster.followers()[0]!;
    const id = follower.id;
    await cluster.until(() => follower.status().leader === leader.id, 'the follower knows the leader');
    const answers: { groupId: string; message: ReadIndexResponse }[] = [];
    // While set, the follower gets heartbeats but no entries: it knows the leader, not the writes.
    let holdEntries = false;
    const deliver = cluster.network.deliver.bind(cluster.network);
    cluster.network.deliver = (groupId: string, message: Message) => {
      if (message.type === 'ReadIndexResponse' && message.to === id) answers.push({ groupId, message });
      if (holdEntries && message.type === 'AppendEntries' && message.to === id) return;
      deliver(groupId, message);
    };
    await cluster.settle(follower.read('linearizable'));
    const old = answers.at(-1);
    expect(old).toBeDefined();

    await cluster.stop(id);
    for (const w of ['late1', 'late2', 'late3']) await cluster.settle(leader.propose(text(w)));
    holdEntries = true;
    const restarted = await cluster.start(id);
    await cluster.until(() => restarted.status().leader === leader.id, 'the restarted node knows the leader');
    const read = restarted.read('linearizable');
    // The old answer arrives first, before the restarted node has any of the later writes.
    cluster.network.handlerOf(old!.groupId, id)!.receive([old!.message]);
    holdEntries = false;
    await cluster.settle(read);
    expect(cluster.machine(id).items).toEqual(expect.arrayContaining(['late1', 'late2', 'late3']));
  });
});
