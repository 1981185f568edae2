import type { TransportMetrics } from '@raftkit/transport-http';
import type { LeaderHistory } from '../leader-history.ts';
import type { ServerNode } from '../server-node.ts';
import { registerBuildInfo } from './build-info.ts';
import type { HttpMetrics } from './http-metrics.ts';
import type { LoopLagProbe } from './loop-lag.ts';
import { registerProcessMetrics } from './process-metrics.ts';
import { registerRaftMetrics } from './raft-metrics.ts';
import { MetricsRegistry } from './registry.ts';
import { registerTransportMetrics } from './transport-metrics.ts';

/** Every family a node serves at `/metrics`, in the order they render. */
export function nodeMetrics(options: {
  readonly node: ServerNode;
  readonly leaders: LeaderHistory;
  readonly http: HttpMetrics;
  readonly transport?: (() => TransportMetrics) | undefined;
  readonly loopLag?: LoopLagProbe | undefined;
}): MetricsRegistry {
  const registry = new MetricsRegistry();
  registerBuildInfo(registry);
  registerRaftMetrics(registry, options.node, () => options.leaders.changes);
  options.http.register(registry);
  if (options.transport !== undefined) registerTransportMetrics(registry, options.transport);
  options.loopLag?.register(registry);
  registerProcessMetrics(registry);
  return registry;
}
