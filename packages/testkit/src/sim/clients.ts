import type { Entry, ForwardedProposal, Index, NodeId, RaftErrorCode, ReadState } from '@raftkit/core';
import { isRaftError } from '@raftkit/core';
import type { Fail, SafetyChecker } from './checker.ts';
import { bytesEqual } from './digest.ts';
import type { FaultMix } from './mixes.ts';
import type { SimNode } from './node.ts';
import type { Random } from './random.ts';
import type { KvCommand } from './state-machine.ts';
import { encodeCommand, KvStateMachine } from './state-machine.ts';
import type { TraceEvent } from './trace.ts';

/**
 * How an operation ended. `failed`: certainly no effect and nothing observed (refused, timed out
 * read, write overwritten before it committed). `unknown`: the client stopped waiting (its node
 * crashed or it timed out) and the write may or may not take effect; a linearizability checker
 * must allow both.
 */
export type Outcome = 'pending' | 'ok' | 'failed' | 'unknown';

/**
 * How a read is served. `quorum` and `lease` go through `readIndex()` and are linearizable;
 * `stale` reads the node's own state at once and promises only a committed value, maybe old.
 */
export type ClientReadMode = 'quorum' | 'lease' | 'stale';

/** One client operation with its invoke and response times on the logical clock. */
export interface Operation {
  readonly id: number;
  readonly client: number;
  readonly kind: 'write' | 'cas' | 'read';
  readonly key: string;
  /** The value a write or cas stores: unique per operation, so a read names the write it saw. */
  readonly value: string | null;
  /** What a cas expects the key to hold (null: absent); undefined for other kinds. */
  readonly expected?: string | null;
  /** How a read is served; null for writes and cas. */
  readonly mode: ClientReadMode | null;
  readonly node: NodeId;
  /** A write proposed on a follower, which forwarded it to the leader. */
  readonly forwarded: boolean;
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
  /** What a read returned, or the value a cas found (`undefined`: the key was never written). */
  result: string | undefined;
  /** Whether a completed cas stored its value; null otherwise. */
  casStored: boolean | null;
}

export interface ClientHost {
  readonly random: Random;
  readonly checker: SafetyChecker;
  readonly fail: Fail;
  /** The simulation's logical clock, in ticks. */
  clock(): number;
  readonly nodes: readonly SimNode[];
  record(event: TraceEvent): void;
  /** Check each read index against what was committed when the read began. */
  readonly checkReadIndex: boolean;
}

/** The mix's client settings. */
export type ClientLoad = Pick<
  FaultMix,
  'writeRate' | 'readRate' | 'casRate' | 'leaseReads' | 'staleReads' | 'forwardedWrites'
>;

const keys = ['a', 'b', 'c'];

/**
 * Sequential clients, each with at most one operation outstanding, writing, compare-and-setting
 * and reading a few keys. Writes go to whichever node they believe leads; reads go to any node.
 * Their operations form the history the linearizability checker is given (issue 4).
 */
export class Clients {
  readonly history: Operation[] = [];
  /** Refusals by code: expected outcomes under faults, counted for the run's statistics. */
  readonly refusals = new Map<RaftErrorCode, number>();
  readonly #host: ClientHost;
  readonly #timeout: number;
  readonly #current: (Operation | null)[];
  readonly #leaderGuess: (NodeId | null)[];
  /** Writes waiting for their index to be applied on the node they were proposed to. */
  readonly #writes = new Map<string, { op: Operation; data: Uint8Array }>();
  /** Writes a follower forwarded (by request id), until the leader says where it put them. */
  readonly #forwards = new Map<number, { op: Operation; data: Uint8Array }>();
  /** Reads waiting for their read index (by request id), then for it to be applied. */
  readonly #reads = new Map<number, Operation>();
  /** The highest index committed anywhere when each read began: its read index may not be lower. */
  readonly #floors = new Map<number, number>();
  /** Every value any node's state machine ever held per key: what a stale read may return. */
  readonly #held = new Map<string, Set<string>>();
  /** The last value clients saw per key: what a cas expects, so that some succeed. */
  readonly #lastSeen = new Map<string, string | null>();
  #seq = 0;

  constructor(host: ClientHost, count: number, timeout: number) {
    this.#host = host;
    this.#timeout = timeout;
    this.#current = Array.from({ length: count }, () => null);
    this.#leaderGuess = Array.from({ length: count }, () => null);
  }

