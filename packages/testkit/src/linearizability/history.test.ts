import { describe, expect, it } from 'vitest';
import type { KvOp, KvResult } from './kv-model.ts';
import { kvRecorder } from './kv-model.ts';

describe('HistoryRecorder', () => {
  const setup = () => {
    let now = 0;
    const recorder = kvRecorder(() => now);
    return { recorder, tick: (to: number) => (now = to) };
  };
  const put: KvOp = { kind: 'put', key: 'k', value: 'v' };
  const get: KvOp = { kind: 'get', key: 'k' };
  const ok: KvResult = { kind: 'ok' };

  it('stamps invocations and responses with the caller clock, in invocation order', () => {
    const { recorder, tick } = setup();
    tick(3);
    const a = recorder.invoke(1, put);
    tick(4);
    const b = recorder.invoke(2, get);
    tick(7);
    recorder.respond(b, { kind: 'value', value: 'v' });
    tick(9);
    recorder.respond(a, ok);
    expect(recorder.events()).toEqual([
      { clientId: 1, op: put, invokedAt: 3, respondedAt: 9, result: ok },
      { clientId: 2, op: get, invokedAt: 4, respondedAt: 7, result: { kind: 'value', value: 'v' } },
    ]);
  });

  it('reports given-up and still-pending operations as unknown outcomes', () => {
    const { recorder, tick } = setup();
    const a = recorder.invoke(1, put);
    recorder.invoke(2, put);
    tick(5);
    recorder.unknown(a);
    expect(recorder.events().map((event) => [event.respondedAt, event.result])).toEqual([
      [null, { kind: 'unknown' }],
      [null, { kind: 'unknown' }],
    ]);
  });

  it('refuses a second completion, a foreign handle and a clock that runs backwards', () => {
    const { recorder, tick } = setup();
    tick(5);
    const a = recorder.invoke(1, put);
    recorder.respond(a, ok);
    expect(() => recorder.unknown(a)).toThrow(Error);
    expect(() => recorder.respond((a + 1) as typeof a, ok)).toThrow(RangeError);
    const b = recorder.invoke(1, put);
    tick(4);
    expect(() => recorder.respond(b, ok)).toThrow(RangeError);
  });
});
