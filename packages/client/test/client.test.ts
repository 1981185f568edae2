import { describe, expect, it, vi } from 'vitest';
import { OutcomeUnknownError, RaftkitClient, RaftkitError } from '../src/index.ts';

interface Seen {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | null;
}

/** A scripted server: each request gets the next answer (or throws it, for a network failure). */
function scripted(answers: (Response | Error | ((seen: Seen) => Response))[]) {
  const seen: Seen[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const entry: Seen = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? init.body : null,
    };
    seen.push(entry);
    const next = answers.shift();
    if (next === undefined) throw new Error(`unexpected request ${entry.method} ${entry.url}`);
    if (next instanceof Error) throw next;
    return typeof next === 'function' ? next(entry) : next;
  };
  return { fetch: fetch as typeof globalThis.fetch, seen };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const noLeader = (leaderUrl?: string) =>
  json(503, { error: { code: 'NoLeader', message: 'not the leader' }, ...(leaderUrl ? { leaderUrl } : {}) });
const options = { backoffMs: 1, maxBackoffMs: 2, random: () => 0.5 };

describe('RaftkitClient', () => {
  it('follows a leader hint at once, then sends writes to that leader', async () => {
    const { fetch, seen } = scripted([
      noLeader('http://b:2'),
      json(200, { index: 7 }),
      json(200, { index: 8 }),
    ]);
    const client = new RaftkitClient({ endpoints: ['a:1', 'http://b:2/'], fetch, token: 't', ...options });
    expect(await client.put('k', 'v')).toEqual({ index: 7 });
    expect(await client.put('k', 'w')).toEqual({ index: 8 });
    expect(seen.map((s) => s.url)).toEqual([
      'http://a:1/v1/kv/k',
      'http://b:2/v1/kv/k',
      'http://b:2/v1/kv/k',
    ]);
    expect(seen[0]!.headers.authorization).toBe('Bearer t');
  });

  it('retries a 503 with back-off, and gives up after its retries with the last error', async () => {
    const { fetch, seen } = scripted([noLeader(), noLeader(), json(200, { index: 1 })]);
    const client = new RaftkitClient({ endpoints: ['http://a:1', 'http://b:2'], fetch, ...options });
    expect(await client.delete('k')).toEqual({ index: 1 });
    expect(seen).toHaveLength(3);
    const failing = scripted([noLeader(), noLeader(), noLeader()]);
    const impatient = new RaftkitClient({
      endpoints: ['http://a:1'],
      fetch: failing.fetch,
      retries: 2,
      ...options,
    });
    await expect(impatient.put('k', 'v')).rejects.toMatchObject({ code: 'NoLeader', status: 503 });
  });

  it('surfaces a 504 or a lost connection on a plain write as OutcomeUnknownError, without retrying', async () => {
    const timeout = scripted([json(504, { error: { code: 'Timeout', message: 'no answer' } })]);
    const client = new RaftkitClient({ endpoints: ['http://a:1'], fetch: timeout.fetch, ...options });
    await expect(client.put('k', 'v')).rejects.toBeInstanceOf(OutcomeUnknownError);
    const reset = scripted([new TypeError('socket hang up')]);
    const other = new RaftkitClient({ endpoints: ['http://a:1'], fetch: reset.fetch, ...options });
    await expect(other.cas('k', null, 'v')).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(timeout.seen).toHaveLength(1);
    expect(reset.seen).toHaveLength(1);
  });

  it('retries a read that got no answer on another node, and reads absent keys as null', async () => {
    const { fetch, seen } = scripted([
      new TypeError('connection refused'),
      new Response('v', { status: 200 }),
      json(404, { error: { code: 'NotFound', message: 'no key' } }),
    ]);
    const client = new RaftkitClient({ endpoints: ['http://a:1', 'http://b:2'], fetch, ...options });
    expect(await client.getText('k', { consistency: 'stale' })).toBe('v');
    expect(await client.get('gone')).toBeNull();
    expect(seen.map((s) => s.url)).toEqual([
      'http://a:1/v1/kv/k?consistency=stale',
      'http://b:2/v1/kv/k?consistency=stale',
      'http://a:1/v1/kv/gone?consistency=linearizable',
    ]);
  });

  it('reports a compare-and-swap mismatch as a result with the current value', async () => {
    const { fetch } = scripted([
      json(409, { error: { code: 'CasMismatch', message: 'differs' }, index: 4, current: 'x' }),
      json(200, { index: 5 }),
    ]);
    const client = new RaftkitClient({ endpoints: ['http://a:1'], fetch, ...options });
    expect(await client.cas('k', 'y', 'z')).toEqual({ swapped: false, index: 4, current: 'x' });
    expect(await client.cas('k', 'x', 'z')).toEqual({ swapped: true, index: 5 });
  });

  it('stops at once when the caller aborts, and times out each attempt', async () => {
    const controller = new AbortController();
    controller.abort();
    const client = new RaftkitClient({ endpoints: ['http://a:1'], fetch: scripted([]).fetch, ...options });
    await expect(client.get('k', { signal: controller.signal })).rejects.toMatchObject({ code: 'Aborted' });
    const slow = new RaftkitClient({
      endpoints: ['http://a:1'],
      fetch: hanging,
      timeoutMs: 20,
      retries: 1,
      ...options,
    });
    await expect(slow.get('k')).rejects.toMatchObject({ code: 'Network' });
  });

  it('times a streamed call out only while it waits for the headers, never while its body is read', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const call = {
        method: 'GET',
        path: '/v1/backup',
        target: 'any',
        idempotent: true,
        stream: true,
      } as const;
      let signal: AbortSignal | null | undefined;
      const answering: typeof fetch = async (_input, init) => {
        signal = init?.signal;
        return new Response('the body');
      };
      const client = new RaftkitClient({
        endpoints: ['http://a:1'],
        fetch: answering,
        timeoutMs: 20,
        ...options,
      });
      const response = await client.request(call);
      vi.advanceTimersByTime(1_000);
      expect(signal?.aborted).toBe(false);
      expect(await response.text()).toBe('the body');

      const slow = new RaftkitClient({
        endpoints: ['http://a:1'],
        fetch: hanging,
        timeoutMs: 20,
        retries: 0,
      });
      const waiting = expect(slow.request(call)).rejects.toMatchObject({ code: 'Network' });
      vi.advanceTimersByTime(20);
      await waiting;
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a client with no endpoints and a URL that does not parse', () => {
    expect(() => new RaftkitClient({ endpoints: [] })).toThrow(RangeError);
    expect(() => new RaftkitClient({ endpoints: ['http://[nope'] })).toThrow(RangeError);
    expect(new RaftkitError('X', 1, 'm')).toBeInstanceOf(Error);
  });
});

