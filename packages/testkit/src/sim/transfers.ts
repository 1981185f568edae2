import type { NodeId, RaftErrorCode } from '@raftkit/core';
import { isRaftError } from '@raftkit/core';
import type { Fail, SafetyChecker } from './checker.ts';
import type { SimNode } from './node.ts';
import type { Random } from './random.ts';
import type { TraceEvent } from './trace.ts';

export interface TransferHost {
  readonly random: Random;
  readonly nodes: readonly SimNode[];
  readonly checker: SafetyChecker;
  readonly fail: Fail;
  /** The simulation's logical clock, in ticks. */
  clock(): number;
  record(event: TraceEvent): void;
}

/** How the leadership transfers of a run ended. */
export interface TransferStats {
  readonly started: number;
  /** The target led the next term. */
  readonly completed: number;
  /** The leader gave up after an election timeout and kept leading. */
  readonly abandoned: number;
  /** The leader lost leadership otherwise (crash, partition, another node won). */
  readonly lost: number;
  /** Refusals by code, e.g. `InvalidTransferTarget` for a non-voter. */
  readonly refused: Readonly<Record<string, number>>;
  /** Proposals refused with `TransferInProgress` while a transfer was under way. */
  readonly proposalsRefused: number;
}

interface Transfer {
  readonly from: SimNode;
  readonly incarnation: number;
  readonly to: NodeId;
  readonly term: number;
  readonly startedAt: number;
  /** When the old leader stopped leading its term with the transfer pending; null while it does. */
  endedAt: number | null;
}

const probe = new TextEncoder().encode('transfer-probe');

/**
 * Leadership transfers (thesis §3.10) at random moments, one at a time, each watched to its end:
 * while it is under way the leader must refuse proposals with `TransferInProgress`, and within an
 * election timeout of its start the leader must have handed over or abandoned it.
 */
export class Transfers {
  readonly #host: TransferHost;
  readonly #electionTicks: number;
  #current: Transfer | null = null;
  #started = 0;
  #completed = 0;
  #abandoned = 0;
  #lost = 0;
  #proposalsRefused = 0;
  readonly #refused = new Map<RaftErrorCode, number>();

  constructor(host: TransferHost, electionTicks: number) {
    this.#host = host;
    this.#electionTicks = electionTicks;
  }

  stats(): TransferStats {
    return {
      started: this.#started,
      completed: this.#completed,
      abandoned: this.#abandoned,
      lost: this.#lost,
      refused: Object.fromEntries(this.#refused),
      proposalsRefused: this.#proposalsRefused,
    };
  }

  /** Asks a random leader to hand over to a random other node (a non-voter now and then). */
  start(): void {
    if (this.#current !== null) return;
    const { random, nodes } = this.#host;
    const leaders = nodes.filter((n) => n.up && n.core.role === 'leader');
    if (leaders.length === 0) return;
    const from = random.pick(leaders);
    const others = nodes.filter((n) => n !== from);
    if (others.length === 0) return;
    const to = random.pick(others).id;
    try {
      from.core.transferLeadership(to);
    } catch (error) {
      if (!isRaftError(error)) throw error;
      this.#refused.set(error.code, (this.#refused.get(error.code) ?? 0) + 1);
      this.#host.record({ kind: 'note', detail: `transfer ${from.id} -> ${to} refused: ${error.code}` });
      return;
    }
    this.#started++;
    const term = from.core.term;
    const now = this.#host.clock();
    this.#current = { from, incarnation: from.incarnation, to, term, startedAt: now, endedAt: null };
    this.#host.record({ kind: 'note', detail: `transfer ${from.id} -> ${to} in term ${term}` });
  }

  /** Checks the transfer under way against its contract; called once a tick, after the nodes ticked. */
  watch(): void {
    const transfer = this.#current;
    if (transfer === null) return;
    const { from, to, term, startedAt } = transfer;
    const now = this.#host.clock();
    const leading =
      from.up &&
      from.incarnation === transfer.incarnation &&
      from.core.role === 'leader' &&
      from.core.term === term;
    if (transfer.endedAt === null) {
      if (leading && from.core.status().leadTransferee === to) {
        // The leader ticks with the simulation, so its own election-timeout count is the same.
        if (now - startedAt >= this.#electionTicks) {
          this.#host.fail(
            'TransferStuck',
            `${from.id} still hands leadership to ${to} ${now - startedAt} ticks after it began (term ${term})`,
          );
        }
        this.#expectRefusal(from);
        return;
      }
      if (leading) {
        this.#finish('abandoned');
        return;
      }
      transfer.endedAt = now;
    }
    // The old leader stopped leading: did the target win the next term (it campaigns at term + 1)?
    const next = this.#host.checker.leaderOf(term + 1);
    if (next === to) this.#finish('completed');
    else if (next !== undefined || now - transfer.endedAt >= this.#electionTicks) this.#finish('lost');
  }

  #expectRefusal(leader: SimNode): void {
    try {
      const index = leader.core.propose(probe);
      this.#host.fail(
        'TransferProposal',
        `${leader.id} accepted a proposal at ${index} while transferring leadership`,
      );
    } catch (error) {
      if (!isRaftError(error)) throw error;
      if (error.code !== 'TransferInProgress') {
        this.#host.fail(
          'TransferProposal',
          `${leader.id} refused a proposal during a transfer with ${error.code}`,
        );
      }
      this.#proposalsRefused++;
    }
  }

  #finish(outcome: 'completed' | 'abandoned' | 'lost'): void {
    const transfer = this.#current!;
    if (outcome === 'completed') this.#completed++;
    else if (outcome === 'abandoned') this.#abandoned++;
    else this.#lost++;
    this.#current = null;
    this.#host.record({ kind: 'note', detail: `transfer ${transfer.from.id} -> ${transfer.to}: ${outcome}` });
  }
}
