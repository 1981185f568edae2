import type { Entry, Logger, NodeId, Storage, Transport } from '@raftkit/core';
import { silentLogger } from '@raftkit/core';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';

/** The application state Raft replicates. */
export interface StateMachine {
  /**
   * Applies one committed entry carrying a proposal (never the leader's empty no-op, never a
   * config entry); the return value resolves the proposer's promise. Must be deterministic and
   * must not throw: a throw stops the node (`fatal`), since other nodes may have applied the entry.
   * Return an error value instead for commands that fail by design.
   */
  apply(entry: Entry): unknown;
  /**
   * Serializes the state as of the last applied entry (never called while applying), in one of
   * two ways:
   * - the bytes, or a promise of them: the node applies nothing more until it has them, so
   *   serializing holds up every write for as long as it takes;
   * - chunks, as an `AsyncIterable`: a point-in-time capture taken before `snapshot` returns,
   *   serialized a chunk at a time while committed entries keep applying (hashicorp/raft's
   *   `FSMSnapshot`). `apply` and `restore` may run between chunks and must not change what the
   *   capture yields. The node asks for each chunk once it has written the one before.
   */
  snapshot(): Uint8Array | Promise<Uint8Array> | AsyncIterable<Uint8Array>;
  /** Replaces the whole state with a snapshot's data (possibly taken on another node). */
  restore(data: Uint8Array): void | Promise<void>;
  /**
   * Optional: throws for data that is not a command this state machine can apply. The leader then
   * drops a follower's forwarded proposal that fails it (a bug there, or a command of a version
   * this one does not know) rather than append what would stop every node at apply.
   */
  validate?(data: Uint8Array): void;
}

/**
 * Everything `RaftNode.start` needs. Times are in milliseconds unless named in ticks; a tick is `tickMs`.
 */
export interface RaftNodeOptions {
  /** This node's id: unique in the cluster, and the same on every restart of the same storage. */
  readonly id: NodeId;
  /** Names this Raft group on the transport (one transport may carry many groups). */
  readonly groupId?: string;
  /**
   * Where the log, vote and snapshots live; `RaftNode` acknowledges a write only after storage made it
   * durable (fsynced), and closes it on stop.
   */
  readonly storage: Storage;
  /** Carries messages to and from peers. Not closed by `stop`: it may carry other groups. */
  readonly transport: Transport;
  /** The application state every committed proposal is applied to. */
  readonly stateMachine: StateMachine;
  /**
   * For empty storage only: found a cluster with these members (id → URL), or `'join'` one
   * (no members known; wait for the leader to add this node). Ignored when storage has state.
   */
  readonly bootstrap?: { readonly members: Readonly<Record<string, string>> } | 'join';
  /**
   * Where other members listen (id → URL), told to the transport at start. A node joining a
   * cluster needs it to answer the leader before it has learned the URLs from the log; once the
   * log or a snapshot names a member's URL, that one wins.
   */
  readonly peers?: Readonly<Record<string, string>>;
  /** Milliseconds per core tick. Default 100. */
  readonly tickMs?: number;
  /** Default 10 ticks. */
  readonly electionTicks?: number;
  /** Default 1 tick. */
  readonly heartbeatTicks?: number;
  /**
   * Take a snapshot and compact the log once this much was applied since the last one. Default
   * 100,000 entries (etcd 3.4's `--snapshot-count`) or 64 MiB of entry data, whichever first.
   */
  readonly snapshotEvery?: { readonly entries?: number; readonly bytes?: number };
  /** Proposals (local and forwarded) waiting to apply; past it, `propose` rejects `Busy`. Default 10 000. */
  readonly maxPendingProposals?: number;
  /** Reads waiting for a read index or for apply; past it, `read` rejects `Busy`. Default 10 000. */
  readonly maxPendingReads?: number;
  /** Messages from peers stepped into the core per tick; the rest are dropped (Raft resends). Default 50 000. */
  readonly maxIncomingPerTick?: number;
  /** Default 10 000 ms. */
  readonly proposalTimeoutMs?: number;
  /** Default 5 000 ms. */
  readonly readTimeoutMs?: number;
  /**
   * A follower's `propose` goes to the leader with the Raft messages (etcd's proposal forwarding)
   * and resolves once applied here. False: it rejects `NotLeader`, naming the leader and its URL,
   * for clients that should talk to the leader themselves. Default true.
   */
  readonly forwardProposals?: boolean;
  /** Structured log lines of this node and its core. Default: silent. */
  readonly logger?: Logger;
  /** Seeds the core's election jitter; give each node its own. Default: derived from `id`. */
  readonly seed?: number;
  /** Time source and timers; tests pass a manual clock. Default: the system clock. */
  readonly clock?: Clock;
}

export interface ResolvedOptions
  extends Required<Omit<RaftNodeOptions, 'bootstrap' | 'snapshotEvery' | 'peers'>> {
  readonly peers: Readonly<Record<string, string>>;
  readonly bootstrap: RaftNodeOptions['bootstrap'];
  readonly snapshotEvery: { readonly entries: number; readonly bytes: number };
}

export function resolveOptions(options: RaftNodeOptions): ResolvedOptions {
  if (typeof options.id !== 'string' || options.id.length === 0) {
    throw new TypeError('options.id must be a non-empty string');
  }
  const resolved: ResolvedOptions = {
    ...options,
    groupId: options.groupId ?? 'default',
    tickMs: options.tickMs ?? 100,
    electionTicks: options.electionTicks ?? 10,
    heartbeatTicks: options.heartbeatTicks ?? 1,
    snapshotEvery: {
      entries: options.snapshotEvery?.entries ?? 100_000,
      bytes: options.snapshotEvery?.bytes ?? 64 * 1024 * 1024,
    },
    maxPendingProposals: options.maxPendingProposals ?? 10_000,
    maxPendingReads: options.maxPendingReads ?? 10_000,
    maxIncomingPerTick: options.maxIncomingPerTick ?? 50_000,
    proposalTimeoutMs: options.proposalTimeoutMs ?? 10_000,
    readTimeoutMs: options.readTimeoutMs ?? 5_000,
    bootstrap: options.bootstrap,
    peers: options.peers ?? {},
    forwardProposals: options.forwardProposals ?? true,
    logger: options.logger ?? silentLogger,
    seed: options.seed ?? seedFrom(options.id),
    clock: options.clock ?? systemClock,
  };
  const positive = (name: string, value: number) => {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`options.${name} must be a positive number, got ${String(value)}`);
    }
  };
  positive('tickMs', resolved.tickMs);
  positive('snapshotEvery.entries', resolved.snapshotEvery.entries);
  positive('snapshotEvery.bytes', resolved.snapshotEvery.bytes);
  positive('maxPendingProposals', resolved.maxPendingProposals);
  positive('maxPendingReads', resolved.maxPendingReads);
  positive('maxIncomingPerTick', resolved.maxIncomingPerTick);
  positive('proposalTimeoutMs', resolved.proposalTimeoutMs);
  positive('readTimeoutMs', resolved.readTimeoutMs);
  if (resolved.bootstrap !== undefined && resolved.bootstrap !== 'join') {
    const members = Object.entries(resolved.bootstrap.members);
    if (members.length === 0 || members.some(([, url]) => typeof url !== 'string')) {
      throw new RangeError('options.bootstrap.members must map at least one member id to its URL');
    }
    if (!(options.id in resolved.bootstrap.members)) {
      throw new RangeError(`options.bootstrap.members must include this node (${options.id})`);
    }
  }
  return resolved;
}

/** FNV-1a of the id: distinct nodes get distinct election jitter without configuration. */
function seedFrom(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
