import type { MemberStatus, NodeStatus } from '@raftkit/node';
import { Hono } from 'hono';
import type { NodeStats } from '../stats.ts';

export type MemberHealth = 'ok' | 'unreachable' | 'no-leader' | 'applying' | 'stopping';

export interface ClusterMember {
  readonly id: string;
  readonly url: string | null;
  readonly role: MemberStatus['role'];
  readonly health: MemberHealth;
  /** Why the member could not be asked (unreachable only). */
  readonly error: string | null;
  readonly stats: NodeStats | null;
  /** From the leader's view, when a reachable leader has one. */
  readonly matchIndex: number | null;
  readonly lag: number | null;
  readonly lastContactMs: number | null;
}

export interface ClusterView {
  readonly at: number;
  /** The node that asked the others. */
  readonly via: string;
  readonly leader: string | null;
  readonly members: readonly ClusterMember[];
}

export interface ClusterViewOptions {
  readonly stats: () => NodeStats;
  /** Sent to the other members when client routes need it. */
  readonly clientToken?: string | undefined;
  readonly fetch?: typeof fetch;
  /** How long one member may take to answer before it counts as unreachable. */
  readonly timeoutMs?: number;
}

/**
 * `/v1/stats` (this node) and `/v1/cluster` (every member's stats, asked in parallel, with the
 * leader's view of each member's replication): what the dashboard and status tools poll.
 */
export function clusterViewRoutes(options: ClusterViewOptions): Hono {
  return new Hono()
    .get('/stats', (c) => c.json(options.stats()))
    .get('/cluster', async (c) => c.json(await clusterView(options)));
}

async function clusterView(options: ClusterViewOptions): Promise<ClusterView> {
  const own = options.stats();
  const { members } = own.status;
  const answers = await Promise.all(
    members.map(async (member): Promise<NodeStats | Error> => {
      if (member.id === own.status.id) return own;
      if (member.url === null) return new Error('no URL is known for this member');
      return askMember(member.url, options).catch((error: unknown) =>
        error instanceof Error ? error : new Error(String(error)),
      );
    }),
  );
  const reached = answers.filter((a): a is NodeStats => !(a instanceof Error));
  // The current leader's view; a deposed leader that has not heard of its successor has a lower term.
  const leader = reached
    .filter((s) => s.status.role === 'leader')
    .sort((a, b) => b.status.term - a.status.term)[0];
  const view = new Map(leader?.status.members.map((m) => [m.id as string, m]) ?? []);
  return {
    at: own.at,
    via: own.status.id,
    leader: leader?.status.id ?? own.status.leader,
    members: members.map((member, i): ClusterMember => {
      const answer = answers[i]!;
      const fromLeader = view.get(member.id);
      const stats = answer instanceof Error ? null : answer;
      return {
        id: member.id,
        url: member.url,
        role: member.role,
        health: stats === null ? 'unreachable' : health(stats.status),
        error: answer instanceof Error ? answer.message : null,
        stats,
        matchIndex: fromLeader?.matchIndex ?? null,
        lag: fromLeader?.lag ?? null,
        lastContactMs: fromLeader?.lastContactMs ?? null,
      };
    }),
  };
}

async function askMember(url: string, options: ClusterViewOptions): Promise<NodeStats> {
  const response = await (options.fetch ?? fetch)(new URL('/v1/stats', url), {
    headers: options.clientToken === undefined ? {} : { authorization: `Bearer ${options.clientToken}` },
    signal: AbortSignal.timeout(options.timeoutMs ?? 1000),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`answered ${response.status}`);
  }
  const body = (await response.json()) as NodeStats;
  if (typeof body !== 'object' || body === null || typeof body.status?.id !== 'string') {
    throw new Error('answered something other than node stats');
  }
  return body;
}

function health(status: NodeStatus): MemberHealth {
  if (status.state !== 'running') return 'stopping';
  if (status.leader === null) return 'no-leader';
  if (status.appliedIndex < status.commitIndex) return 'applying';
  return 'ok';
}
