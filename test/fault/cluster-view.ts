import type { SupervisedNode, Supervisor } from './supervisor.ts';

export interface NodeStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly members: readonly { readonly id: string; readonly role: 'voter' | 'learner' }[];
}

/** One node's /v1/status, or undefined when it does not answer within `ms`. */
export async function statusOf(node: SupervisedNode, ms = 1000): Promise<NodeStatus | undefined> {
  try {
    const response = await fetch(`${node.process.url}/v1/status`, { signal: AbortSignal.timeout(ms) });
    return response.ok ? ((await response.json()) as NodeStatus) : undefined;
  } catch {
    return undefined;
  }
}

/** The node that says it leads in the highest term, among those running and not paused. */
export async function currentLeader(supervisor: Supervisor): Promise<SupervisedNode | undefined> {
  const candidates = supervisor.live().filter((node) => node.process.running && !node.paused);
  const statuses = await Promise.all(candidates.map((node) => statusOf(node)));
  let best: { node: SupervisedNode; term: number } | undefined;
  for (const [i, status] of statuses.entries()) {
    if (status?.role === 'leader' && (best === undefined || status.term > best.term))
      best = { node: candidates[i]!, term: status.term };
  }
  return best?.node;
}

/** POSTs or DELETEs an admin request to the leader, retrying while there is none or it is busy. */
export async function adminRequest(
  supervisor: Supervisor,
  method: 'POST' | 'DELETE',
  path: string,
  body: unknown,
  ms: number,
): Promise<{ ok: boolean; detail: string }> {
  const deadline = performance.now() + ms;
  let detail = 'no leader';
  while (performance.now() < deadline) {
    const leader = await currentLeader(supervisor);
    if (leader !== undefined) {
      try {
        const response = await fetch(`${leader.process.url}${path}`, {
          method,
          ...(body === undefined
            ? {}
            : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
          signal: AbortSignal.timeout(5000),
        });
        detail = `${response.status} ${await response.text()}`;
        if (response.ok) return { ok: true, detail };
        if (response.status !== 503 && response.status !== 409) return { ok: false, detail };
      } catch (error) {
        detail = String(error);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { ok: false, detail };
}
