import { type NodeId, nodeId } from '@raftkit/core';
import { Hono } from 'hono';
import { ApiError } from '../api-error.ts';
import { readJsonObject } from '../body.ts';
import type { Limits } from '../limits.ts';
import type { MemberRole, ServerNode } from '../server-node.ts';

/** `/v1/status`, `/v1/members`, `/v1/leader`: the cluster's shape, changed through Raft. */
export function clusterRoutes(node: ServerNode, limits: Limits): Hono {
  const members = () => ({ members: node.status().members });
  return new Hono()
    .get('/status', (c) => c.json(node.status()))
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
