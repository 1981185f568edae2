import { apiJson } from './client.ts';
import type { ServeConfig } from './config.ts';
import type { NodeStatus, ServerNode } from './server-node.ts';

/**
 * `--join URL`: asks a running member to add this node as a learner, unless the cluster already
 * lists it (a restart with the same flags). A learner does not count toward quorum, so adding it
 * before it is up cannot stall the cluster.
 */
export async function joinCluster(config: ServeConfig, log: (line: string) => void): Promise<void> {
  const options = { token: config.clientToken };
  const status = await apiJson<NodeStatus>(config.join!, '/v1/status', {}, options);
  if (status.members.some((member) => member.id === config.id)) {
    log(`${config.id} is already a member of the cluster at ${config.join}`);
    return;
  }
  await apiJson(
    config.join!,
    '/v1/members',
    { method: 'POST', json: { id: config.id, url: config.advertiseUrl, role: 'learner' } },
    options,
  );
  log(`${config.id} added as a learner through ${config.join}`);
}

/**
 * Promotes this learner once it has applied what the leader had committed when it first heard
 * from it: a voter that starts far behind would slow every commit while it catches up.
 */
export async function promoteWhenCaughtUp(
  config: ServeConfig,
  node: ServerNode,
  log: (line: string) => void,
): Promise<void> {
  const options = { token: config.clientToken };
  const self = () => node.status().members.find((member) => member.id === config.id);
  let target: number | null = null;
  for (;;) {
    const status = node.status();
    if (self()?.role === 'voter') return;
    if (status.leader !== null) {
      target ??= (await apiJson<NodeStatus>(config.join!, '/v1/status', {}, options)).commitIndex;
      if (status.appliedIndex >= target) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await apiJson(
    config.join!,
    `/v1/members/${encodeURIComponent(config.id)}/promote`,
    { method: 'POST' },
    options,
  );
  log(`${config.id} promoted to voter`);
}
