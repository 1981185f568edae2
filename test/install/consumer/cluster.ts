// A 3-node cluster in one process from the published packages only: fs storage, the HTTP
// transport served by @hono/node-server on loopback, followers forwarding proposals to the leader
// with the Raft messages, and the Tally state machine below. Prints one JSON line.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { type Entry, type NodeId, nodeId } from '@raftkit/core';
import { RaftNode, type StateMachine } from '@raftkit/node';
import { openFsStorage } from '@raftkit/storage-fs';
import { HttpTransport } from '@raftkit/transport-http';

/** A custom state machine: each entry is a UTF-8 name whose count goes up by one. */
class Tally implements StateMachine {
  readonly counts = new Map<string, number>();

  apply(entry: Entry): number {
    const name = new TextDecoder().decode(entry.data);
    const count = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, count);
    return count;
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.counts]));
  }

  restore(data: Uint8Array): void {
    this.counts.clear();
    if (data.length === 0) return;
    for (const [name, count] of JSON.parse(new TextDecoder().decode(data)) as [string, number][]) {
      this.counts.set(name, count);
    }
  }
}

const secret = 'install-test-cluster-secret';
const ids: NodeId[] = ['n1', 'n2', 'n3'].map((id) => nodeId(id));

/** A loopback port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Serves a fetch handler on 127.0.0.1:port. */
function listen(port: number, fetch: (request: Request) => Response | Promise<Response>) {
  const server = createAdaptorServer({ fetch });
  return new Promise<() => Promise<void>>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve(
        () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      ),
    );
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
const ports = await Promise.all(ids.map(() => freePort()));
const members = Object.fromEntries(ids.map((id, i) => [id, `http://127.0.0.1:${ports[i]}`]));
const nodes = await Promise.all(
  ids.map(async (id, i) => {
    const tally = new Tally();
    const transport = new HttpTransport({ id, secret });
    const storage = await openFsStorage({
      dir: join(root, id),
      identity: { clusterId: 'install-test', nodeId: id },
    });
    const node: RaftNode = await RaftNode.start({
      id,
      storage,
      transport,
      stateMachine: tally,
      bootstrap: { members },
      tickMs: 20,
    });
    const close = await listen(ports[i]!, (request) => transport.app.fetch(request));
    return { id, transport, close, tally, node };
  }),
);

try {
  const leader = await until('a leader', () => nodes.find((n) => n.node.status().role === 'leader'));
  await until('every node to know the leader', () =>
    nodes.every((n) => n.node.status().leader === leader.id) ? true : undefined,
  );
  // Round robin over all three nodes: two of every three proposals go through a follower.
  const results: unknown[] = [];
  for (const [i, name] of ['apples', 'pears', 'apples', 'apples', 'pears'].entries()) {
    const { result } = await nodes[i % nodes.length]!.node.propose(new TextEncoder().encode(name));
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
    await n.close();
  }
  await rm(root, { recursive: true, force: true });
}
