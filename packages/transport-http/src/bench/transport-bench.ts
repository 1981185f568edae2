/**
 * Throughput of the HTTP transport over loopback, and the codec cost per message.
 *
 * Run: `npm run build && npm run bench -w packages/transport-http` (Node runs the built JS, Bun
 * the TypeScript). Each figure is the median of RUNS runs, with the range beside it.
 */
import { cpus } from 'node:os';
import type { AppendEntries, Entry, Message, NodeId } from '@raftkit/core';
import { index, nodeId, parseMessage, term } from '@raftkit/core';
import { encodeBatch } from '../batch.ts';
import { decodeCbor, encodeCbor } from '../codec.ts';
import { HttpTransport } from '../http-transport.ts';
import { runtimeName, serveLoopback } from '../loopback.ts';

const RUNS = 5;
const ENTRY_BYTES = 128;
const ENTRIES_PER_MESSAGE = 64;
const SECRET = 'benchmark-cluster-secret-0123456789';
const A = nodeId('bench-a');
const B = nodeId('bench-b');

function appendEntries(from: NodeId, to: NodeId, first: number): AppendEntries {
  const entries: Entry[] = Array.from({ length: ENTRIES_PER_MESSAGE }, (_, i) => ({
    index: index(first + i),
    term: term(1),
    type: 'normal',
    data: new Uint8Array(ENTRY_BYTES).fill(i),
  }));
  return {
    type: 'AppendEntries',
    from,
    to,
    term: term(1),
    prevLogIndex: index(first - 1),
    prevLogTerm: term(first === 1 ? 0 : 1),
    entries,
    leaderCommit: index(first - 1),
  };
}

interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

async function measure(run: () => Promise<number> | number): Promise<Figure> {
  await run(); // warm-up
  const values: number[] = [];
  for (let i = 0; i < RUNS; i++) values.push(await run());
  values.sort((x, y) => x - y);
  return { median: values[Math.floor(values.length / 2)]!, min: values[0]!, max: values.at(-1)! };
}

const format = (f: Figure, digits = 0) =>
  `${f.median.toFixed(digits)} (${f.min.toFixed(digits)}..${f.max.toFixed(digits)})`;

/** Nanoseconds per call of `op`, over `n` calls. */
function perCall(n: number, op: (i: number) => void): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) op(i);
  return ((performance.now() - start) * 1e6) / n;
}

async function codec(): Promise<void> {
  const message = appendEntries(A, B, 1);
  const encoded = encodeCbor(message).slice();
  const n = 2000;
  const encode = await measure(() => perCall(n, () => encodeCbor(message)));
  const decode = await measure(() => perCall(n, () => parseMessage(decodeCbor(encoded))));
  const queued = Array.from({ length: 16 }, () => ({ groupId: 'g1', encoded }));
  const frame = await measure(() => perCall(n / 10, () => encodeBatch(A, B, queued)) / queued.length);
  console.log(
    `AppendEntries of ${ENTRIES_PER_MESSAGE} x ${ENTRY_BYTES} B entries: ${encoded.length} B on the wire`,
  );
  console.log(
    `  encode            ${format(encode)} ns/message  (${(encode.median / ENTRIES_PER_MESSAGE).toFixed(0)} ns/entry)`,
  );
  console.log(
    `  decode + validate ${format(decode)} ns/message  (${(decode.median / ENTRIES_PER_MESSAGE).toFixed(0)} ns/entry)`,
  );
  console.log(`  batch framing     ${format(frame)} ns/message  (16 messages per body)`);
}

