import type { Entry, NodeId, ReadState } from '@raftkit/core';
import { isRaftError } from '@raftkit/core';
import type { SafetyChecker } from './checker.ts';
import { bytesEqual } from './digest.ts';
import type { SimNode } from './node.ts';
import type { Random } from './random.ts';
import { encodeWrite, KvStateMachine } from './state-machine.ts';
import type { TraceEvent } from './trace.ts';

/**
 * How an operation ended. `unknown`: the client stopped waiting (its node crashed or it timed
 * out) and the write may or may not take effect; a linearizability checker must allow both.
 */
export type Outcome = 'pending' | 'ok' | 'failed' | 'unknown';

/** One client operation with its invoke and response times on the logical clock. */
export interface Operation {
  readonly id: number;
  readonly client: number;
  readonly kind: 'write' | 'read';
  readonly key: string;
  /** The value a write stores: unique per operation, so a read names the write it saw. */
  readonly value: string | null;
  readonly node: NodeId;
  /** Logical time (ticks) of the invocation and the response, for people reading a trace. */
  readonly invokedAt: number;
  /** The log index a write was proposed at, or the read index a read got. */
  index: number | null;
  completedAt: number | null;
  /**
   * Positions on one counter that every invocation and response advances: unlike ticks, they
   * order two client events in the same tick as they happened, as real time would.
   */
  readonly invokedSeq: number;
  completedSeq: number | null;
  outcome: Outcome;
  /** What a read returned (`undefined`: the key was never written). */
  result: string | undefined;
}

export interface ClientHost {
  readonly random: Random;
  readonly checker: SafetyChecker;
  /** The simulation's logical clock, in ticks. */
  clock(): number;
  readonly nodes: readonly SimNode[];
  record(event: TraceEvent): void;
}

const keys = ['a', 'b', 'c'];

/**
 * Sequential clients, each with at most one operation outstanding, writing and reading a few
 * keys through whichever node they believe leads. Their operations form the history that a
 * linearizability checker can be given (issue 4).
 */
export class Clients {
  readonly history: Operation[] = [];
  readonly #host: ClientHost;
  readonly #timeout: number;
  readonly #current: (Operation | null)[];
  readonly #leaderGuess: (NodeId | null)[];
  /** Writes waiting for their index to be applied on the node they were proposed to. */
  readonly #writes = new Map<string, { op: Operation; data: Uint8Array }>();
  /** Reads waiting for their read index (by request id), then for it to be applied. */
  readonly #reads = new Map<number, Operation>();
  /** The highest index committed anywhere when each read began: its read index may not be lower. */
  readonly #floors = new Map<number, number>();
  #seq = 0;

  constructor(host: ClientHost, count: number, timeout: number) {
    this.#host = host;
    this.#timeout = timeout;
    this.#current = Array.from({ length: count }, () => null);
    this.#leaderGuess = Array.from({ length: count }, () => null);
  }

  /** One tick of client activity: time out stale operations, maybe start new ones. */
  act(writeRate: number, readRate: number): void {
    const { random } = this.#host;
    const now = this.#host.clock();
    for (const op of this.#current) {
      if (op !== null && now - op.invokedAt >= this.#timeout)
        this.#finish(op, op.kind === 'write' ? 'unknown' : 'failed');
    }
    if (random.chance(writeRate)) this.#start('write');
    if (random.chance(readRate)) this.#start('read');
  }

  #start(kind: Operation['kind']): void {
    const { random, nodes } = this.#host;
    const now = this.#host.clock();
    const client = this.#current.indexOf(null);
    if (client < 0) return;
    const guess = this.#leaderGuess[client];
    const node = nodes.find((n) => n.id === guess && n.up) ?? random.pick(nodes);
    if (!node.up) return;
    const id = this.history.length + 1;
    const op: Operation = {
      id,
      client,
      kind,
      key: random.pick(keys),
      value: kind === 'write' ? `v${id}` : null,
      node: node.id,
      invokedAt: now,
      index: null,
      completedAt: null,
      invokedSeq: ++this.#seq,
      completedSeq: null,
      outcome: 'pending',
      result: undefined,
    };
    this.history.push(op);
    this.#current[client] = op;
    try {
      if (kind === 'write') {
        const data = encodeWrite({ key: op.key, value: op.value! });
        op.index = node.core.propose(data);
        this.#writes.set(`${node.id}:${op.index}`, { op, data });
      } else {
        this.#reads.set(id, op);
        this.#floors.set(id, this.#host.checker.highestCommitted);
        node.core.readIndex(id);
      }
      this.#host.record({
        kind: 'client',
        detail: `${kind} #${id} ${op.key} on ${node.id}${op.index ? ` @${op.index}` : ''}`,
      });
    } catch (error) {
      if (!isRaftError(error)) throw error;
      this.#leaderGuess[client] = error.leaderHint;
      this.#finish(op, 'failed');
    }
  }

  /** A node applied `entry`: a write proposed there at that index has its answer. */
  onApplied(node: SimNode, entry: Entry): void {
    const key = `${node.id}:${entry.index}`;
    const pending = this.#writes.get(key);
    if (pending !== undefined) {
      this.#writes.delete(key);
      // Another entry at the proposed index means the proposal was overwritten: it never commits.
      if (pending.op.outcome === 'pending')
        this.#finish(pending.op, bytesEqual(pending.data, entry.data) ? 'ok' : 'failed');
    }
    for (const op of this.#reads.values()) {
      if (op.node === node.id && op.index !== null && op.index <= node.cursor.index)
        this.#answerRead(node, op);
    }
  }

  onReadStates(node: SimNode, states: readonly ReadState[]): void {
    for (const state of states) {
      const op = this.#reads.get(state.requestId);
      if (op === undefined || op.node !== node.id || op.index !== null) continue;
      op.index = state.index;
      this.#host.checker.observeReadIndex(node.id, op.id, this.#floors.get(op.id) ?? 0, state.index);
      if (state.index <= node.cursor.index) this.#answerRead(node, op);
    }
  }

  /** Operations in flight on a crashed node lose their answer. */
  onCrash(node: SimNode): void {
    for (const op of this.#current) {
      if (op !== null && op.node === node.id) this.#finish(op, op.kind === 'write' ? 'unknown' : 'failed');
    }
  }

  #answerRead(node: SimNode, op: Operation): void {
    const machine = node.stateMachine;
    op.result = machine instanceof KvStateMachine ? machine.get(op.key) : undefined;
    this.#finish(op, 'ok');
  }

  #finish(op: Operation, outcome: Outcome): void {
    op.outcome = outcome;
    op.completedAt = this.#host.clock();
    op.completedSeq = ++this.#seq;
    this.#current[op.client] = null;
    this.#reads.delete(op.id);
    this.#floors.delete(op.id);
    if (op.kind === 'write' && op.index !== null && outcome !== 'ok')
      this.#writes.delete(`${op.node}:${op.index}`);
    this.#host.record({
      kind: 'client',
      detail: `#${op.id} ${outcome}${op.result !== undefined ? ` = ${op.result}` : ''}`,
    });
  }
}
