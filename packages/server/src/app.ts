import type { TransportMetrics } from '@raftkit/transport-http';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { ApiError, errorResponse, toApiError } from './api-error.ts';
import type { BackupJobs } from './backup-jobs.ts';
import { bearerAuth } from './client-auth.ts';
import type { KvStateMachine } from './kv/kv-state-machine.ts';
import { LeaderHistory } from './leader-history.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { HttpMetrics } from './metrics/http-metrics.ts';
import type { LoopLagProbe } from './metrics/loop-lag.ts';
import { nodeMetrics } from './metrics/node-metrics.ts';
import { openApiDocument } from './openapi.ts';
import { backupRoutes } from './routes/backup.ts';
import { clusterRoutes } from './routes/cluster.ts';
import { clusterViewRoutes } from './routes/cluster-view.ts';
import { kvRoutes } from './routes/kv.ts';
import { probeRoutes } from './routes/probes.ts';
import {
  ACKED_HEADER,
  DUPLICATE_HEADER,
  SEQUENCE_HEADER,
  SESSION_HEADER,
  sessionRoutes,
} from './routes/sessions.ts';
import type { ServerNode } from './server-node.ts';
import { nodeStats } from './stats.ts';
import { uiRoutes } from './ui/ui-routes.ts';

/**
 * What `createServerApp` needs: the running driver and its KV state machine, plus what the wiring
 * decides (peer and forward routes, the client token, limits, CORS origins), passed in rather than
 * read from the environment, so one app serves every runtime.
 */
export interface ServerAppOptions {
  /** The driver (`RaftNode`), already started, applying to `kv`. */
  readonly node: ServerNode;
  /** The state machine `node` applies to: reads are served from it. */
  readonly kv: KvStateMachine;
  /** Peer routes (the transport's Hono app), mounted at the root; they authenticate themselves. */
  readonly peerRoutes?: Hono;
  /**
   * When set, the API (`/v1/*`, `/openapi.json`) requires `Authorization: Bearer <token>`; the
   * probes, `/metrics` and the dashboard's page stay open (the page asks for the token).
   */
  readonly clientToken?: string;
  readonly limits?: Partial<Limits>;
  /**
   * Browser origins allowed to call the client API from another origin (CORS), e.g. a web app
   * using `@raftkit/client`. Default: none (same-origin only).
   */
  readonly corsOrigins?: readonly string[];
  /** The peer transport's counters, for `/metrics`. */
  readonly transportMetrics?: () => TransportMetrics;
  /** The event loop's lag, for `/metrics`; whoever runs the node starts and stops it. */
  readonly loopLag?: LoopLagProbe;
  /** Serves the backup routes (`/v1/backup`, `/v1/backups`). */
  readonly backups?: BackupJobs;
}

/**
 * The whole HTTP surface of a node as one fetch handler (`app.fetch`), whatever serves it:
 * `node:http`, `Bun.serve`, `Deno.serve`, or `app.request()` in tests.
 */
export function createServerApp(options: ServerAppOptions): Hono {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { node } = options;
  const app = new Hono();
  const http = new HttpMetrics();
  const leaders = new LeaderHistory(node);
  const metrics = nodeMetrics({
    node,
    leaders,
    http,
    transport: options.transportMetrics,
    loopLag: options.loopLag,
  });
  app.use('*', http.middleware);
  app.onError((error) => errorResponse(toApiError(error)));
  app.notFound(() => errorResponse(new ApiError('NotFound', 'no such route')));

  if (options.peerRoutes !== undefined) app.route('/', options.peerRoutes);

  if (options.corsOrigins !== undefined && options.corsOrigins.length > 0) {
    // Before the token check: a preflight request carries no credentials.
    app.use(
      '/v1/*',
      cors({
        origin: [...options.corsOrigins],
        allowMethods: ['GET', 'PUT', 'POST', 'DELETE'],
        allowHeaders: ['authorization', 'content-type', SESSION_HEADER, SEQUENCE_HEADER, ACKED_HEADER],
        exposeHeaders: [DUPLICATE_HEADER, 'retry-after'],
        maxAge: 600,
      }),
    );
  }
  if (options.clientToken !== undefined) {
    const auth = bearerAuth(options.clientToken);
    for (const path of ['/v1/*', '/openapi.json']) app.use(path, auth);
  }
  app.route('/v1/kv', kvRoutes(node, options.kv, limits));
  app.route('/v1/sessions', sessionRoutes(node));
  app.route('/v1', clusterRoutes(node, limits));
  if (options.backups !== undefined) app.route('/v1', backupRoutes(options.backups));
  const stats = () => nodeStats(node, leaders, http);
  app.route('/v1', clusterViewRoutes({ stats, clientToken: options.clientToken }));
  app.route('/', probeRoutes(node, metrics));
  app.route('/ui', uiRoutes());
  app.get('/openapi.json', (c) => c.json(openApiDocument));
  return app;
}