async function loopback(messagesPerRequest: number, requests: number): Promise<void> {
  const receiver = new HttpTransport({ id: B, secret: SECRET });
  let received = 0;
  receiver.register('g1', {
    receive: (ms: readonly Message[]) => {
      received += ms.length;
    },
    createSnapshot: () => Promise.reject(new Error('no snapshots in this benchmark')),
  });
  const server = await serveLoopback((request) => receiver.app.fetch(request));
  const sender = new HttpTransport({ id: A, secret: SECRET });
  sender.setPeer(B, server.url);
  const batch = Array.from({ length: messagesPerRequest }, (_, i) =>
    appendEntries(A, B, 1 + i * ENTRIES_PER_MESSAGE),
  );

  let wireBytes = 0;
  const run = async () => {
    const before = sender.metrics();
    const start = performance.now();
    for (let r = 0; r < requests; r++) {
      sender.send('g1', batch);
      await sender.flush();
    }
    const seconds = (performance.now() - start) / 1000;
    const after = sender.metrics();
    wireBytes = (after.bytesSent - before.bytesSent) / (after.batchesSent - before.batchesSent);
    return (messagesPerRequest * requests) / seconds;
  };
  const rate = await measure(run);
  const expected = (RUNS + 1) * requests * messagesPerRequest;
  if (received !== expected) throw new Error(`received ${received} of ${expected} messages`);
  const payloadMB = (rate.median * ENTRIES_PER_MESSAGE * ENTRY_BYTES) / 1e6;
  const wireMB = (rate.median / messagesPerRequest) * (wireBytes / 1e6);
  console.log(
    `${String(messagesPerRequest).padStart(3)} messages/request: ${format(rate)} messages/s, ` +
      `${(rate.median * ENTRIES_PER_MESSAGE).toFixed(0)} entries/s, ${payloadMB.toFixed(1)} MB/s payload, ` +
      `${wireMB.toFixed(1)} MB/s on the wire, ${server.connections()} connection(s) for ${(RUNS + 1) * requests} requests`,
  );
  await sender.close();
  await receiver.close();
  await server.close();
}

/**
 * One message there and its answer back, one at a time, over the streams each side opens to the
 * other: the latency one hop of replication adds to a write at one request in flight.
 */
async function roundTrip(trips: number): Promise<void> {
  const a = new HttpTransport({ id: A, secret: SECRET });
  const b = new HttpTransport({ id: B, secret: SECRET });
  let answered: (() => void) | null = null;
  a.register('g1', {
    receive: () => answered?.(),
    createSnapshot: () => Promise.reject(new Error('no snapshots in this benchmark')),
  });
  b.register('g1', {
    receive: (messages: readonly Message[]) => {
      const m = messages[0]!;
      const answer: Message = {
        type: 'AppendEntriesResponse',
        from: B,
        to: A,
        term: m.term,
        success: true,
        index: index(1),
        conflictIndex: index(0),
        conflictTerm: term(0),
      };
      b.send('g1', [answer]);
    },
    createSnapshot: () => Promise.reject(new Error('no snapshots in this benchmark')),
  });
  const serverA = await serveLoopback((request) => a.app.fetch(request));
  const serverB = await serveLoopback((request) => b.app.fetch(request));
  a.setPeer(B, serverB.url);
  b.setPeer(A, serverA.url);
  const message = appendEntries(A, B, 1);
  const trip = () =>
    new Promise<void>((resolve) => {
      answered = resolve;
      a.send('g1', [message]);
    });
  // The first trips go as requests while the streams open; measure once both carry frames.
  while (a.metrics().streamsServed === 0 || b.metrics().streamsServed === 0) await trip();
  const micros: number[] = [];
  for (let i = 0; i < trips; i++) {
    const start = performance.now();
    await trip();
    micros.push((performance.now() - start) * 1000);
  }
  micros.sort((x, y) => x - y);
  const at = (q: number) => micros[Math.min(micros.length - 1, Math.floor(q * micros.length))]!.toFixed(0);
  console.log(
    `${trips} round trips (AppendEntries of ${ENTRIES_PER_MESSAGE} entries, its response back): ` +
      `p50 ${at(0.5)} us, p90 ${at(0.9)} us, p99 ${at(0.99)} us`,
  );
  await Promise.all([a.close(), b.close()]);
  await Promise.all([serverA.close(), serverB.close()]);
}

const cpu = cpus();
console.log(
  `raftkit transport-http benchmark: ${runtimeName()}, ${cpu[0]?.model ?? 'unknown CPU'} x ${cpu.length}`,
);
console.log(`median of ${RUNS} runs (min..max)\n`);
await codec();
console.log('\nLoopback, one request in flight, sender and receiver in one process:');
await loopback(1, 300);
await loopback(16, 100);
await loopback(64, 30);
console.log('\nOver the peer streams, one message in flight, both nodes in one process:');
await roundTrip(2000);
