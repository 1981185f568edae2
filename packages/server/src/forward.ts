import { setImmediate } from 'node:timers';
import type { NodeId } from '@raftkit/core';
import { RaftNodeError } from '@raftkit/node';
// cbor-x without its native string extractor, which misdecodes long strings on Bun (as in transport-http).
import { Decoder, Encoder } from 'cbor-x/decode';
import { Hono } from 'hono';
import { ApiError, errorResponse, toApiError } from './api-error.ts';
import { readBody } from './body.ts';
import type { ForwardAuthenticator } from './forward-auth.ts';
import { decodeCommand } from './kv/command.ts';
import { type Limits, maxCommandBytes } from './limits.ts';
import type { ServerNode } from './server-node.ts';

/** Plain CBOR (no cbor-x records or typed-array tags): the result is whatever the state machine returned. */
const cborOptions = { useRecords: false, mapsAsObjects: true, tagUint8Array: false } as const;
const encoder = new Encoder(cborOptions);
const decoder = new Decoder(cborOptions);

/**
 * Where a leader takes proposals forwarded by its followers. Internal: peers only, HMAC-signed.
 * The body is a batch, a CBOR array of commands; the answer an array of outcomes in that order.
 */
export const FORWARD_PATH = '/internal/v2/propose';

/** The subset of `fetch` the forwarder calls; tests inject one. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** What the leader answers per forwarded command. */
type Outcome = { readonly index: number; readonly result: unknown } | { readonly error: string };

/** A batch closes at this many bytes of commands (a bigger single command travels alone). */
const BATCH_BYTES = 1024 * 1024;

