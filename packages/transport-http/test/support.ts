import type {
  Entry,
  IncomingSnapshotWriter,
  Message,
  NodeId,
  Snapshot,
  SnapshotMeta,
  SnapshotOffer,
  TransportHandler,
} from '@raftkit/core';
import { index, nodeId, term } from '@raftkit/core';
import { expect } from 'vitest';
import { newNonce, RequestAuthenticator } from '../src/auth.ts';
import type { Route } from '../src/wire.ts';
import {
  CONTENT_TYPE,
  HEADER_FROM,
  HEADER_MAC,
  HEADER_NONCE,
  HEADER_TIMESTAMP,
  MESSAGES_PATH,
  SNAPSHOT_PATH,
  STREAM_PATH,
} from '../src/wire.ts';

export const SECRET = 'test-cluster-secret-0123456789';
export const A = nodeId('node-a');
export const B = nodeId('node-b');

export const entry = (i: number, t: number, size = 4): Entry => ({
  index: index(i),
  term: term(t),
  type: 'normal',
  data: new Uint8Array(size).fill(i & 0xff),
});

/** One message of every type, from `from` to `to`. */
export function everyMessage(from: NodeId, to: NodeId): Message[] {
  const envelope = { from, to, term: term(3) };
  const membership = { voters: [from, to], votersOutgoing: [], learners: [] };
  return [
    {
      type: 'RequestVote',
      ...envelope,
      preVote: true,
      lastLogIndex: index(7),
      lastLogTerm: term(2),
      transfer: false,
    },
    { type: 'RequestVoteResponse', ...envelope, preVote: false, granted: true },
    {
      type: 'AppendEntries',
      ...envelope,
      prevLogIndex: index(4),
      prevLogTerm: term(2),
      entries: [entry(5, 2), entry(6, 3)],
      leaderCommit: index(4),
    },
    {
      type: 'AppendEntriesResponse',
      ...envelope,
      success: false,
      index: index(4),
      conflictIndex: index(3),
      conflictTerm: term(1),
    },
    { type: 'Heartbeat', ...envelope, commitIndex: index(6), readRound: 2 },
    { type: 'HeartbeatResponse', ...envelope, readRound: 2 },
    {
      type: 'InstallSnapshot',
      ...envelope,
      snapshot: { meta: { index: index(9), term: term(3), membership }, data: new Uint8Array([1, 2, 3]) },
    },
    { type: 'TimeoutNow', ...envelope },
    { type: 'ReadIndexRequest', ...envelope, requestId: 11, lease: true },
    { type: 'ReadIndexResponse', ...envelope, requestId: 11, readIndex: index(6), ok: true },
    { type: 'Propose', ...envelope, requestId: 12, entries: [new Uint8Array([7]), new Uint8Array([8, 9])] },
    { type: 'ProposeResponse', ...envelope, requestId: 12, index: index(7), refused: null },
  ];
}

export const heartbeat = (from: NodeId, to: NodeId, readRound = 0): Message => ({
  type: 'Heartbeat',
  from,
  to,
  term: term(1),
  commitIndex: index(0),
  readRound,
});

/** Builds a request the way a peer would, with knobs to break each part of the authentication. */
export async function peerRequest(
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>,
  options: {
    route?: Route;
    from?: string;
    timestamp?: number;
    nonce?: string;
    secret?: string;
    mac?: string;
    signedBody?: Uint8Array;
    headers?: Record<string, string>;
  } = {},
): Promise<Request> {
  const route = options.route ?? 'messages';
  const from = options.from ?? A;
  const timestamp = options.timestamp ?? Date.now();
  const nonce = options.nonce ?? newNonce();
  const signedBody = options.signedBody ?? (body instanceof Uint8Array ? body : new Uint8Array(0));
  const mac =
    options.mac ??
    new RequestAuthenticator(options.secret ?? SECRET).sign({
      route,
      from,
      timestamp,
      nonce,
      body: signedBody,
    });
  const path = { messages: MESSAGES_PATH, snapshot: SNAPSHOT_PATH, stream: STREAM_PATH }[route];
  return new Request(`http://peer${path}`, {
    method: 'POST',
    body,
    headers: {
      'content-type': CONTENT_TYPE,
      [HEADER_FROM]: from,
      [HEADER_TIMESTAMP]: String(timestamp),
      [HEADER_NONCE]: nonce,
      [HEADER_MAC]: mac,
      ...options.headers,
    },
    duplex: 'half',
  } as RequestInit);
}

/** A stream that yields `bytes` in pieces and declares no length. */
export function streamOf(bytes: Uint8Array, piece = 16 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  });
}

/** A handler that records what it is given and keeps incoming snapshots in memory. */
export class RecordingHandler implements TransportHandler {
  readonly received: Message[] = [];
  readonly offers: SnapshotOffer[] = [];
  readonly aborted: SnapshotOffer[] = [];
  /** Largest chunk the snapshot writer was handed. */
  largestWrite = 0;
  readonly done: { to: NodeId; ok: boolean }[] = [];
  /** Tests set a streaming source; without one the transport slices the message's data. */
  readSnapshot?: (meta: SnapshotMeta, chunkBytes: number) => AsyncIterable<Uint8Array>;

  receive(messages: readonly Message[]): void {
    this.received.push(...messages);
  }

  createSnapshot(offer: SnapshotOffer): Promise<IncomingSnapshotWriter> {
    this.offers.push(offer);
    const chunks: Uint8Array[] = [];
    return Promise.resolve({
      write: async (chunk: Uint8Array) => {
        this.largestWrite = Math.max(this.largestWrite, chunk.length);
        chunks.push(chunk.slice());
      },
      commit: async (): Promise<Snapshot> => ({ meta: offer.meta, data: concat(chunks) }),
      abort: async () => {
        this.aborted.push(offer);
      },
    });
  }

  snapshotDone(to: NodeId, _meta: unknown, ok: boolean): void {
    this.done.push({ to, ok });
  }
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Deterministic pseudo-random bytes (xorshift), so a corrupted byte can never go unnoticed by chance. */
export function patternBytes(size: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Polls `condition` for a few seconds (far less than any back-off a test configures), then asserts it. */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(condition()).toBe(true);
}
