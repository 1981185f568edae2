import type { Message, NodeId } from '@raftkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestAuthenticator } from '../src/auth.ts';
import { HttpTransport } from '../src/http-transport.ts';
import type { LoopbackServer } from '../src/loopback.ts';
import { serveLoopback } from '../src/loopback.ts';
import type { HttpTransportOptions } from '../src/options.ts';
import { encodeFrame, FRAME_HEADER_BYTES, FrameParser } from '../src/stream-frame.ts';
import { MESSAGES_PATH, STREAM_CONTENT_TYPE, STREAM_KEEPALIVE_MS, STREAM_PATH } from '../src/wire.ts';
import { A, B, heartbeat, peerRequest, RecordingHandler, SECRET, until } from './support.ts';

/** One node of a two-node test: its transport, its group's handler, its server and what reached it. */
interface Side {
  transport: HttpTransport;
  handler: RecordingHandler;
  server: LoopbackServer;
  /** Paths of the requests this side's server answered. */
  paths: string[];
  /** Rewrites the body of this side's stream responses (tests use it to tamper with frames). */
  rewrite: ((body: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>) | null;
}

let sides: Side[] = [];

async function side(id: NodeId, extra: Partial<HttpTransportOptions> = {}): Promise<Side> {
  const s: Side = {
    transport: new HttpTransport({ id, secret: SECRET, ...extra }),
    handler: new RecordingHandler(),
    server: undefined as unknown as LoopbackServer,
    paths: [],
    rewrite: null,
  };
  s.server = await serveLoopback(async (request) => {
    s.paths.push(new URL(request.url).pathname);
    const response = await s.transport.app.fetch(request);
    if (s.rewrite === null || response.body === null || !response.ok) return response;
    return new Response(s.rewrite(response.body), { status: response.status, headers: response.headers });
  });
  sides.push(s);
  return s;
}

/** A and B, each knowing the other, with group g1 registered on both. */
async function pair(extra: Partial<HttpTransportOptions> = {}): Promise<[Side, Side]> {
  const a = await side(A, extra);
  const b = await side(B, extra);
  a.transport.setPeer(B, b.server.url);
  b.transport.setPeer(A, a.server.url);
  a.transport.register('g1', a.handler);
  b.transport.register('g1', b.handler);
  return [a, b];
}

/** The first stream `s` serves carries its first frame, then nothing: a dead connection. */
function silenceFirstStream(s: Side): void {
  let served = 0;
  s.rewrite = (body) => {
    const first = served++ === 0;
    let passed = 0;
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          if (!first || passed++ === 0) controller.enqueue(chunk);
        },
      }),
    );
  };
}

const rounds = (messages: readonly Message[]) => messages.map((m) => (m as { readRound: number }).readRound);

afterEach(async () => {
  for (const s of sides) await s.transport.close();
  for (const s of sides) await s.server.close();
  sides = [];
});