interface Queued {
  readonly data: Uint8Array;
  readonly signal: AbortSignal;
  readonly resolve: (applied: { index: number; result: unknown }) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The driver's `forward` option: posts proposals to the leader's server and returns what the
 * leader's state machine answered. Proposals made in the same turn of the event loop travel in
 * one request (under load a follower forwards many at once; one request each cost the leader as
 * much as a client's write). Failures come back as the driver's errors, by what they mean for the
 * client: a refusal the leader gave before proposing (`NotLeader`, `Busy`) is safe to retry;
 * anything after the request may have reached the leader is `Timeout`, outcome unknown. A
 * caller's aborted signal rejects its own proposal only; the request is cut short once every
 * proposal in it was aborted.
 */
export function createForwarder(options: {
  readonly id: NodeId;
  readonly auth: ForwardAuthenticator;
  readonly memberUrl: (id: NodeId) => string | undefined;
  readonly fetch?: FetchFunction;
}): (leader: NodeId, data: Uint8Array, signal: AbortSignal) => Promise<{ index: number; result: unknown }> {
  const send = options.fetch ?? ((input, init) => fetch(input, init));
  const batches = new Map<NodeId, Queued[]>();

  const post = async (leader: NodeId, batch: readonly Queued[]): Promise<void> => {
    const base = options.memberUrl(leader);
    if (base === undefined) {
      const error = new RaftNodeError('NotLeader', `no URL known for leader ${leader}`, { leader });
      for (const q of batch) q.reject(error);
      return;
    }
    const controller = new AbortController();
    let aborted = 0;
    for (const q of batch) {
      const onAbort = () => {
        q.reject(q.signal.reason);
        if (++aborted === batch.length) controller.abort(q.signal.reason);
      };
      if (q.signal.aborted) onAbort();
      else q.signal.addEventListener('abort', onAbort, { once: true });
    }
    const body = encoder.encode(batch.map((q) => q.data)) as Uint8Array<ArrayBuffer>;
    let outcomes: readonly Outcome[];
    try {
      const headers = { 'content-type': 'application/cbor', ...(await options.auth.sign(options.id, body)) };
      let response: Response;
      try {
        response = await send(`${base.replace(/\/+$/, '')}${FORWARD_PATH}`, {
          method: 'POST',
          headers,
          body,
          signal: controller.signal,
        });
      } catch (cause) {
        throw new RaftNodeError('Timeout', `forwarding to leader ${leader} failed: outcome unknown`, {
          cause,
        });
      }
      const answer = new Uint8Array(await response.arrayBuffer());
      if (!response.ok) throw refusal(leader, response.status, errorCode(answer));
      outcomes = decoder.decode(answer) as Outcome[];
      if (!Array.isArray(outcomes) || outcomes.length !== batch.length) {
        throw new RaftNodeError('Timeout', `leader ${leader} answered a malformed batch: outcome unknown`);
      }
    } catch (error) {
      for (const q of batch) q.reject(error);
      return;
    }
    for (const [i, q] of batch.entries()) {
      const outcome = outcomes[i]!;
      if ('error' in outcome) q.reject(refusal(leader, 200, outcome.error));
      else q.resolve({ index: outcome.index, result: outcome.result });
    }
  };

  return (leader, data, signal) =>
    new Promise((resolve, reject) => {
      let batch = batches.get(leader);
      if (batch === undefined) {
        batch = [];
        batches.set(leader, batch);
        // After the I/O phase, not on a microtask: microtasks run after each request's callback,
        // which would send every proposal alone; by the check phase all requests read in this
        // turn have been proposed.
        setImmediate(() => {
          batches.delete(leader);
          void flush(leader, batch!);
        });
      }
      batch.push({ data, signal, resolve, reject });
    });

  /** Sends a turn's proposals in requests of at most `BATCH_BYTES` of commands each. */
  async function flush(leader: NodeId, queued: readonly Queued[]): Promise<void> {
    let start = 0;
    let bytes = 0;
    const requests: Promise<void>[] = [];
    for (const [i, q] of queued.entries()) {
      if (i > start && bytes + q.data.byteLength > BATCH_BYTES) {
        requests.push(post(leader, queued.slice(start, i)));
        start = i;
        bytes = 0;
      }
      bytes += q.data.byteLength;
    }
    requests.push(post(leader, queued.slice(start)));
    await Promise.all(requests);
  }
}

/** A leader's refusal as the driver's error: retryable before proposing, unknown otherwise. */
function refusal(leader: NodeId, status: number, code: string): RaftNodeError {
  if (code === 'NoLeader') return new RaftNodeError('NotLeader', `leader ${leader} refused: not the leader`);
  if (code === 'Busy') return new RaftNodeError('Busy', `leader ${leader} is busy`);
  return new RaftNodeError('Timeout', `leader ${leader} answered ${status} (${code}): outcome unknown`);
}

/** What the leader's forward route accepts. */
export interface ForwardRoutesOptions {
  /** The largest forwarded command accepted; a batch holding a bigger one is refused whole. */
  readonly maxCommandBytes: number;
  /**
   * Throws for a body the state machine would not accept, so the leader never proposes it (the
   * MAC proves who sent it, not that it is well formed). Default: every body is accepted.
   */
  readonly validate?: (data: Uint8Array) => unknown;
}

/**
 * The leader's side of `createForwarder`, for any state machine: checks the MAC and every
 * command of the batch, then proposes them as if they were local (in one turn, so they share one
 * Ready and one fsync) and answers with each one's outcome. Mount it wherever the leader serves
 * its peers (e.g. `transport.app.route('/', routes)`).
 */
export function createForwardRoutes(
  node: Pick<ServerNode, 'propose' | 'status'>,
  auth: ForwardAuthenticator,
  options: ForwardRoutesOptions,
): Hono {
  // A batch holds up to BATCH_BYTES of commands, or one command of any size, plus CBOR heads.
  const maxBodyBytes = Math.max(BATCH_BYTES, options.maxCommandBytes) + 64 * 1024;
  return new Hono().post(FORWARD_PATH, async (c) => {
    try {
      const body = await readBody(c.req.raw, maxBodyBytes, 'the forwarded batch');
      const failure = await auth.verify(c.req.raw.headers, body);
      if (failure !== null) {
        throw new ApiError(
          failure === 'busy' ? 'Busy' : 'Unauthorized',
          `forwarded proposal refused: ${failure}`,
        );
      }
      const commands = parseBatch(body, options);
      // Only the leader proposes forwarded commands: a follower passing them on could bounce a
      // proposal between two nodes that each think the other leads.
      if (node.status().role !== 'leader') throw new ApiError('NoLeader', 'this node is not the leader');
      const settled = await Promise.allSettled(
        commands.map((data) => node.propose(data, { signal: c.req.raw.signal })),
      );
      const outcomes: Outcome[] = settled.map((s) =>
        s.status === 'fulfilled'
          ? { index: s.value.index, result: s.value.result }
          : { error: toApiError(s.reason).code },
      );
      return c.body(encoder.encode(outcomes) as Uint8Array<ArrayBuffer>, 200, {
        'content-type': 'application/cbor',
      });
    } catch (error) {
      return errorResponse(toApiError(error));
    }
  });
}

/** The KV server's forward route: only well-formed KV commands, no bigger than a client route builds. */
export function forwardRoutes(node: ServerNode, auth: ForwardAuthenticator, limits: Limits): Hono {
  return createForwardRoutes(node, auth, {
    maxCommandBytes: maxCommandBytes(limits),
    validate: decodeCommand,
  });
}

/** The commands of a batch; a body that is not an array of acceptable commands is refused whole. */
function parseBatch(body: Uint8Array, options: ForwardRoutesOptions): Uint8Array[] {
  let commands: unknown;
  try {
    commands = decoder.decode(body);
  } catch {
    commands = undefined;
  }
  if (!Array.isArray(commands) || commands.length === 0) {
    throw new ApiError('BadRequest', 'the forwarded body is not a batch of commands');
  }
  return commands.map((data: unknown, i) => {
    if (!(data instanceof Uint8Array) || data.byteLength > options.maxCommandBytes) {
      throw new ApiError('BadRequest', `forwarded command ${i} is not a command the state machine accepts`);
    }
    // A plain view: the decoder may hand out Buffers (Node, Deno), which the state machine
    // should not keep as values.
    const command = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    try {
      options.validate?.(command);
    } catch {
      throw new ApiError('BadRequest', `forwarded command ${i} is not a command the state machine accepts`);
    }
    return command;
  });
}

function errorCode(body: Uint8Array): string {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === 'string' ? parsed.error.code : 'unknown';
  } catch {
    return 'unknown';
  }
}
