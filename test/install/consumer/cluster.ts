// A 3-node cluster in one process from the published packages only: fs storage, the HTTP
// transport served by @hono/node-server on free loopback ports, and the Tally state machine.
// Prints one JSON line for the install test to check.
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { type NodeId, nodeId } from '@raftkit/core';
import { RaftNode } from '@raftkit/node';
import { openFsStorage } from '@raftkit/storage-fs';
import { HttpTransport } from '@raftkit/transport-http';
import { Tally } from './tally.ts';

const secret = 'install-test-cluster-secret';
const ids: NodeId[] = ['n1', 'n2', 'n3'].map((id) => nodeId(id));

/** Serves a fetch handler on 127.0.0.1, on a port the OS picks. */
function listen(fetch: (request: Request) => Response | Promise<Response>) {
  const server = createAdaptorServer({ fetch });
  return new Promise<{ url: string; close: () => Promise<void> }>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
  });
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const root = await mkdtemp(join(tmpdir(), 'raftkit-consumer-'));
const peers = await Promise.all(
  ids.map(async (id) => {
    const transport = new HttpTransport({ id, secret });
    return { id, transport, server: await listen((request) => transport.app.fetch(request)) };
  }),
);
const members = Object.fromEntries(peers.map((peer) => [peer.id, peer.server.url]));
const nodes = await Promise.all(
  peers.map(async (peer) => {
    const tally = new Tally();
    const storage = await openFsStorage({
      dir: join(root, peer.id),
      identity: { clusterId: 'install-test', nodeId: peer.id },
    });
    const node = await RaftNode.start({
      id: peer.id,
      storage,
      transport: peer.transport,
      stateMachine: tally,
      bootstrap: { members },
      tickMs: 20,
    });
    return { ...peer, tally, node };
  }),
);

try {
  const leader = await until('a leader', () => nodes.find((n) => n.node.status().role === 'leader'));
  const results: unknown[] = [];
  for (const name of ['apples', 'pears', 'apples', 'apples', 'pears']) {
    const { result } = await leader.node.propose(new TextEncoder().encode(name));
    results.push(result);
  }
  // A linearizable read on every node waits until it applied every write acknowledged above.
  const states: Record<string, Record<string, number>> = {};
  for (const n of nodes) {
    await n.node.read('linearizable');
    states[n.id] = Object.fromEntries(n.tally.counts);
  }
  console.log(JSON.stringify({ leader: leader.id, results, states }));
} finally {
  for (const n of nodes) await n.node.stop();
  for (const n of nodes) {
    await n.transport.close();
    await n.server.close();
  }
  await rm(root, { recursive: true, force: true });
}
