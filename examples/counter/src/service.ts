import { serve } from '@hono/node-server';
import { nodeId } from '@raftkit/core';
import { isRaftNodeError, RaftNode } from '@raftkit/node';
import { openFsStorage } from '@raftkit/storage-fs';
import { HttpTransport } from '@raftkit/transport-http';
import { Hono } from 'hono';
import { Counter } from './counter.ts';

export interface CounterNodeOptions {
  readonly id: string;
  /** Every member of the cluster, this one included: id → base URL. */
  readonly members: Readonly<Record<string, string>>;
  /** Where this node keeps its log and snapshots; reopening it resumes the node. */
  readonly dir: string;
  /** Shared by every member (at least 16 bytes): every peer message is HMAC-signed with it. */
  readonly secret: string;
}

export interface CounterNode {
  readonly raft: RaftNode;
  readonly counter: Counter;
  /** Stops Raft (fsyncing what it holds), then the HTTP server. */
  stop(): Promise<void>;
}

/**
 * Starts one member of a counter cluster, serving on the port of its own URL in `members`:
 * Raft's peer traffic (forwarded proposals among it) and the counter's client API
 * (`POST /counter?by=n`, `GET /counter`) all share that one port.
 */
export async function startCounterNode(options: CounterNodeOptions): Promise<CounterNode> {
  const id = nodeId(options.id);
  const counter = new Counter();
  // Durable storage: a write is acknowledged only after a majority has fsynced it.
  const storage = await openFsStorage({ dir: options.dir, identity: { clusterId: 'counter', nodeId: id } });
  // The transport is a Hono app serving the peer routes; it also sends to peers with fetch.
  const transport = new HttpTransport({ id, secret: options.secret });
  const raft: RaftNode = await RaftNode.start({
    id,
    storage,
    transport,
    stateMachine: counter,
    bootstrap: { members: options.members },
    tickMs: 20,
    // A follower hands its proposals to the leader with the Raft messages, so clients may talk
    // to any node; the leader drops one that `Counter.validate` refuses.
  });
  transport.app.route('/', counterRoutes(raft, counter));

  const port = Number(new URL(options.members[options.id]!).port);
  const server = serve({ fetch: transport.app.fetch, hostname: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve).once('error', reject);
  });
  return {
    raft,
    counter,
    async stop() {
      await raft.stop();
      await transport.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Peers' and clients' keep-alive connections would hold close() open.
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}

/** The client API: JSON in and out, errors as `{ error: code }`. */
function counterRoutes(raft: RaftNode, counter: Counter): Hono {
  return new Hono()
    .post('/counter', async (c) => {
      const by = Number(c.req.query('by') ?? '1');
      if (!Number.isSafeInteger(by)) return c.json({ error: 'BadRequest' }, 400);
      try {
        const { result } = await raft.propose(Counter.encode(by));
        return c.json({ value: result });
      } catch (error) {
        return failure(error);
      }
    })
    .get('/counter', async (c) => {
      try {
        // Linearizable: confirms with a majority that this node has seen every acknowledged write.
        await raft.read('linearizable');
        return c.json({ value: counter.value });
      } catch (error) {
        return failure(error);
      }
    });
}

// 503: the write did not happen, retry (another node, or later). 504: it may have happened, so
// a blind retry could count twice (the KV server's client sessions exist to make such retries safe).
function failure(error: unknown): Response {
  if (!isRaftNodeError(error)) throw error;
  const unknown = error.code === 'Timeout' || error.code === 'Stopped' || error.code === 'Fatal';
  return Response.json({ error: error.code }, { status: unknown ? 504 : 503 });
}
