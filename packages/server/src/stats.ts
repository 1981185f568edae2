import type { LeaderChange, LeaderHistory } from './leader-history.ts';
import { runtimeInfo } from './metrics/build-info.ts';
import type { HttpMetrics } from './metrics/http-metrics.ts';
import type { NodeStatus, ServerNode } from './server-node.ts';
import { VERSION } from './version.ts';

/** The client API's write routes (see routes/kv.ts): what the dashboard's write rate counts. */
const isWrite = (method: string, route: string, code: string) =>
  code.startsWith('2') &&
  ((route === '/v1/kv/:key' && (method === 'PUT' || method === 'DELETE')) ||
    (route === '/v1/kv/:key/cas' && method === 'POST'));

/** One node's own figures: its status plus the counters the dashboard charts. */
export interface NodeStats {
  /** Wall-clock milliseconds since the epoch when these were taken, so rates can be computed. */
  readonly at: number;
  readonly version: string;
  readonly runtime: string;
  readonly status: NodeStatus;
  /** Client writes (PUT, DELETE, CAS) this node answered with 2xx, and the seconds they took in all. */
  readonly writes: { readonly count: number; readonly seconds: number };
  readonly leaderChanges: { readonly total: number; readonly recent: readonly LeaderChange[] };
}

export function nodeStats(node: ServerNode, leaders: LeaderHistory, http: HttpMetrics): NodeStats {
  const { runtime, version } = runtimeInfo();
  return {
    at: Date.now(),
    version: VERSION,
    runtime: `${runtime} ${version}`,
    status: node.status(),
    writes: http.total(isWrite),
    leaderChanges: { total: leaders.changes, recent: leaders.recent() },
  };
}