describe('ClientSession', () => {
  it('numbers writes, resends one whose outcome is unknown with the same number, and acknowledges answers', async () => {
    const { fetch, seen } = scripted([
      json(200, { session: 42, ttlMs: 600_000 }),
      json(504, { error: { code: 'Timeout', message: 'no answer' } }),
      new TypeError('connection reset'),
      new Response(JSON.stringify({ index: 9 }), { status: 200, headers: { 'raftkit-duplicate': 'true' } }),
      json(200, { index: 10 }),
    ]);
    const client = new RaftkitClient({ endpoints: ['http://a:1'], fetch, ...options });
    const session = await client.session();
    expect(session.id).toBe(42);
    expect(await session.cas('counter', '1', '2')).toEqual({ swapped: true, index: 9 });
    expect(await session.put('k', 'v')).toEqual({ index: 10 });
    const numbers = seen.slice(1).map((s) => [s.headers['raftkit-seq'], s.headers['raftkit-acked']]);
    // Three attempts of write 1, then write 2 saying every number below 2 is answered.
    expect(numbers).toEqual([
      ['1', '1'],
      ['1', '1'],
      ['1', '1'],
      ['2', '2'],
    ]);
    expect(new Set(seen.slice(1).map((s) => s.headers['raftkit-session']))).toEqual(new Set(['42']));
  });

  it('gives up with OutcomeUnknownError once every attempt went unanswered', async () => {
    const timeout = () => json(504, { error: { code: 'Timeout', message: 'no answer' } });
    const { fetch } = scripted([json(200, { session: 1, ttlMs: 1 }), timeout(), timeout()]);
    const client = new RaftkitClient({ endpoints: ['http://a:1'], fetch, retries: 1, ...options });
    const session = await client.session();
    await expect(session.delete('k')).rejects.toBeInstanceOf(OutcomeUnknownError);
  });
});

/** A fetch that never answers: it settles only when its signal aborts, with the abort's reason. */
const hanging: typeof fetch = (_input, init) =>
  new Promise((_resolve, reject) =>
    init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
  );
