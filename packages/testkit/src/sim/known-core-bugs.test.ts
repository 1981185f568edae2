import type { Message, NodeId } from '@raftkit/core';
import { bootstrapState, nodeId, RawNode } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import { knownCoreBugs } from './known-core-bugs.ts';
import { planFor, runSeed } from './sweep.ts';

/**
 * Core bugs the simulator found, each reproduced here and marked `it.fails` until the core is
 * fixed: then the test passes, `it.fails` reports it, and the marker (and the seeds the sweep
 * leaves out for it, in known-core-bugs.ts) go.
 */

/** Two in-memory cores on a network that delivers every message at once unless `cut` says no. */
class TwoNodes {
  readonly nodes: RawNode[];
  cut: (m: Message) => boolean = () => false;

  constructor(ids: readonly NodeId[]) {
    const initial = bootstrapState({ voters: ids, votersOutgoing: [], learners: [] });
    this.nodes = ids.map(
      (id, k) => new RawNode({ id, seed: k + 1, electionTicks: 10, heartbeatTicks: 1 }, initial),
    );
  }

  /** Handles every Ready (persisting is instant here) and delivers the messages, until quiet. */
  pump(): void {
    for (let busy = true; busy; ) {
      busy = false;
      for (const node of this.nodes) {
        while (node.hasReady()) {
          busy = true;
          const ready = node.ready();
          node.advance();
          for (const m of [...ready.messages, ...ready.messagesAfterPersist]) {
            if (!this.cut(m)) this.nodes.find((n) => n.id === m.to)!.step(m);
          }
        }
      }
    }
  }

  tick(times: number): void {
    for (let k = 0; k < times; k++) {
      for (const node of this.nodes) node.tick();
      this.pump();
    }
  }

  leader(): RawNode | undefined {
    return this.nodes.find((n) => n.role === 'leader');
  }
}

describe('known core bugs', () => {
  // Thesis §4.2.2: "a server that is not part of its own latest configuration should still start
  // new elections, as it might still be needed until the C_new entry is committed". The core's
  // promotable() requires the node to be a voter of its latest configuration, committed or not.
  // A leader of {n1, n2} that appends "remove n1" and then loses its follower steps down
  // (CheckQuorum) holding that uncommitted entry: it never campaigns again, and n2, still under
  // {n1, n2}, needs n1's vote, which n1 refuses because n2's log lacks the entry (§5.4.1). No
  // leader, ever. Found by the membership mix (seed 23, 1 founder; see known-core-bugs.ts).
  it.fails('a leader that removed itself and stepped down before the removal committed still lets the cluster elect', () => {
    const net = new TwoNodes([nodeId('n1'), nodeId('n2')]);
    const [n1, n2] = net.nodes as [RawNode, RawNode];
    n1.campaign();
    net.pump();
    expect(n1.role).toBe('leader');
    net.tick(3);
    net.cut = (m) => m.from === n1.id;
    n1.proposeConfigChange({ changes: [{ kind: 'remove', id: n1.id }] });
    net.tick(30);
    expect(n1.role).toBe('follower');
    expect(n1.status().lastIndex).toBeGreaterThan(n2.status().lastIndex);
    net.cut = () => false;
    net.tick(200);
    expect(net.leader()?.id).toBeDefined();
  });

  for (const bug of knownCoreBugs) {
    it.fails(`${bug.mix} seeds ${bug.seeds.join(', ')} stay safe and live (${bug.summary})`, async () => {
      const failures: string[] = [];
      for (const seed of bug.seeds) {
        const result = await runSeed(planFor(seed, { mix: bug.mix, ticks: bug.ticks }));
        if (!result.ok) failures.push(`${seed}: ${result.failure.kind}`);
      }
      expect(failures).toEqual([]);
    });
  }
});
