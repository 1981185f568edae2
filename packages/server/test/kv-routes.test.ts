import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkKey } from '../src/kv/key.ts';
import { type SingleNode, startSingleNode } from './single-node.ts';

let s: SingleNode;
beforeAll(async () => {
  s = await startSingleNode({ limits: { maxKeyBytes: 16, maxValueBytes: 64 } });
});
afterAll(() => s.stop());

const put = (key: string, body: BodyInit) => s.app.request(`/v1/kv/${key}`, { method: 'PUT', body });
const cas = (key: string, body: unknown) =>
  s.app.request(`/v1/kv/${key}/cas`, { method: 'POST', body: JSON.stringify(body) });

describe('KV routes', () => {
  it('writes raw bytes and reads them back in every consistency mode', async () => {
    const value = Uint8Array.from([0, 255, 10, 13]);
    const written = await put('bin', value);
    expect(written.status).toBe(200);
    const { index } = (await written.json()) as { index: number };
    expect(index).toBeGreaterThan(0);
    for (const mode of ['', '?consistency=linearizable', '?consistency=lease', '?consistency=stale']) {
      const read = await s.app.request(`/v1/kv/bin${mode}`);
      expect(read.status).toBe(200);
      expect(new Uint8Array(await read.arrayBuffer())).toEqual(value);
    }
  });

  it('answers 404 for an absent key and 400 for an unknown consistency', async () => {
    const missing = await s.app.request('/v1/kv/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NotFound' } });
    expect((await s.app.request('/v1/kv/nope?consistency=eventual')).status).toBe(400);
  });

  it('deletes with the index of the delete', async () => {
    await put('gone', 'x');
    const deleted = await s.app.request('/v1/kv/gone', { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(((await deleted.json()) as { index: number }).index).toBeGreaterThan(0);
    expect((await s.app.request('/v1/kv/gone')).status).toBe(404);
  });

  it('compares and swaps, reporting the current value on a mismatch', async () => {
    expect((await cas('c', { expected: null, value: 'one' })).status).toBe(200);
    const conflict = await cas('c', { expected: 'zero', value: 'two' });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ error: { code: 'CasMismatch' }, current: 'one' });
    expect((await cas('c', { expected: 'one', value: null })).status).toBe(200);
    const absent = await cas('c', { expected: 'one', value: 'x' });
    expect(absent.status).toBe(409);
    expect(await absent.json()).toMatchObject({ current: null });
  });

  it('refuses a malformed compare-and-swap body with 400', async () => {
    expect((await s.app.request('/v1/kv/c/cas', { method: 'POST', body: '{' })).status).toBe(400);
    expect((await cas('c', { expected: 1, value: 'x' })).status).toBe(400);
    expect((await cas('c', { value: 'x' })).status).toBe(400);
  });

  // Issue 12: `%FF` and `%ZZ` were stored literally, so two URLs named one key.
  it('refuses keys that are not valid percent-encoded UTF-8, and "." and "..", with 400', async () => {
    for (const key of ['%FF', '%ZZ', 'a%', '%E2%82', '%C0%AF']) {
      for (const response of [
        await put(key, 'x'),
        await s.app.request(`/v1/kv/${key}`),
        await cas(key, { expected: null, value: 'v' }),
      ]) {
        expect(response.status, key).toBe(400);
        expect(await response.json()).toMatchObject({ error: { code: 'BadRequest' } });
      }
    }
    expect((await s.app.request('/v1/kv?prefix=%FF')).status).toBe(400);
    // URL normalization makes the dot segments name the paths around them: no key is reached,
    // and the rules refuse those keys wherever else they come from.
    expect((await put('.', 'x')).status).toBe(404);
    expect((await put('%2E', 'x')).status).toBe(404);
    for (const key of ['.', '..']) expect(() => checkKey(key, 16)).toThrow(/not allowed/);
    // One key, however its URL spells it: escapes decode as UTF-8, `%2F` is a slash in the key.
    expect((await put('caf%C3%A9', 'v1')).status).toBe(200);
    expect(await (await s.app.request('/v1/kv/caf%c3%a9')).text()).toBe('v1');
    expect((await put('a%2Fb', 'slash')).status).toBe(200);
    const listed = (await (await s.app.request('/v1/kv?prefix=a%2F')).json()) as { keys: string[] };
    expect(listed.keys).toEqual(['a/b']);
  });

  it('refuses keys and values over the limits with 413, writing nothing', async () => {
    const before = s.node.status().commitIndex;
    expect((await put('k'.repeat(17), 'v')).status).toBe(413);
    expect((await put('big', 'v'.repeat(65))).status).toBe(413);
    expect((await cas('big', { expected: null, value: 'v'.repeat(65) })).status).toBe(413);
    expect(s.node.status().commitIndex).toBe(before);
  });

  it('refuses an oversized streamed body as soon as it passes the limit', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(40));
        if (pulled === 1000) controller.close();
      },
    });
    const response = await s.app.request('/v1/kv/stream', {
      method: 'PUT',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(pulled).toBeLessThan(10);
  });

  it('lists keys in order by prefix, page by page', async () => {
    for (const key of ['p-c', 'p-a', 'p-b', 'q-a']) await put(key, key);
    const first = await s.app.request('/v1/kv?prefix=p-&limit=2');
    expect(await first.json()).toEqual({ keys: ['p-a', 'p-b'], next: 'p-b' });
    const second = await s.app.request('/v1/kv?prefix=p-&limit=2&after=p-b');
    expect(await second.json()).toEqual({ keys: ['p-c'], next: null });
    expect((await s.app.request('/v1/kv?limit=0')).status).toBe(400);
  });
});

