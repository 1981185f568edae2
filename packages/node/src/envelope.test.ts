import { describe, expect, it } from 'vitest';
import { SnapshotEnvelopeError, unwrapSnapshot, wrapSnapshot } from './envelope.ts';

describe('snapshot envelope', () => {
  it('round-trips the URL map and the state bytes, including an empty state', () => {
    const state = new Uint8Array([0, 1, 2, 250, 255]);
    const urls = { n1: 'https://n1:7000', n2: 'https://n2:7000' };
    expect(unwrapSnapshot(wrapSnapshot({ urls, state }))).toEqual({ urls, state });
    expect(unwrapSnapshot(wrapSnapshot({ urls: {}, state: new Uint8Array(0) })).state.byteLength).toBe(0);
  });

  it('reads an envelope at an offset inside a larger buffer', () => {
    const wrapped = wrapSnapshot({ urls: { a: 'x' }, state: new Uint8Array([7, 8]) });
    const padded = new Uint8Array(wrapped.byteLength + 10);
    padded.set(wrapped, 5);
    expect(unwrapSnapshot(padded.subarray(5, 5 + wrapped.byteLength)).state).toEqual(new Uint8Array([7, 8]));
  });

  it('refuses data it did not write, naming what is wrong', () => {
    const good = wrapSnapshot({ urls: { a: 'x' }, state: new Uint8Array([1]) });
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      new TextEncoder().encode('{"items":[]}'),
      good.subarray(0, 10), // header claims more JSON than there is
      (() => {
        const bad = good.slice();
        bad[9] = 0x7b; // '{' where the JSON's first quote was: no longer valid JSON
        bad[10] = 0x7b;
        return bad;
      })(),
      wrapSnapshot({ urls: { a: 1 } as unknown as Record<string, string>, state: new Uint8Array(0) }),
    ];
    for (const data of cases) expect(() => unwrapSnapshot(data)).toThrow(SnapshotEnvelopeError);
  });
});