  /** One tick of client activity: time out stale operations, maybe start new ones. */
  act(load: ClientLoad): void {
    const { random } = this.#host;
    const now = this.#host.clock();
    for (const op of this.#current) {
      if (op !== null && now - op.invokedAt >= this.#timeout)
        this.#finish(op, op.kind === 'read' ? 'failed' : 'unknown');
    }
    if (random.chance(load.writeRate)) this.#start('write', null, load);
    if (random.chance(load.readRate)) this.#start('read', this.#readMode(load), load);
    if (random.chance(load.casRate)) this.#start('cas', null, load);
  }

  #readMode(load: ClientLoad): ClientReadMode {
    if (load.staleReads === 0 && load.leaseReads === 0) return 'quorum';
    const u = this.#host.random.float();
    return u < load.staleReads ? 'stale' : u < load.staleReads + load.leaseReads ? 'lease' : 'quorum';
  }

  #start(kind: Operation['kind'], mode: ClientReadMode | null, load: ClientLoad): void {
    const { random, nodes } = this.#host;
    const now = this.#host.clock();
    const client = this.#current.indexOf(null);
    if (client < 0) return;
    const guess = this.#leaderGuess[client];
    const node =
      kind === 'read'
        ? random.pick(nodes)
        : (nodes.find((n) => n.id === guess && n.up) ?? random.pick(nodes));
    if (!node.up) return;
    const id = this.history.length + 1;
    // Drawn only where forwarding is on, so the other mixes replay as they always did.
    const forwarded =
      kind !== 'read' &&
      load.forwardedWrites > 0 &&
      node.core.role !== 'leader' &&
      random.chance(load.forwardedWrites);
    const key = random.pick(keys);
    const op: Operation = {
      id,
      client,
      kind,
      key,
      value: kind === 'read' ? null : `v${id}`,
      ...(kind === 'cas' ? { expected: this.#lastSeen.get(key) ?? null } : {}),
      mode,
      node: node.id,
      forwarded,
      invokedAt: now,
      index: null,
      completedAt: null,
      invokedSeq: ++this.#seq,
      completedSeq: null,
      outcome: 'pending',
      result: undefined,
      casStored: null,
    };
    this.history.push(op);
    this.#current[client] = op;
    let leaseIndex: Index | null = null;
    try {
      if (kind !== 'read') {
        const command: KvCommand = {
          key,
          value: op.value!,
          ...(kind === 'cas' ? { expected: op.expected } : {}),
        };
        const data = encodeCommand(command);
        if (forwarded) {
          this.#forwards.set(id, { op, data });
          node.core.forward(id, [data]);
        } else {
          op.index = node.core.propose(data);
          this.#writes.set(`${node.id}:${op.index}`, { op, data });
        }
      } else if (mode !== 'stale') {
        this.#reads.set(id, op);
        this.#floors.set(id, this.#host.checker.highestCommitted);
        // Half the lease reads take the driver's fast path, answered at once while the lease
        // holds; the rest, and those it cannot answer, go through readIndex.
        leaseIndex = mode === 'lease' && id % 2 === 0 ? node.core.leaseReadIndex() : null;
        if (leaseIndex === null) node.core.readIndex(id, mode ?? 'quorum');
      }
      this.#host.record({
        kind: 'client',
        detail: `${mode ?? kind} #${id} ${key}${op.expected !== undefined ? `?${op.expected}` : ''} on ${node.id}${op.index ? ` @${op.index}` : ''}`,
      });
      if (mode === 'stale') this.#answerStale(node, op);
      if (leaseIndex !== null) this.#readIndexKnown(node, op, leaseIndex);
    } catch (error) {
      if (!isRaftError(error)) throw error;
      this.refusals.set(error.code, (this.refusals.get(error.code) ?? 0) + 1);
      this.#leaderGuess[client] = error.leaderHint;
      this.#finish(op, 'failed');
    }
  }

  /** A node applied `entry`: a write proposed there at that index has its answer. */
  onApplied(node: SimNode, entry: Entry): void {
    const machine = node.stateMachine;
    const applied = machine instanceof KvStateMachine ? machine.lastApplied : null;
    if (applied !== null && applied.index === entry.index && applied.current !== undefined) {
      const held = this.#held.get(applied.key);
      if (held === undefined) this.#held.set(applied.key, new Set([applied.current]));
      else held.add(applied.current);
    }
    const key = `${node.id}:${entry.index}`;
    const pending = this.#writes.get(key);
    if (pending !== undefined) {
      this.#writes.delete(key);
      const { op, data } = pending;
      // Another entry at the proposed index means the proposal was overwritten: it never commits.
      if (op.outcome === 'pending' && !bytesEqual(data, entry.data)) this.#finish(op, 'failed');
      else if (op.outcome === 'pending') {
        if (op.kind === 'cas') {
          if (applied?.index !== entry.index) {
            this.#host.fail('CoreError', `cas #${op.id} applied at ${entry.index} without a result`);
          }
          op.casStored = applied.stored;
          op.result = applied.current;
        }
        this.#finish(op, 'ok');
      }
    }
    for (const op of this.#reads.values()) {
      if (op.node === node.id && op.index !== null && op.index <= node.cursor.index)
        this.#answerRead(node, op);
    }
  }

  /** The leader answered writes `node` forwarded: where it appended them, or why not. */
  onForwarded(node: SimNode, outcomes: readonly ForwardedProposal[]): void {
    for (const outcome of outcomes) {
      const pending = this.#forwards.get(outcome.requestId);
      if (pending === undefined || pending.op.node !== node.id) continue;
      this.#forwards.delete(outcome.requestId);
      if (pending.op.outcome !== 'pending') continue;
      if ('refused' in outcome) {
        this.refusals.set(outcome.refused, (this.refusals.get(outcome.refused) ?? 0) + 1);
        this.#finish(pending.op, 'failed');
      } else {
        pending.op.index = outcome.index;
        this.#writes.set(`${node.id}:${outcome.index}`, pending);
      }
    }
  }

  onReadStates(node: SimNode, states: readonly ReadState[]): void {
    for (const state of states) {
      const op = this.#reads.get(state.requestId);
      if (op === undefined || op.node !== node.id || op.index !== null) continue;
      this.#readIndexKnown(node, op, state.index);
    }
  }

  /** The read `op` on `node` must observe `index`: checked, then answered once applied there. */
  #readIndexKnown(node: SimNode, op: Operation, index: Index): void {
    op.index = index;
    if (this.#host.checkReadIndex) {
      this.#host.checker.observeReadIndex(node.id, op.id, this.#floors.get(op.id) ?? 0, index);
    }
    if (index <= node.cursor.index) this.#answerRead(node, op);
  }

  /** Operations in flight on a crashed node lose their answer. */
  onCrash(node: SimNode): void {
    for (const op of this.#current) {
      if (op !== null && op.node === node.id) this.#finish(op, op.kind === 'read' ? 'failed' : 'unknown');
    }
  }

  #answerRead(node: SimNode, op: Operation): void {
    const machine = node.stateMachine;
    op.result = machine instanceof KvStateMachine ? machine.get(op.key) : undefined;
    this.#finish(op, 'ok');
  }

  /**
   * A stale read promises less than linearizability, and is checked against that: it returns a
   * value some node's state machine held for the key (a committed write's, by State Machine
   * Safety), never one of a write that did not commit, and never one from another key.
   */
  #answerStale(node: SimNode, op: Operation): void {
    const machine = node.stateMachine;
    if (!(machine instanceof KvStateMachine)) {
      this.#finish(op, 'failed');
      return;
    }
    const value = machine.get(op.key);
    if (value !== undefined && !this.#held.get(op.key)?.has(value)) {
      this.#host.fail(
        'PhantomRead',
        `stale read #${op.id} of ${op.key} on ${node.id} returned ${value}, which no node applied to ${op.key}`,
      );
    }
    op.result = value;
    this.#finish(op, 'ok');
  }

  #finish(op: Operation, outcome: Outcome): void {
    op.outcome = outcome;
    op.completedAt = this.#host.clock();
    op.completedSeq = ++this.#seq;
    this.#current[op.client] = null;
    this.#reads.delete(op.id);
    this.#forwards.delete(op.id);
    this.#floors.delete(op.id);
    if (op.kind !== 'read' && op.index !== null && outcome !== 'ok')
      this.#writes.delete(`${op.node}:${op.index}`);
    if (outcome === 'ok') this.#lastSeen.set(op.key, op.kind === 'write' ? op.value : (op.result ?? null));
    this.#host.record({
      kind: 'client',
      detail: `#${op.id} ${outcome}${op.casStored === false ? ' (not stored)' : ''}${op.result !== undefined ? ` = ${op.result}` : ''}`,
    });
  }
}