describe('client sessions', () => {
  const inSession = (session: number, seq: number, extra: Record<string, string> = {}) => ({
    'raftkit-session': String(session),
    'raftkit-seq': String(seq),
    ...extra,
  });

  it('answer a retried write with its first outcome, applying it once', async () => {
    const opened = await s.app.request('/v1/sessions', { method: 'POST' });
    expect(opened.status).toBe(200);
    const { session } = (await opened.json()) as { session: number };
    const first = await s.app.request('/v1/kv/once', {
      method: 'PUT',
      body: 'v1',
      headers: inSession(session, 1),
    });
    expect(first.headers.get('raftkit-duplicate')).toBeNull();
    const { index } = (await first.json()) as { index: number };
    await put('once', 'changed');
    const retry = await s.app.request('/v1/kv/once', {
      method: 'PUT',
      body: 'v1',
      headers: inSession(session, 1),
    });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('raftkit-duplicate')).toBe('true');
    expect(await retry.json()).toEqual({ index });
    expect(await (await s.app.request('/v1/kv/once')).text()).toBe('changed');
    // A cas retried answers as the first time, even though it would fail now.
    const swap = () =>
      s.app.request('/v1/kv/once/cas', {
        method: 'POST',
        headers: inSession(session, 2),
        body: JSON.stringify({ expected: 'changed', value: 'swapped' }),
      });
    expect((await swap()).status).toBe(200);
    expect((await swap()).status).toBe(200);
    // Whatever the retry carries, number 1 answers as the put it was.
    const sameNumber = await s.app.request('/v1/kv/once', {
      method: 'DELETE',
      headers: inSession(session, 1),
    });
    expect(sameNumber.headers.get('raftkit-duplicate')).toBe('true');
    expect(await sameNumber.json()).toEqual({ index });
    // Once the client says it has every answer below 3, numbers 1 and 2 are forgotten and refused.
    const acked = await s.app.request('/v1/kv/once', {
      method: 'DELETE',
      headers: inSession(session, 1, { 'raftkit-seq': '3', 'raftkit-acked': '3' }),
    });
    expect(acked.status).toBe(200);
    const tooOld = await s.app.request('/v1/kv/once', { method: 'DELETE', headers: inSession(session, 2) });
    expect(tooOld.status).toBe(409);
    expect(await tooOld.json()).toMatchObject({ error: { code: 'StaleRequest' } });
  });

  it('refuse partial or malformed session headers with 400 and an unknown session with 410', async () => {
    for (const headers of [
      { 'raftkit-session': '5' },
      inSession(5, 0),
      inSession(5, 1, { 'raftkit-acked': '2' }),
      inSession(-1, 1),
    ]) {
      expect((await s.app.request('/v1/kv/x', { method: 'PUT', body: 'v', headers })).status).toBe(400);
    }
    const unknown = await s.app.request('/v1/kv/x', {
      method: 'PUT',
      body: 'v',
      headers: inSession(999_999, 1),
    });
    expect(unknown.status).toBe(410);
    expect(await unknown.json()).toMatchObject({ error: { code: 'SessionExpired' } });
    expect((await s.app.request('/v1/kv/x')).status).toBe(404);
  });
});
