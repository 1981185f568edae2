import type { ConfigChange, MemberChange, Membership, NodeId, RaftErrorCode } from '@raftkit/core';
import { isRaftError } from '@raftkit/core';
import type { SimNode } from './node.ts';
import type { Random } from './random.ts';
import type { TraceEvent } from './trace.ts';

export interface OperatorHost {
  readonly random: Random;
  readonly nodes: readonly SimNode[];
  record(event: TraceEvent): void;
}

/** What the operator asked for and how the leaders answered. */
export interface ReconfigurationStats {
  /** Changes a leader accepted into its log (committed or not). */
  readonly accepted: number;
  /** Refusals by code: `ConfigChangeInProgress`, `InvalidConfigChange`, `TransferInProgress`, ... */
  readonly refused: Readonly<Record<string, number>>;
  /** Ticks on which the operator wanted to act but no node led. */
  readonly noLeader: number;
}

type Plan = (membership: Membership, leader: NodeId) => MemberChange[];

/**
 * A simulated operator changing the membership at random moments through whatever node leads
 * (a stale leader cut off by a partition included): learners added and later promoted, voters
 * added and removed directly, several voters replaced at once (joint consensus), and the leader
 * removing itself. It never shrinks the voters below `minVoters`, so that liveness after healing
 * still means something. Refusals are expected outcomes, counted by code.
 */
export class Operator {
  readonly #host: OperatorHost;
  readonly #minVoters: number;
  #accepted = 0;
  #noLeader = 0;
  readonly #refused = new Map<RaftErrorCode, number>();

  constructor(host: OperatorHost, minVoters: number) {
    this.#host = host;
    this.#minVoters = minVoters;
  }

  stats(): ReconfigurationStats {
    return { accepted: this.#accepted, refused: Object.fromEntries(this.#refused), noLeader: this.#noLeader };
  }

  /** Proposes one random membership change to a random node that believes it leads. */
  reconfigure(): void {
    const { random, nodes } = this.#host;
    const leaders = nodes.filter((n) => n.up && n.core.role === 'leader');
    if (leaders.length === 0) {
      this.#noLeader++;
      return;
    }
    const leader = random.pick(leaders);
    const membership = leader.core.status().membership;
    const plans = this.#plans(membership, leader.id);
    if (plans.length === 0) return;
    const change: ConfigChange = { changes: random.pick(plans)(membership, leader.id) };
    const described = change.changes.map((c) => `${c.kind} ${c.id}`).join(', ');
    try {
      const index = leader.core.proposeConfigChange(change);
      this.#accepted++;
      this.#host.record({ kind: 'note', detail: `operator: ${described} via ${leader.id} @${index}` });
    } catch (error) {
      if (!isRaftError(error)) throw error;
      this.#refused.set(error.code, (this.#refused.get(error.code) ?? 0) + 1);
      this.#host.record({
        kind: 'note',
        detail: `operator: ${described} via ${leader.id} refused: ${error.code}`,
      });
    }
  }

  /** The changes that make sense for `membership`; each draws its nodes only when chosen. */
  #plans(membership: Membership, leader: NodeId): Plan[] {
    const { random, nodes } = this.#host;
    const { voters, votersOutgoing, learners } = membership;
    const members = new Set([...voters, ...votersOutgoing, ...learners]);
    // Nodes never added, and removed ones: a removed node may come back with its old disk.
    const outside = nodes.map((n) => n.id).filter((id) => !members.has(id));
    const otherVoters = voters.filter((id) => id !== leader);
    const canShrink = voters.length - 1 >= this.#minVoters;
    const plans: Plan[] = [];
    if (outside.length > 0) {
      plans.push(() => [{ kind: 'addLearner', id: random.pick(outside) }]);
      plans.push(() => [{ kind: 'addVoter', id: random.pick(outside) }]);
    }
    if (learners.length > 0) {
      // Refused (InvalidConfigChange) until the learner has caught up: retried at a later moment.
      plans.push(() => [{ kind: 'addVoter', id: random.pick(learners) }]);
      plans.push(() => [{ kind: 'remove', id: random.pick(learners) }]);
    }
    if (canShrink && otherVoters.length > 0)
      plans.push(() => [{ kind: 'remove', id: random.pick(otherVoters) }]);
    if (canShrink && voters.includes(leader)) plans.push(() => [{ kind: 'remove', id: leader }]);
    const incoming = [...outside, ...learners];
    if (otherVoters.length > 0 && incoming.length > 0) {
      // One voter out, another in: two voters change, so joint consensus.
      plans.push(() => [
        { kind: 'remove', id: random.pick(otherVoters) },
        { kind: 'addVoter', id: random.pick(incoming) },
      ]);
    }
    if (outside.length >= 2) {
      plans.push(() => {
        const first = random.pick(outside);
        const second = random.pick(outside.filter((id) => id !== first));
        return [
          { kind: 'addVoter', id: first },
          { kind: 'addVoter', id: second },
        ];
      });
    }
    return plans;
  }
}
