import type { NodeId, Term } from '@raftkit/core';
import type { ServerNode } from './server-node.ts';

export interface LeaderChange {
  /** Wall-clock milliseconds since the epoch, when this node learned of the change. */
  readonly at: number;
  /** The new leader, or null when this node lost track of one (an election is under way). */
  readonly leader: NodeId | null;
  readonly term: Term;
}

/** How many changes the dashboard can show: enough for a few flaps, bounded so memory is too. */
const KEEP = 20;

/**
 * The leaders this node has seen, as they happen: a counter for `/metrics` (a change to a known
 * leader counts, as etcd's leader_changes_seen does) and the last few changes for the dashboard.
 */
export class LeaderHistory {
  readonly #recent: LeaderChange[] = [];
  #changes = 0;

  constructor(node: Pick<ServerNode, 'on' | 'status'>) {
    const { leader, term } = node.status();
    if (leader !== null) this.#record({ at: Date.now(), leader, term });
    node.on('leader', (change) => this.#record({ at: Date.now(), ...change }));
  }

  /** Times this node saw a new leader. */
  get changes(): number {
    return this.#changes;
  }

  /** The latest changes, oldest first. */
  recent(): readonly LeaderChange[] {
    return [...this.#recent];
  }

  #record(change: LeaderChange): void {
    if (change.leader !== null) this.#changes++;
    this.#recent.push(change);
    if (this.#recent.length > KEEP) this.#recent.shift();
  }
}
