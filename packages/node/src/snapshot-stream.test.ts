import { describe, expect, it } from 'vitest';
import { envelopeHeader, unwrapSnapshot, wrapSnapshot } from './envelope.ts';
import { isSnapshotStream, snapshotBytes } from './snapshot-stream.ts';

const bytes = (...values: number[]) => Uint8Array.from(values);
async function* chunks(...parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* parts;
}

describe('state machine snapshots in any form', () => {
  it('tells the chunked form from bytes and promises of bytes', () => {
    expect(isSnapshotStream(bytes(1))).toBe(false);
    expect(isSnapshotStream(Promise.resolve(bytes(1)))).toBe(false);
    expect(isSnapshotStream(chunks(bytes(1)))).toBe(true);
  });

  it('gives the whole snapshot as one array, whichever form it came in', async () => {
    expect(await snapshotBytes(bytes(1, 2))).toEqual(bytes(1, 2));
    expect(await snapshotBytes(Promise.resolve(bytes(3)))).toEqual(bytes(3));
    expect(await snapshotBytes(chunks(bytes(1), bytes(), bytes(2, 3)))).toEqual(bytes(1, 2, 3));
    expect(await snapshotBytes(chunks())).toEqual(bytes());
  });

  it('stores a chunked snapshot as the envelope header followed by its chunks', async () => {
    const urls = { n1: 'http://127.0.0.1:7001' };
    const state = bytes(9, 8, 7);
    const streamed = await snapshotBytes(chunks(envelopeHeader(urls), bytes(9), bytes(8, 7)));
    expect(streamed).toEqual(wrapSnapshot({ urls, state }));
    expect(unwrapSnapshot(streamed)).toEqual({ urls, state });
  });
});
