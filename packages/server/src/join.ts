import { RaftkitClient, RaftkitError } from '@raftkit/client';
import type { Logger } from '@raftkit/core';
import type { ServeConfig } from './config.ts';
import type { ServerNode } from './server-node.ts';

/**
 * `--join URL`: asks a running member to add this node as a learner, unless the cluster already
 * lists it (a restart with the same flags). A learner does not count toward quorum, so adding it
 * before it is up cannot stall the cluster. Returns the members' URLs: a joining node learns them
 * from the log only once it has received the log, and must answer the leader before that.
 */
export async function joinCluster(config: ServeConfig, log: Logger): Promise<ReadonlyMap<string, string>> {
  const client = clientOf(config.join!, config);
  const status = await client.status();
  const urls = new Map(
    status.members.flatMap((member) =>
      member.url === null || member.id === config.id ? [] : [[member.id, member.url]],
    ),
  );
  if (status.members.some((member) => member.id === config.id)) {
    log.info('already a member', { id: config.id, cluster: config.join });
    return urls;
  }
  await client.addMember(config.id, config.advertiseUrl, 'learner');
  log.info('added as a learner', { id: config.id, through: config.join });
  return urls;
}

/**
 * Promotes this learner once it has caught up: a voter that starts far behind would slow every
 * commit while it catches up. The leader judges "caught up" (it refuses the promotion with
 * `LearnerCatchingUp` until then), so this retries until it is accepted.
 */
export async function promoteWhenCaughtUp(config: ServeConfig, node: ServerNode, log: Logger): Promise<void> {
  // Through this node's own API, which passes it on to the leader: the member joined through
  // may be gone by now.
  const client = clientOf(config.advertiseUrl, config);
  for (;;) {
    const status = node.status();
    if (status.state !== 'running') return;
    if (status.members.find((member) => member.id === config.id)?.role === 'voter') break;
    if (status.leader !== null && status.appliedIndex > 0) {
      try {
        await client.promote(config.id);
        break;
      } catch (error) {
        const retry = error instanceof RaftkitError && RETRY_PROMOTION.has(error.code);
        if (!retry) throw error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  log.info('promoted to voter', { id: config.id });
}

/** Refusals that clear on their own: not caught up yet, another change in flight, no leader. */
const RETRY_PROMOTION = new Set(['LearnerCatchingUp', 'ConfigChangeInProgress', 'NoLeader', 'Busy']);

/** One member's API, retried by the client's rules (a 503 while the cluster elects a leader). */
const clientOf = (url: string, config: ServeConfig): RaftkitClient =>
  new RaftkitClient({
    endpoints: [url],
    ...(config.clientToken === null ? {} : { token: config.clientToken }),
  });
