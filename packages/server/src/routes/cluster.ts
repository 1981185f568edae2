import { type NodeId, nodeId } from '@raftkit/core';
import { Hono, type MiddlewareHandler } from 'hono';
import { ApiError } from '../api-error.ts';
import { readBody, readJsonObject } from '../body.ts';
import type { Limits } from '../limits.ts';
import type { MemberRole, ServerNode } from '../server-node.ts';

/** Marks an admin request one node passed on to the leader; it is never passed on again. */
export const FORWARDED_BY_HEADER = 'x-raftkit-forwarded-by';

/** How long a follower waits for the leader's answer to an admin request it passed on. */
const ADMIN_FORWARD_TIMEOUT_MS = 15_000;

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** `/v1/status`, `/v1/members`, `/v1/leader`: the cluster's shape, changed through Raft. */
export function clusterRoutes(
  node: ServerNode,
  limits: Limits,
  send: FetchFunction = (input, init) => fetch(input, init),
): Hono {
  const members = () => ({ members: node.status().members });
  const leaderOnly = viaLeader(node, limits, send);
  return new Hono()
    .get('/status', (c) => c.json(node.status()))
    .use('/members', leaderOnly)
    .use('/members/*', leaderOnly)
    .use('/leader/transfer', leaderOnly)
    .post('/members', async (c) => {
      const body = await readJsonObject(c.req.raw, limits.maxJsonBytes);
      const id = memberId(body.id);
      const url = memberUrl(body.url);
      const role = body.role ?? 'voter';
      if (role !== 'voter' && role !== 'learner')
        throw new ApiError('BadRequest', 'role must be "voter" or "learner"');
      await node.addMember(id, url, role as MemberRole);
      return c.json(members());
    })
    .delete('/members/:id', async (c) => {
      await node.removeMember(knownMember(node, c.req.param('id')));
      return c.json(members());
    })
    .post('/members/:id/promote', async (c) => {
      await node.promote(knownMember(node, c.req.param('id')));
      return c.json(members());
    })
    .post('/leader/transfer', async (c) => {
      const body = await readJsonObject(c.req.raw, limits.maxJsonBytes);
      const to = knownMember(node, memberId(body.to));
      await node.transferLeadership(to);
      return c.json({ leader: node.status().leader });
    });
}

/**
 * Membership changes and transfers go through the leader's core. On a follower the client's
 * request is passed on to the leader, with the client's own credentials, and the leader's answer
 * returned, as writes are forwarded: retrying on the follower would never succeed. A request
 * passed on once is refused rather than passed on again, so two nodes that each believe the other
 * leads cannot bounce it; with no leader known it is a real 503.
 */
function viaLeader(node: ServerNode, limits: Limits, send: FetchFunction): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'GET') return next();
    const status = node.status();
    if (status.role === 'leader') return next();
    const { leader, leaderUrl: url } = status;
    if (leader === null || url === null) throw new ApiError('NoLeader', 'no leader is known; retry shortly');
    if (c.req.header(FORWARDED_BY_HEADER) !== undefined) {
      throw new ApiError(
        'NoLeader',
        `${status.id} is not the leader either (${leader} is, as far as it knows)`,
        {
          leader,
        },
      );
    }
    const request = c.req.raw;
    const body =
      request.method === 'POST' ? await readBody(request, limits.maxJsonBytes, 'the request') : null;
    const headers: Record<string, string> = { [FORWARDED_BY_HEADER]: status.id };
    for (const name of ['authorization', 'content-type']) {
      const value = request.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const target = new URL(request.url);
    let answer: Response;
    try {
      answer = await send(`${url.replace(/\/+$/, '')}${target.pathname}${target.search}`, {
        method: request.method,
        headers,
        ...(body === null ? {} : { body: body as Uint8Array<ArrayBuffer> }),
        signal: AbortSignal.any([request.signal, AbortSignal.timeout(ADMIN_FORWARD_TIMEOUT_MS)]),
      });
    } catch (cause) {
      // It may have reached the leader before the connection failed: the change may be made.
      throw new ApiError('Timeout', `passing the request on to leader ${leader} failed: outcome unknown`, {
        leader,
        cause: String(cause),
      });
    }
    const passed = new Headers();
    for (const name of ['content-type', 'retry-after', 'www-authenticate']) {
      const value = answer.headers.get(name);
      if (value !== null) passed.set(name, value);
    }
    return new Response(answer.body, { status: answer.status, headers: passed });
  };
}

function memberId(value: unknown): NodeId {
  if (typeof value !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(value)) {
    throw new ApiError('BadRequest', 'id must be 1 to 64 characters of letters, digits, ".", "_" or "-"');
  }
  return nodeId(value);
}

function memberUrl(value: unknown): string {
  if (typeof value === 'string' && URL.canParse(value)) {
    const { protocol } = new URL(value);
    if (protocol === 'http:' || protocol === 'https:') return value;
  }
  throw new ApiError('BadRequest', 'url must be an absolute http or https URL');
}

function knownMember(node: ServerNode, id: string): NodeId {
  if (!node.status().members.some((member) => member.id === id)) {
    throw new ApiError('NotFound', `no member ${JSON.stringify(id)}`);
  }
  return nodeId(id);
}
