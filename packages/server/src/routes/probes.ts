import { Hono } from 'hono';
import { ApiError } from '../api-error.ts';
import type { MetricsRegistry } from '../metrics/registry.ts';
import type { ServerNode } from '../server-node.ts';

/**
 * `/health`, `/ready`, `/metrics`: for load balancers, orchestrators and Prometheus. They stay
 * open when a client token is set (as etcd's and Consul's do), so probes and scrapers need no
 * secret; they reveal no keys or values.
 */
export function probeRoutes(node: ServerNode, metrics: MetricsRegistry): Hono {
  return new Hono()
    .get('/health', (c) => c.json({ ok: true }))
    .get('/ready', (c) => {
      const { leader, commitIndex, appliedIndex } = node.status();
      if (leader === null) throw new ApiError('NoLeader', 'no leader is known');
      if (appliedIndex < commitIndex) {
        throw new ApiError('Busy', `applied ${appliedIndex} of ${commitIndex} committed entries`);
      }
      return c.json({ ok: true, leader, appliedIndex });
    })
    .get('/metrics', (c) =>
      c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
    );
}