describe('message streams', () => {
  it('carries every batch on the stream the peer opened, in order, with no request per batch', async () => {
    const [a, b] = await pair();
    await until(() => a.transport.metrics().streamsServed === 1 && b.transport.metrics().streamsServed === 1);
    for (let i = 0; i < 50; i++) {
      a.transport.send('g1', [heartbeat(A, B, i)]);
      // A turn apart, so each is a batch and a frame of its own.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await until(() => b.handler.received.length === 50);
    expect(rounds(b.handler.received)).toEqual([...Array(50).keys()]);
    expect(b.paths.filter((p) => p === MESSAGES_PATH)).toEqual([]);
    expect(b.transport.metrics().batchesReceived).toBe(a.transport.metrics().batchesSent);
    expect(a.transport.metrics().batchesSent).toBeGreaterThan(1);
  });

  it('sends batches as requests while the peer has no stream open', async () => {
    const a = await side(A);
    const b = await side(B);
    // B does not know A, so it opens no stream to it; A's messages still arrive.
    a.transport.setPeer(B, b.server.url);
    a.transport.register('g1', a.handler);
    b.transport.register('g1', b.handler);
    a.transport.send('g1', [heartbeat(A, B, 7)]);
    await until(() => b.handler.received.length === 1);
    expect(b.paths).toContain(MESSAGES_PATH);
    // A asked B for a stream and was refused: A is not B's peer.
    await until(() => b.transport.metrics().rejected.unknownPeer >= 1);
    expect(a.transport.metrics().streamsOpened).toBe(0);
  });

  it('moves to the new stream of a restarted peer', async () => {
    const [a, b] = await pair();
    await until(() => a.transport.metrics().streamsServed === 1);
    await b.transport.close();
    // B again, as a new process on the same address.
    b.transport = new HttpTransport({ id: B, secret: SECRET });
    b.handler = new RecordingHandler();
    b.transport.setPeer(A, a.server.url);
    b.transport.register('g1', b.handler);
    await until(() => a.transport.metrics().streamsServed === 2);
    a.transport.send('g1', [heartbeat(A, B, 1)]);
    await until(() => b.handler.received.length === 1);
    expect(b.paths.filter((p) => p === MESSAGES_PATH)).toEqual([]);
  });

  it('keeps a quiet stream open with keepalive frames', async () => {
    // The reader then waits three keepalive intervals for a frame, less than the test's silence.
    const [a, b] = await pair({ requestTimeoutMs: 1000 });
    await until(() => a.transport.metrics().streamsServed === 1);
    // Longer than a reader waits without a frame (three keepalive intervals).
    await new Promise((resolve) => setTimeout(resolve, 3.5 * STREAM_KEEPALIVE_MS));
    expect(b.transport.metrics().streamsOpened).toBe(1);
    a.transport.send('g1', [heartbeat(A, B, 3)]);
    await until(() => b.handler.received.length === 1);
    expect(b.paths.filter((p) => p === MESSAGES_PATH)).toEqual([]);
  });

  it('gives up on a stream that goes silent and opens another', async () => {
    // A request timeout below three keepalive intervals: those are what the reader waits.
    const [a, b] = await pair({ requestTimeoutMs: 1000 });
    silenceFirstStream(a);
    await until(() => b.transport.metrics().streamsOpened === 1);
    const opened = Date.now();
    await until(() => b.transport.metrics().streamsOpened === 2);
    // Not before three keepalive intervals without a frame.
    expect(Date.now() - opened).toBeGreaterThanOrEqual(3 * STREAM_KEEPALIVE_MS - 100);
    a.transport.send('g1', [heartbeat(A, B, 4)]);
    await until(() => b.handler.received.length === 1);
  });

  // Deno's `fetch` stops passing its signal's abort on to a response body once a garbage
  // collection has run after it returned; this `fetch` never passes it on, so the reader must end
  // its reads itself.
  const deaf: HttpTransportOptions['fetch'] = (input, init) => fetch(input, { ...init, signal: null });

  it('stops reading on close where aborting fetch does not reach the body', async () => {
    const [a, b] = await pair({ fetch: deaf });
    await until(() => a.transport.metrics().streamsOpened === 1 && b.transport.metrics().streamsOpened === 1);
    const outcome = await Promise.race([
      b.transport.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still reading'), 2000)),
    ]);
    expect(outcome).toBe('closed');
  });

  it('gives up on a silent stream where aborting fetch does not reach the body', async () => {
    const [a, b] = await pair({ fetch: deaf, requestTimeoutMs: 1000 });
    silenceFirstStream(a);
    await until(() => b.transport.metrics().streamsOpened === 1);
    await until(() => b.transport.metrics().streamsOpened === 2);
  });

  it('drops a stream whose frame was tampered with, delivers nothing of it, and opens another', async () => {
    const [a, b] = await pair();
    let tampered = false;
    a.rewrite = (body) =>
      body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            // The first frame with a payload gets one payload byte flipped.
            if (!tampered && chunk.length > FRAME_HEADER_BYTES) {
              tampered = true;
              const copy = chunk.slice();
              copy[FRAME_HEADER_BYTES] = copy[FRAME_HEADER_BYTES]! ^ 1;
              controller.enqueue(copy);
            } else {
              controller.enqueue(chunk);
            }
          },
        }),
      );
    await until(() => b.transport.metrics().streamsOpened === 1);
    a.transport.send('g1', [heartbeat(A, B, 1)]);
    await until(() => b.transport.metrics().rejected.unauthenticated === 1);
    expect(b.handler.received).toEqual([]);
    await until(() => b.transport.metrics().streamsOpened === 2);
    a.transport.send('g1', [heartbeat(A, B, 2)]);
    await until(() => b.handler.received.length === 1);
    expect(rounds(b.handler.received)).toEqual([2]);
  });

  it('refuses a frame longer than the body limit from its length alone', () => {
    const parser = new FrameParser(1024);
    const header = new Uint8Array(FRAME_HEADER_BYTES);
    new DataView(header.buffer).setUint32(0, 1025);
    expect(() => parser.push(header)).toThrow(/1025 bytes exceeds 1024/);
  });

  it('cuts frames out of chunks of any size', () => {
    const auth = new RequestAuthenticator(SECRET);
    const payloads = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(9)];
    const bytes = new Uint8Array(
      payloads.flatMap((payload, seq) => [...encodeFrame(auth, { from: A, stream: 'n', seq, payload })]),
    );
    for (const size of [1, 7, 36, 37, 1000]) {
      const parser = new FrameParser(1024);
      const frames = [];
      for (let at = 0; at < bytes.length; at += size) frames.push(...parser.push(bytes.slice(at, at + size)));
      expect(frames.map((f) => [...f.payload])).toEqual(payloads.map((p) => [...p]));
      frames.forEach((f, seq) => {
        expect(auth.verifyFrame({ from: A, stream: 'n', seq, payload: f.payload }, f.mac)).toBe(true);
        // The same frame at another position, or on another stream, does not verify.
        expect(auth.verifyFrame({ from: A, stream: 'n', seq: seq + 1, payload: f.payload }, f.mac)).toBe(
          false,
        );
        expect(auth.verifyFrame({ from: A, stream: 'm', seq, payload: f.payload }, f.mac)).toBe(false);
      });
      expect(parser.atBoundary).toBe(true);
    }
  });

  it('answers a stream request only for the node it names, and only once', async () => {
    const a = await side(A);
    a.transport.setPeer(B, 'http://127.0.0.1:9');
    const { encodeBatch } = await import('../src/batch.ts');
    const toOther = encodeBatch(B, 'node-c', []);
    const misdirected = await a.transport.app.fetch(await peerRequest(toOther, { route: 'stream', from: B }));
    expect(misdirected.status).toBe(421);
    const body = encodeBatch(B, A, []);
    const request = await peerRequest(body, { route: 'stream', from: B, nonce: 'ab'.repeat(8) });
    const replay = request.clone();
    const opened = await a.transport.app.fetch(request);
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toBe(STREAM_CONTENT_TYPE);
    await opened.body?.cancel();
    expect((await a.transport.app.fetch(replay)).status).toBe(401);
    // A MAC made for the messages route does not open a stream.
    const wrongRoute = await peerRequest(body, { route: 'messages', from: B });
    const refused = await a.transport.app.fetch(
      new Request(`http://peer${STREAM_PATH}`, { method: 'POST', body, headers: wrongRoute.headers }),
    );
    expect(refused.status).toBe(401);
  });

  it('ends the streams of a removed peer and stops asking it for one', async () => {
    const [a, b] = await pair();
    await until(() => a.transport.metrics().streamsServed === 1 && b.transport.metrics().streamsServed === 1);
    a.transport.removePeer(B);
    await a.transport.flush();
    const before = b.paths.filter((p) => p === STREAM_PATH).length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(b.paths.filter((p) => p === STREAM_PATH).length).toBe(before);
    // B's stream from A ended; B asks again and A, which no longer knows B, refuses.
    await until(() => a.transport.metrics().rejected.unknownPeer >= 1);
  });
});
