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

/** Where a leader takes proposals forwarded by its followers. Internal: peers only, HMAC-signed. */
export const FORWARD_PATH = '/internal/v1/propose';

/** The subset of `fetch` the forwarder calls; tests inject one. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/**
 * The driver's `forward` option: posts the proposal to the leader's server and returns what the
 * leader's state machine answered. Failures come back as the driver's errors, by what they mean
 * for the client: a refusal the leader gave before proposing (`NotLeader`, `Busy`) is safe to
 * retry; anything after the request may have reached the leader is `Timeout`, outcome unknown.
 */
export function createForwarder(options: {
  readonly id: NodeId;
  readonly auth: ForwardAuthenticator;
  readonly memberUrl: (id: NodeId) => string | undefined;
  readonly fetch?: FetchFunction;
}): (leader: NodeId, data: Uint8Array, signal: AbortSignal) => Promise<{ index: number; result: unknown }> {
  const send = options.fetch ?? ((input, init) => fetch(input, init));
  return async (leader, data, signal) => {
    const base = options.memberUrl(leader);
    if (base === undefined)
      throw new RaftNodeError('NotLeader', `no URL known for leader ${leader}`, { leader });
    const headers = {
      'content-type': 'application/octet-stream',
      ...(await options.auth.sign(options.id, data)),
    };
    let response: Response;
    try {
      response = await send(`${base.replace(/\/+$/, '')}${FORWARD_PATH}`, {
        method: 'POST',
        headers,
        body: data as Uint8Array<ArrayBuffer>,
        signal,
      });
    } catch (cause) {
      throw new RaftNodeError('Timeout', `forwarding to leader ${leader} failed: outcome unknown`, { cause });
    }
    const body = new Uint8Array(await response.arrayBuffer());
    if (response.ok) {
      const { index, result } = decoder.decode(body) as { index: number; result: unknown };
      return { index, result };
    }
    const code = errorCode(body);
    if (code === 'NoLeader') throw new RaftNodeError('NotLeader', `leader ${leader} refused: not the leader`);
    if (code === 'Busy') throw new RaftNodeError('Busy', `leader ${leader} is busy`);
    throw new RaftNodeError(
      'Timeout',
      `leader ${leader} answered ${response.status} (${code}): outcome unknown`,
    );
  };
}

/** What the leader's forward route accepts. */
export interface ForwardRoutesOptions {
  /** The largest forwarded command accepted; a bigger body is refused before it is read whole. */
  readonly maxCommandBytes: number;
  /**
   * Throws for a body the state machine would not accept, so the leader never proposes it (the
   * MAC proves who sent it, not that it is well formed). Default: every body is accepted.
   */
  readonly validate?: (data: Uint8Array) => unknown;
}

/**
 * The leader's side of `createForwarder`, for any state machine: checks the MAC and the command,
 * then proposes it as if it were local and answers with the state machine's result. Mount it
 * wherever the leader serves its peers (e.g. `transport.app.route('/', routes)`).
 */
export function createForwardRoutes(
  node: Pick<ServerNode, 'propose' | 'status'>,
  auth: ForwardAuthenticator,
  options: ForwardRoutesOptions,
): Hono {
  return new Hono().post(FORWARD_PATH, async (c) => {
    try {
      const data = await readBody(c.req.raw, options.maxCommandBytes, 'the forwarded command');
      const failure = await auth.verify(c.req.raw.headers, data);
      if (failure !== null) {
        throw new ApiError(
          failure === 'busy' ? 'Busy' : 'Unauthorized',
          `forwarded proposal refused: ${failure}`,
        );
      }
      try {
        options.validate?.(data);
      } catch {
        throw new ApiError('BadRequest', 'the forwarded body is not a command the state machine accepts');
      }
      // Only the leader proposes forwarded commands: a follower passing them on could bounce a
      // proposal between two nodes that each think the other leads.
      if (node.status().role !== 'leader') throw new ApiError('NoLeader', 'this node is not the leader');
      const { index, result } = await node.propose(data, { signal: c.req.raw.signal });
      return c.body(encoder.encode({ index, result }) as Uint8Array<ArrayBuffer>, 200, {
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

function errorCode(body: Uint8Array): string {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === 'string' ? parsed.error.code : 'unknown';
  } catch {
    return 'unknown';
  }
}
