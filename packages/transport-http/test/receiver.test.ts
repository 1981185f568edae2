import type { Message } from '@raftkit/core';
import { nodeId } from '@raftkit/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeBatch } from '../src/batch.ts';
import { encodeCbor } from '../src/codec.ts';
import { HttpTransport } from '../src/http-transport.ts';
import type { RejectReason } from '../src/metrics.ts';
import { A, B, everyMessage, heartbeat, peerRequest, RecordingHandler, SECRET, streamOf } from './support.ts';

const MAX_BODY = 128 * 1024;
const WINDOW = 30_000;

/** B receives; tests play A by building requests by hand. */
let receiver: HttpTransport;
let g1: RecordingHandler;
let g2: RecordingHandler;

beforeEach(() => {
  receiver = new HttpTransport({
    id: B,
    secret: SECRET,
    maxBodyBytes: MAX_BODY,
    snapshotChunkBytes: 32 * 1024,
    authWindowMs: WINDOW,
  });
  g1 = new RecordingHandler();
  g2 = new RecordingHandler();
  receiver.register('g1', g1);
  receiver.register('g2', g2);
});

const batchOf = (groups: Record<string, readonly Message[]>, from = A, to = B) =>
  encodeBatch(
    from,
    to,
    Object.entries(groups).flatMap(([groupId, ms]) => ms.map((m) => ({ groupId, encoded: encodeCbor(m) }))),
  );

const plainMessages = everyMessage(A, B).filter((m) => m.type !== 'InstallSnapshot');

async function expectRefused(request: Request, status: number, reason: RejectReason) {
  const response = await receiver.app.request(request);
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: string }).error).toBe(reason);
  expect(receiver.metrics().rejected[reason]).toBe(1);
  expect(g1.received).toEqual([]);
  expect(g2.received).toEqual([]);
  expect(receiver.metrics().messagesReceived).toBe(0);
}

describe('receiving a batch', () => {
  it('delivers each group its messages, in order, as the core shapes them', async () => {
    const body = batchOf({ g1: plainMessages, g2: [heartbeat(A, B, 7)] });
    const response = await receiver.app.request(await peerRequest(body));
    expect(response.status).toBe(204);
    expect(g1.received).toEqual(plainMessages);
    expect(g2.received).toEqual([heartbeat(A, B, 7)]);
    const metrics = receiver.metrics();
    expect(metrics.messagesReceived).toBe(plainMessages.length + 1);
    expect(metrics.batchesReceived).toBe(1);
    expect(metrics.bytesReceived).toBe(body.length);
  });

  it('drops and counts messages for a group it does not host, delivering the rest', async () => {
    const response = await receiver.app.request(
      await peerRequest(
        batchOf({ unknown: [heartbeat(A, B), heartbeat(A, B, 1)], g1: [heartbeat(A, B, 2)] }),
      ),
    );
    expect(response.status).toBe(204);
    expect(g1.received).toEqual([heartbeat(A, B, 2)]);
    expect(receiver.metrics().droppedUnknownGroup).toBe(2);
  });

  it('keeps delivering to other groups when one handler throws', async () => {
    receiver.unregister('g1');
    receiver.register('g1', {
      ...g1,
      receive() {
        throw new Error('core refused');
      },
      createSnapshot: (offer) => g1.createSnapshot(offer),
    });
    const response = await receiver.app.request(
      await peerRequest(batchOf({ g1: [heartbeat(A, B)], g2: [heartbeat(A, B)] })),
    );
    expect(response.status).toBe(204);
    expect(g2.received).toHaveLength(1);
    expect(receiver.metrics().handlerErrors).toBe(1);
  });
});

describe('authentication', () => {
  const body = () => batchOf({ g1: [heartbeat(A, B)] });

  it('refuses a request without a MAC with 401', async () => {
    const request = await peerRequest(body());
    request.headers.delete('x-raftkit-mac');
    await expectRefused(request, 401, 'unauthenticated');
  });

  it('refuses a MAC made with another secret with 401', async () => {
    await expectRefused(
      await peerRequest(body(), { secret: 'some-other-secret-0123456789' }),
      401,
      'unauthenticated',
    );
  });

  it('refuses a body that differs from the signed one with 401', async () => {
    const signed = body();
    const tampered = batchOf({ g1: [heartbeat(A, B, 99)] });
    await expectRefused(await peerRequest(tampered, { signedBody: signed }), 401, 'unauthenticated');
  });

  it('refuses a MAC made for the snapshot route with 401', async () => {
    const b = body();
    const forSnapshot = (await peerRequest(b, { route: 'snapshot' })).headers.get('x-raftkit-mac')!;
    await expectRefused(await peerRequest(b, { mac: forSnapshot }), 401, 'unauthenticated');
  });

  it('refuses a sender id other than the signed one with 401', async () => {
    const request = await peerRequest(body());
    request.headers.set('x-raftkit-from', 'node-c');
    await expectRefused(request, 401, 'unauthenticated');
  });

  it('refuses a replay of an accepted request with 401', async () => {
    const options = { timestamp: Date.now(), nonce: '0123456789abcdef' };
    expect((await receiver.app.request(await peerRequest(body(), options))).status).toBe(204);
    const delivered = g1.received.length;
    const response = await receiver.app.request(await peerRequest(body(), options));
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('replay');
    expect(g1.received).toHaveLength(delivered);
  });

  it.each([
    ['old', -WINDOW - 1000],
    ['future', WINDOW + 1000],
  ])('refuses a timestamp too far in the %s with 401', async (_, offset) => {
    await expectRefused(await peerRequest(body(), { timestamp: Date.now() + offset }), 401, 'stale');
  });

  it('refuses a sender whose body claims another id with 400', async () => {
    await expectRefused(
      await peerRequest(batchOf({ g1: [heartbeat(nodeId('node-c'), B)] }, nodeId('node-c'))),
      400,
      'malformed',
    );
  });
});

