import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { type Logger, nodeId, type Storage } from '@raftkit/core';
import { RaftNode } from '@raftkit/node';
import {
  type FsOps,
  failIoOnDemand,
  nodeFsOps,
  openFsStorage,
  recordDurableImage,
} from '@raftkit/storage-fs';
import { openSqliteStorage } from '@raftkit/storage-sqlite';
import { type FetchFunction, HttpTransport } from '@raftkit/transport-http';
import { createServerApp } from './app.ts';
import { BackupJobs } from './backup-jobs.ts';
import type { ServeConfig } from './config.ts';
import { joinCluster, promoteWhenCaughtUp } from './join.ts';
import { KvStateMachine } from './kv/kv-state-machine.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { LoopLagProbe } from './metrics/loop-lag.ts';

/** What a runtime adapter gets: a fetch handler to serve on `hostname:port`, with TLS when given. */
export interface ListenOptions {
  /** The app to serve: one request in, one response out. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  readonly hostname: string;
  readonly port: number;
  readonly tls: { readonly cert: string; readonly key: string } | null;
}

/** A server a runtime adapter started. */
export interface Listener {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections and resolves once the server is closed. */
  close(): Promise<void>;
}

/** A runtime's HTTP server: `node:http`, `Bun.serve` or `Deno.serve`. */
export type Listen = (options: ListenOptions) => Promise<Listener>;

/** What a runtime adapter brings: its server, and the client for requests to peers if not `fetch`. */
export interface ServerRuntime {
  readonly listen: Listen;
  /** Raft messages and forwarded proposals go through it; default the global `fetch`. */
  readonly peerFetch?: FetchFunction;
}

/** A started `raftkit serve` node: the driver, the URL it serves on, and how to stop it. */
export interface RunningServer {
  readonly node: RaftNode;
  readonly url: string;
  /** Resolves when the node stops on its own after a fatal error. */
  readonly fatal: Promise<Error>;
  /** Closes the listener, then stops the node (pending requests reject, storage closes) and transport; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts one node: opens its storage, the peer transport and the driver, then serves the app with
 * the runtime's `listen`. With `--join`, the node is added through a running member as a learner
 * first (so the cluster keeps its quorum while the newcomer catches up), then promoted.
 */
export async function startServer(
  config: ServeConfig,
  runtime: ServerRuntime,
  log: Logger,
): Promise<RunningServer> {
  const peerFetch = runtime.peerFetch === undefined ? {} : { fetch: runtime.peerFetch };
  const id = nodeId(config.id);
  const tls =
    config.tls === null
      ? null
      : {
          cert: await readFile(config.tls.certFile, 'utf8'),
          key: await readFile(config.tls.keyFile, 'utf8'),
        };
  const storage = await openStorage(config, log);
  // `--join` matters on a first start only: a node whose data directory holds the log already
  // belongs to the cluster, and must restart even when the member it joined through is gone.
  const joining = config.join !== null && storage.lastIndex() === 0 && storage.snapshotMeta() === null;
  let knownPeers: ReadonlyMap<string, string> = new Map();
  if (joining) {
    try {
      knownPeers = await joinCluster(config, log);
    } catch (error) {
      await storage.close();
      throw error;
    }
  } else if (config.join !== null) {
    log.info('restarting a member: --join ignored', { id: config.id, join: config.join });
  }
  const transport = new HttpTransport({
    id,
    secret: config.secret,
    logger: log,
    ...peerFetch,
    ...(config.maxBodyBytes === null
      ? {}
      : // Snapshot chunks must leave the transport's framing room (64 KiB) inside the body limit.
        {
          maxBodyBytes: config.maxBodyBytes,
          snapshotChunkBytes: Math.min(1024 * 1024, Math.floor(config.maxBodyBytes / 2)),
        }),
  });
  const kv = new KvStateMachine();
  let node: RaftNode | undefined;
  try {
    node = await RaftNode.start({
      id,
      storage,
      transport,
      stateMachine: kv,
      bootstrap: config.join === null ? { members: config.members } : 'join',
      tickMs: config.tickMs,
      ...(config.snapshotEntries === null ? {} : { snapshotEvery: { entries: config.snapshotEntries } }),
      logger: log,
    });
  } catch (error) {
    await transport.close();
    await storage.close();
    throw error;
  }
  const started = node;
  let leader = started.status().leader;
  started.on('leader', (change) => {
    if (change.leader === null) log.info('leader lost', { was: leader, term: change.term });
    else log.info('leader changed', { from: leader, to: change.leader, term: change.term });
    leader = change.leader;
  });
  started.on('fatal', ({ error }) => log.error('node stopped on a fatal error', { error: error.message }));
  // Until the log tells it who the members are, a joining node could not answer the leader.
  for (const [peer, url] of knownPeers)
    if (started.memberUrl(nodeId(peer)) === undefined) transport.setPeer(nodeId(peer), url);
  const backups = new BackupJobs({
    storage,
    snapshotNow: () => started.snapshotNow(),
    stateMachine: kv,
    dir: config.backupDir,
    logger: log,
    ...(config.backupSchedule === null ? {} : { schedule: config.backupSchedule }),
  });
  const loopLag = new LoopLagProbe();
  const app = createServerApp({
    node: started,
    kv,
    peerRoutes: transport.app,
    ...(config.clientToken === null ? {} : { clientToken: config.clientToken }),
    corsOrigins: config.corsOrigins,
    limits: { maxValueBytes: valueLimit(config) },
    transportMetrics: () => transport.metrics(),
    loopLag,
    // Beside the data directory, never inside it: a store owns its directory's contents.
    backups,
  });
  let listener: Listener;
  try {
    listener = await runtime.listen({ fetch: app.fetch, hostname: config.hostname, port: config.port, tls });
  } catch (error) {
    await backups.close();
    await started.stop();
    await transport.close();
    throw error;
  }
  loopLag.start();
  const fatal = new Promise<Error>((resolve) => started.on('fatal', ({ error }) => resolve(error)));
  if (config.join !== null && config.joinRole === 'voter') {
    promoteWhenCaughtUp(config, started, log).catch((error: unknown) =>
      log.error('promotion to voter failed', { error: String(error) }),
    );
  }
  let stopping: Promise<void> | undefined;
  return {
    node: started,
    url: config.advertiseUrl,
    fatal,
    stop: () => {
      stopping ??= (async () => {
        // No new requests from here on. A listener that waits for the requests in flight (Deno's
        // does) would wait forever on the message streams this node serves its peers: those end
        // with the transport below, so the close is awaited last.
        const closed = listener.close();
        loopLag.stop();
        try {
          // A running job reads the store: it finishes (or fails) before the store closes.
          await backups.close();
          await started.stop();
          await transport.close();
        } finally {
          await closed;
        }
      })();
      return stopping;
    },
  };
}

/**
 * A value travels in one log entry, which must fit in one peer request: under a lowered body
 * limit the default value limit shrinks with it, leaving room for the entry's framing.
 */
function valueLimit(config: ServeConfig): number {
  if (config.maxValueBytes !== null) return config.maxValueBytes;
  const fallback = DEFAULT_LIMITS.maxValueBytes;
  return config.maxBodyBytes === null ? fallback : Math.min(fallback, Math.floor(config.maxBodyBytes / 4));
}

/**
 * Fault tests only, each off unless its variable is set; slow, never for production.
 * - `RAFTKIT_TEST_DURABLE_IMAGE=<dir>` keeps the durable image of the data directory there (see
 *   `recordDurableImage`), so a test can kill the node and roll its files back to what a power
 *   loss would leave.
 * - `RAFTKIT_TEST_IO_FAULT=<file>`: while that file exists, every write and sync fails with EIO
 *   (see `failIoOnDemand`), so a test can break the disk under a running node and heal it. It
 *   wraps the image recorder: a sync it fails has already run, as a real failed fsync may have.
 */
function fsTestModes(dataDir: string, logger: Logger): { fs?: FsOps } {
  const imageDir = process.env.RAFTKIT_TEST_DURABLE_IMAGE;
  const ioFaultFile = process.env.RAFTKIT_TEST_IO_FAULT;
  let fs: FsOps | undefined;
  if (imageDir !== undefined && imageDir !== '') {
    logger.warn('power-loss test mode: keeping the durable image of the data directory', { imageDir });
    fs = recordDurableImage(nodeFsOps, dataDir, imageDir);
  }
  if (ioFaultFile !== undefined && ioFaultFile !== '') {
    logger.warn('EIO test mode: writes and syncs fail while the control file exists', { ioFaultFile });
    fs = failIoOnDemand(fs ?? nodeFsOps, ioFaultFile);
  }
  return fs === undefined ? {} : { fs };
}

function openStorage(config: ServeConfig, logger: Logger): Promise<Storage> {
  const identity = { clusterId: config.clusterId, nodeId: nodeId(config.id) };
  return config.storage === 'sqlite'
    ? openSqliteStorage({ dir: config.dataDir, identity })
    : openFsStorage({ dir: config.dataDir, identity, logger, ...fsTestModes(config.dataDir, logger) });
}
