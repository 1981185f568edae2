import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { errorResponse, toApiError } from '../src/api-error.ts';
import { DEFAULT_LIMITS } from '../src/limits.ts';
import { clusterRoutes, FORWARDED_BY_HEADER } from '../src/routes/cluster.ts';
import type { NodeStatus, ServerNode } from '../src/server-node.ts';

/** A follower that knows `leader` at `http://leader.test`; its admin calls must never run here. */
function follower(leader: string | null): ServerNode {
  const status = {
    id: 'n2',
    role: 'follower',
    term: 3,
    leader,
    leaderUrl: leader === null ? null : 'http://leader.test',
    commitIndex: 5,
    appliedIndex: 5,
    snapshotIndex: 0,
    members: [],
    leadTransferee: null,
    state: 'running',
  } as unknown as NodeStatus;
  const never = () => Promise.reject(new Error('a follower must not change membership itself'));
  return {
    status: () => status,
    addMember: never,
    removeMember: never,
    promote: never,
    transferLeadership: never,
  } as unknown as ServerNode;
}

function app(node: ServerNode, send: (url: string, init: RequestInit) => Promise<Response>): Hono {
  const root = new Hono();
  root.onError((error) => errorResponse(toApiError(error)));
  root.route('/v1', clusterRoutes(node, DEFAULT_LIMITS, send));
  return root;
}

describe('admin calls on a follower', () => {
  it('are passed on to the leader with the client credentials, and its answer returned', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const send = async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      return new Response(JSON.stringify({ leader: 'n3' }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    };
    const response = await app(follower('n1'), send).request('/v1/leader/transfer?x=1', {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'n3' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ leader: 'n3' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('http://leader.test/v1/leader/transfer?x=1');
    const headers = seen[0]!.init.headers as Record<string, string>;
    expect(headers).toMatchObject({ authorization: 'Bearer t', [FORWARDED_BY_HEADER]: 'n2' });
    expect(new TextDecoder().decode(seen[0]!.init.body as Uint8Array)).toBe('{"to":"n3"}');
  });

  it('answer 503 with no leader known, and never pass on a request passed on once', async () => {
    const send = () => Promise.reject(new Error('must not be called'));
    const noLeader = await app(follower(null), send).request('/v1/members/n1', { method: 'DELETE' });
    expect(noLeader.status).toBe(503);
    const bounced = await app(follower('n1'), send).request('/v1/members/n1/promote', {
      method: 'POST',
      headers: { [FORWARDED_BY_HEADER]: 'n3' },
    });
    expect(bounced.status).toBe(503);
    expect(((await bounced.json()) as { error: { code: string } }).error.code).toBe('NoLeader');
  });

  it('answer 504 (outcome unknown) when the leader cannot be reached after sending', async () => {
    const send = () => Promise.reject(new TypeError('connection reset'));
    const response = await app(follower('n1'), send).request('/v1/members', {
      method: 'POST',
      body: JSON.stringify({ id: 'n9', url: 'http://n9.test' }),
    });
    expect(response.status).toBe(504);
  });
});
