import type { Logger, NodeId } from '@raftkit/core';
import { silentLogger } from '@raftkit/core';

/** The subset of `fetch` the transport calls; inject one to route or fault requests in tests. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** How an `HttpTransport` identifies itself, authenticates peers and bounds what it sends and accepts. */
export interface HttpTransportOptions {
  /** This node's id: the `from` of what it sends, and the only `to` it accepts. */
  readonly id: NodeId;
  /** The cluster secret every peer shares (at least 16 bytes); only HMACs of it go on the wire. */
  readonly secret: Uint8Array | string;
  /**
   * Largest request body either side handles; the receiver answers 413 above it, the sender
   * never builds a bigger batch and drops a single message that would not fit. Every peer must
   * use the same value. Default 8 MiB (the core's AppendEntries default is 1 MiB of payload).
   */
  readonly maxBodyBytes?: number;
  /** Messages queued per peer before new ones are dropped. Default 4096. */
  readonly maxQueueMessages?: number;
  /** Encoded bytes queued per peer before new messages are dropped. Default 32 MiB. */
  readonly maxQueueBytes?: number;
  /** A request (send and response) taking longer is aborted and counted as a timeout. Default 5 s. */
  readonly requestTimeoutMs?: number;
  /** After a failed request the peer waits this long, doubling per failure. Default 20 ms. */
  readonly retryBackoffMs?: number;
  /** Cap of the doubling back-off. Default 1 s. */
  readonly maxRetryBackoffMs?: number;
  /** Requests whose timestamp differs from the local clock by more are refused. Default 30 s. */
  readonly authWindowMs?: number;
  /** Accepted MACs remembered at once to refuse replays; beyond, requests get 503. Default 200 000. */
  readonly maxReplayEntries?: number;
  /**
   * Whether peers read this node's messages as a stream (one long-lived response each, see
   * stream-reader.ts) and this node reads theirs. Off, every batch is a request of its own: for
   * a proxy between peers that buffers responses. Every peer should use the same value.
   * Default true.
   */
  readonly streams?: boolean;
  /**
   * Messages sent with `mayWait` (a leader's commit notices) may sit this long in a peer's queue
   * waiting for other messages to that peer, and leave with them: at one write in flight a
   * commit notice then rides with the next write's AppendEntries, one socket write and one
   * response fewer on every side. 0 sends them at once. Default 2 ms.
   */
  readonly maxHoldMs?: number;
  /** Snapshot data per chunk request. Must leave room for framing inside `maxBodyBytes`. Default 1 MiB. */
  readonly snapshotChunkBytes?: number;
  /** Largest snapshot accepted; a bigger transfer is aborted with 413. Default 64 GiB. */
  readonly maxSnapshotBytes?: number;
  /** Incoming snapshot transfers open at once (one per sender and group). Default 4. */
  readonly maxIncomingSnapshots?: number;
  /** An incoming transfer without a chunk for this long is aborted at the next snapshot request. Default 60 s. */
  readonly snapshotIdleTimeoutMs?: number;
  /**
   * The `fetch` requests go through. Inject one to use TLS with a private CA or client
   * certificates (see the README for each runtime). Default: the global `fetch`.
   */
  readonly fetch?: FetchFunction;
  /** Wall clock in ms for request timestamps; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
  readonly logger?: Logger;
}

export type ResolvedOptions = Required<Omit<HttpTransportOptions, 'secret'>>;

/**
 * The default largest request body sent or accepted (8 MiB); snapshots travel in chunks of
 * `snapshotChunkBytes` within it.
 */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Room around one entry's data in a request that carries it alone: the batch and group framing,
 * the AppendEntries fields and both node ids (ids and group ids are short; this bounds them
 * generously).
 */
const ENTRY_FRAMING_BYTES = 4 * 1024;

/** The largest entry one request of at most `maxBodyBytes` can carry (`Transport.maxEntryBytes`). */
export const maxEntryBytesFor = (maxBodyBytes: number): number => maxBodyBytes - ENTRY_FRAMING_BYTES;

/** Room the chunk map needs around the data: keys, ids, offsets, the offer's membership. */
const SNAPSHOT_FRAMING_BYTES = 64 * 1024;

export function resolveOptions(options: HttpTransportOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    id: options.id,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    maxQueueMessages: options.maxQueueMessages ?? 4096,
    maxQueueBytes: options.maxQueueBytes ?? 32 * 1024 * 1024,
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    retryBackoffMs: options.retryBackoffMs ?? 20,
    maxRetryBackoffMs: options.maxRetryBackoffMs ?? 1000,
    authWindowMs: options.authWindowMs ?? 30_000,
    maxReplayEntries: options.maxReplayEntries ?? 200_000,
    streams: options.streams ?? true,
    maxHoldMs: options.maxHoldMs ?? 2,
    snapshotChunkBytes: options.snapshotChunkBytes ?? 1024 * 1024,
    maxSnapshotBytes: options.maxSnapshotBytes ?? 64 * 1024 ** 3,
    maxIncomingSnapshots: options.maxIncomingSnapshots ?? 4,
    snapshotIdleTimeoutMs: options.snapshotIdleTimeoutMs ?? 60_000,
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    now: options.now ?? Date.now,
    logger: options.logger ?? silentLogger,
  };
  if (typeof resolved.id !== 'string' || resolved.id.length === 0) {
    throw new RangeError('options.id must be a non-empty string');
  }
  for (const name of [
    'maxBodyBytes',
    'maxQueueMessages',
    'maxQueueBytes',
    'requestTimeoutMs',
    'retryBackoffMs',
    'maxRetryBackoffMs',
    'authWindowMs',
    'maxReplayEntries',
    'snapshotChunkBytes',
    'maxSnapshotBytes',
    'maxIncomingSnapshots',
    'snapshotIdleTimeoutMs',
  ] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`options.${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (!Number.isSafeInteger(resolved.maxHoldMs) || resolved.maxHoldMs < 0) {
    throw new RangeError(
      `options.maxHoldMs must be a non-negative integer, got ${String(resolved.maxHoldMs)}`,
    );
  }
  if (resolved.snapshotChunkBytes + SNAPSHOT_FRAMING_BYTES > resolved.maxBodyBytes) {
    throw new RangeError(
      `options.snapshotChunkBytes must be at most maxBodyBytes - ${SNAPSHOT_FRAMING_BYTES} (room for framing)`,
    );
  }
  return resolved;
}