describe('malformed requests', () => {
  it('refuses bytes that are not CBOR with 400', async () => {
    await expectRefused(await peerRequest(new Uint8Array([0xff, 0xff, 0x1c, 0x00])), 400, 'malformed');
  });

  it('refuses CBOR followed by trailing bytes with 400', async () => {
    const body = batchOf({ g1: [heartbeat(A, B)] });
    const padded = new Uint8Array(body.length + 1);
    padded.set(body);
    await expectRefused(await peerRequest(padded), 400, 'malformed');
  });

  it('refuses CBOR of the wrong shape with 400', async () => {
    await expectRefused(
      await peerRequest(encodeCbor({ v: 1, from: A, to: B, groups: [['g1']] })),
      400,
      'malformed',
    );
  });

  it('refuses an unknown wire version with 400', async () => {
    await expectRefused(
      await peerRequest(encodeCbor({ v: 2, from: A, to: B, groups: [] })),
      400,
      'malformed',
    );
  });

  it('refuses a batch with one invalid message field with 400, delivering none of it', async () => {
    const bad = { ...heartbeat(A, B), commitIndex: -1 };
    await expectRefused(
      await peerRequest(batchOf({ g1: [heartbeat(A, B)], g2: [bad as Message] })),
      400,
      'malformed',
    );
  });

  it('refuses a message whose to differs from the batch with 400', async () => {
    await expectRefused(
      await peerRequest(batchOf({ g1: [heartbeat(A, B), heartbeat(A, A)] })),
      400,
      'malformed',
    );
  });

  it('refuses an InstallSnapshot inside a batch with 400: snapshots stream on their own route', async () => {
    const install = everyMessage(A, B).find((m) => m.type === 'InstallSnapshot')!;
    await expectRefused(await peerRequest(batchOf({ g1: [install] })), 400, 'malformed');
  });

  it('refuses a batch for another node with 421', async () => {
    await expectRefused(await peerRequest(batchOf({ g1: [heartbeat(A, A)] }, A, A)), 421, 'misdirected');
  });
});

describe('size limits', () => {
  /** A heartbeat carrying an extra field the receiver ignores, to reach a body size. */
  const padded = (padding: Uint8Array) => ({ ...heartbeat(A, B), padding }) as unknown as Message;
  /** A validly signed batch just over the body limit. */
  const oversized = () => batchOf({ g1: [padded(new Uint8Array(MAX_BODY))] });

  it('refuses a declared Content-Length over the limit with 413', async () => {
    const body = oversized();
    await expectRefused(
      await peerRequest(body, { headers: { 'content-length': String(body.length) } }),
      413,
      'tooLarge',
    );
  });

  it('refuses an oversized body streamed without a length with 413', async () => {
    const body = oversized();
    await expectRefused(await peerRequest(streamOf(body), { signedBody: body }), 413, 'tooLarge');
  });

  it('refuses an oversized body whose Content-Length understates it with 413', async () => {
    const body = oversized();
    const request = await peerRequest(streamOf(body), {
      signedBody: body,
      headers: { 'content-length': '100' },
    });
    await expectRefused(request, 413, 'tooLarge');
  });

  it('accepts a body at exactly the limit', async () => {
    const probe = batchOf({ g1: [padded(new Uint8Array(0))] });
    // The byte string's head grows from 1 to 5 bytes once it holds 64 KiB or more.
    const body = batchOf({ g1: [padded(new Uint8Array(MAX_BODY - probe.length - 4))] });
    expect(body.length).toBe(MAX_BODY);
    expect((await receiver.app.request(await peerRequest(body))).status).toBe(204);
    expect(g1.received).toEqual([heartbeat(A, B)]);
  });
});
