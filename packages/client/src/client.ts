import { OutcomeUnknownError, RaftkitError } from './errors.ts';
import { ClientSession } from './session.ts';

/**
 * How fresh a read must be: `linearizable` (confirmed with a majority, served after every write
 * acknowledged before it), `lease` (the leader's lease, no round trip; trusts bounded clock drift) or
 * `stale` (any node's local state, possibly behind).
 */
export type Consistency = 'linearizable' | 'lease' | 'stale';

/** How a `RaftkitClient` reaches the cluster and how hard it tries. */
export interface ClientOptions {
  /** Any members' base URLs (`http://127.0.0.1:7001`); the leader is found from them. */
  readonly endpoints: readonly string[];
  /** The server's client token, sent as `Authorization: Bearer ...`. */
  readonly token?: string;
  /** Per attempt. Default 5 000 ms. */
  readonly timeoutMs?: number;
  /** Attempts after the first, for answers that mean "nothing happened, try again" (503, or no answer to a read). Default 8. */
  readonly retries?: number;
  /** First back-off; it doubles per attempt up to `maxBackoffMs`, with full jitter. Default 50 ms. */
  readonly backoffMs?: number;
  /** Default 2 000 ms. */
  readonly maxBackoffMs?: number;
  /** The `fetch` to send with; tests and unusual runtimes inject one. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Jitter source in [0, 1); injectable for tests. Default `Math.random`. */
  readonly random?: () => number;
}

/** What every call takes besides its arguments. */
export interface CallOptions {
  /**
   * Aborts the call, retries and backoff included; it then rejects with code `Aborted`. A write aborted
   * after it was sent may still apply.
   */
  readonly signal?: AbortSignal;
}

/** Options of a read. */
export interface ReadOptions extends CallOptions {
  /** Default `linearizable`. */
  readonly consistency?: Consistency;
}

/** One cluster member as a node's status reports it; `matchIndex` is known on the leader only. */
export interface MemberStatus {
  readonly id: string;
  readonly url: string | null;
  readonly role: 'voter' | 'learner';
  readonly matchIndex: number | null;
}

/**
 * What `GET /v1/status` answers: one node's view of the cluster. Fields beyond these may be added by newer
 * servers.
 */
export interface NodeStatus {
  readonly id: string;
  readonly role: 'follower' | 'preCandidate' | 'candidate' | 'leader';
  readonly term: number;
  readonly leader: string | null;
  readonly leaderUrl: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly members: readonly MemberStatus[];
  readonly [field: string]: unknown;
}

/**
 * What a compare-and-swap did: `swapped` with the index it committed at, or not, with the value the key
 * held instead (`null`: absent).
 */
export type CasResult =
  | { readonly swapped: true; readonly index: number }
  | { readonly swapped: false; readonly index: number; readonly current: string | null };

/** What one request is, for the retry rules. */
export interface Call {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly path: string;
  readonly body?: BodyInit;
  readonly headers?: Readonly<Record<string, string>>;
  /** Where it should go first: the leader (writes, lease reads) or any node (spread). */
  readonly target: 'leader' | 'any';
  /**
   * Whether sending it twice is harmless: reads are; a plain write is not, so one that may have
   * reached a node and got no answer is an `OutcomeUnknownError`; a session write is.
   */
  readonly idempotent: boolean;
  readonly signal?: AbortSignal;
  /** Only this node, e.g. for its own status; then no retries, so a node that is down shows. */
  readonly url?: string;
  /**
   * The caller reads the body at its own pace (a download): the attempt's timeout then covers
   * the wait for the answer's headers only, where otherwise it also cuts off reading the body.
   */
  readonly stream?: boolean;
}

const text = new TextDecoder();

/**
 * A client for the raftkit KV and admin API, on anything with `fetch` (Node 20+, Bun, Deno,
 * browsers). Writes go to the leader (found from any endpoint's status, and re-found when it
 * moves); reads are spread over the endpoints, lease reads to the leader. A 503 (no leader yet,
 * busy, a read not served) is retried with exponential back-off and full jitter; a 504 on a
 * write is `OutcomeUnknownError`, since it may have applied. Every call takes an AbortSignal and
 * each attempt has a timeout.
 */
export class RaftkitClient {
  readonly #endpoints: string[];
  readonly #options: Required<Omit<ClientOptions, 'token' | 'endpoints'>> & { token: string | null };
  #leaderUrl: string | null = null;
  #next = 0;

  constructor(options: ClientOptions) {
    if (options.endpoints.length === 0) throw new RangeError('options.endpoints: give at least one URL');
    this.#endpoints = options.endpoints.map(normalizeUrl);
    this.#options = {
      token: options.token ?? null,
      timeoutMs: options.timeoutMs ?? 5_000,
      retries: options.retries ?? 8,
      backoffMs: options.backoffMs ?? 50,
      maxBackoffMs: options.maxBackoffMs ?? 2_000,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      random: options.random ?? Math.random,
    };
  }

  /** The value of `key` as bytes, or null when absent. */
  async get(key: string, options: ReadOptions = {}): Promise<Uint8Array | null> {
    const consistency = options.consistency ?? 'linearizable';
    try {
      const response = await this.request({
        method: 'GET',
        path: `/v1/kv/${encodeURIComponent(key)}?consistency=${consistency}`,
        target: consistency === 'lease' ? 'leader' : 'any',
        idempotent: true,
        ...signalOf(options),
      });
      return new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      if (error instanceof RaftkitError && error.code === 'NotFound') return null;
      throw error;
    }
  }

  /** The value of `key` as UTF-8 text, or null when absent. */
  async getText(key: string, options: ReadOptions = {}): Promise<string | null> {
    const value = await this.get(key, options);
    return value === null ? null : text.decode(value);
  }

  /**
   * Sets `key` to `value`; resolves with the index it committed at. Rejects with `RaftkitError`, or
   * `OutcomeUnknownError` when it may have applied (retrying a plain write could apply it twice: use
   * `session()` for writes that must apply once).
   */
  async put(key: string, value: string | Uint8Array, options: CallOptions = {}): Promise<{ index: number }> {
    return this.write({ method: 'PUT', key, body: value as BodyInit }, options);
  }

  /** Deletes `key` (absent keys included); resolves with the index it committed at. Errors as for `put`. */
  async delete(key: string, options: CallOptions = {}): Promise<{ index: number }> {
    return this.write({ method: 'DELETE', key }, options);
  }

  /** Sets `key` to `value` if it holds `expected` (`null`: absent; a `null` value deletes). */
  async cas(
    key: string,
    expected: string | null,
    value: string | null,
    options: CallOptions = {},
  ): Promise<CasResult> {
    return casResult(this.casOnce(key, expected, value, undefined, false, options));
  }

  /** Keys with `prefix`, after `after`, in order; pass `next` as `after` for the next page. */
  async list(
    options: ReadOptions & { prefix?: string; after?: string; limit?: number } = {},
  ): Promise<{ keys: string[]; next: string | null }> {
    const query = new URLSearchParams({ consistency: options.consistency ?? 'linearizable' });
    if (options.prefix !== undefined) query.set('prefix', options.prefix);
    if (options.after !== undefined) query.set('after', options.after);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const response = await this.request({
      method: 'GET',
      path: `/v1/kv?${query.toString().replaceAll('+', '%20')}`,
      target: options.consistency === 'lease' ? 'leader' : 'any',
      idempotent: true,
      ...signalOf(options),
    });
    return (await response.json()) as { keys: string[]; next: string | null };
  }

  /** One node's status: any endpoint's by default, or, asked once with no retry, the one at `url`. */
  async status(options: CallOptions & { url?: string } = {}): Promise<NodeStatus> {
    const url = options.url === undefined ? undefined : normalizeUrl(options.url);
    const response = await this.request({
      method: 'GET',
      path: '/v1/status',
      target: 'any',
      idempotent: true,
      ...signalOf(options),
      ...(url === undefined ? {} : { url }),
    });
    return (await response.json()) as NodeStatus;
  }

  /** The cluster's members as the answering node knows them. */
  async members(options: CallOptions = {}): Promise<readonly MemberStatus[]> {
    return (await this.status(options)).members;
  }

  /**
   * Adds a member listening at `url`, as a voter or a learner (a learner receives the log but does not vote
   * until promoted); resolves with the new membership.
   */
  async addMember(
    id: string,
    url: string,
    role: 'voter' | 'learner' = 'voter',
    options: CallOptions = {},
  ): Promise<{ members: readonly MemberStatus[] }> {
    return this.admin('POST', '/v1/members', { id, url, role }, options);
  }

  /** Removes member `id` from the cluster; resolves with the new membership. */
  async removeMember(id: string, options: CallOptions = {}): Promise<{ members: readonly MemberStatus[] }> {
    return this.admin('DELETE', `/v1/members/${encodeURIComponent(id)}`, undefined, options);
  }

  /**
   * Makes learner `id` a voter once it has caught up; rejects with code `LearnerCatchingUp` before then
   * (retry shortly).
   */
  async promote(id: string, options: CallOptions = {}): Promise<{ members: readonly MemberStatus[] }> {
    return this.admin('POST', `/v1/members/${encodeURIComponent(id)}/promote`, undefined, options);
  }

  /** Moves leadership to `to`; resolves with the new leader. */
  async transferLeadership(to: string, options: CallOptions = {}): Promise<{ leader: string | null }> {
    const response = await this.request({
      method: 'POST',
      path: '/v1/leader/transfer',
      body: JSON.stringify({ to }),
      headers: { 'content-type': 'application/json' },
      target: 'leader',
      idempotent: false,
      ...signalOf(options),
    });
    this.#leaderUrl = null;
    return (await response.json()) as { leader: string | null };
  }

  /**
   * Opens a session for exactly-once writes (see `ClientSession`). Retried like a read: an open
   * whose answer was lost leaves an unused session behind, which expires by itself.
   */
  async session(options: CallOptions = {}): Promise<ClientSession> {
    const response = await this.request({
      method: 'POST',
      path: '/v1/sessions',
      target: 'leader',
      idempotent: true,
      ...signalOf(options),
    });
    const { session, ttlMs } = (await response.json()) as { session: number; ttlMs: number };
    return new ClientSession(this, session, ttlMs);
  }

  /** @internal The admin routes: any node passes them on to the leader. */
  async admin(
    method: 'POST' | 'DELETE',
    path: string,
    json: unknown,
    options: CallOptions,
  ): Promise<{ members: readonly MemberStatus[] }> {
    const response = await this.request({
      method,
      path,
      ...(json === undefined
        ? {}
        : { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } }),
      target: 'leader',
      idempotent: false,
      ...signalOf(options),
    });
    return (await response.json()) as { members: readonly MemberStatus[] };
  }

  /** @internal A put or delete, plain or (with `session` headers) in a session. */
  async write(
    call: { method: 'PUT' | 'DELETE'; key: string; body?: BodyInit },
    options: CallOptions,
    session?: Readonly<Record<string, string>>,
  ): Promise<{ index: number }> {
    const response = await this.request({
      method: call.method,
      path: `/v1/kv/${encodeURIComponent(call.key)}`,
      ...(call.body === undefined ? {} : { body: call.body }),
      ...(session === undefined ? {} : { headers: session }),
      target: 'leader',
      idempotent: session !== undefined,
      ...signalOf(options),
    });
    return (await response.json()) as { index: number };
  }

  /** @internal One compare-and-swap request; a mismatch comes back as the server's 409. */
  async casOnce(
    key: string,
    expected: string | null,
    value: string | null,
    session: Readonly<Record<string, string>> | undefined,
    idempotent: boolean,
    options: CallOptions,
  ): Promise<{ index: number }> {
    const response = await this.request({
      method: 'POST',
      path: `/v1/kv/${encodeURIComponent(key)}/cas`,
      body: JSON.stringify({ expected, value }),
      headers: { 'content-type': 'application/json', ...session },
      target: 'leader',
      idempotent,
      ...signalOf(options),
    });
    return (await response.json()) as { index: number };
  }

  /**
   * Sends one call by the retry rules: a 503, or a network failure of an idempotent call, moves
   * on to another node after a back-off; a `leaderUrl` hint is followed at once; a 504, or a
   * network failure of a call that is not idempotent, is `OutcomeUnknownError`.
   */
  async request(call: Call): Promise<Response> {
    const { timeoutMs } = this.#options;
    const retries = call.url === undefined ? this.#options.retries : 0;
    let lastError: RaftkitError | null = null;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (call.signal?.aborted)
        throw new RaftkitError('Aborted', 0, 'aborted by the caller', {}, call.signal.reason);
      if (attempt > 0) await this.#backOff(attempt, lastError, call.signal);
      const base = call.url ?? this.#pick(call.target);
      const headers: Record<string, string> = { ...call.headers };
      if (this.#options.token !== null) headers.authorization = `Bearer ${this.#options.token}`;
      const deadline = call.stream === true ? headersDeadline(timeoutMs) : wholeDeadline(timeoutMs);
      const signal = combine(call.signal, deadline.signal);
      let response: Response;
      try {
        response = await this.#options.fetch(`${base}${call.path}`, {
          method: call.method,
          headers,
          ...(call.body === undefined ? {} : { body: call.body }),
          signal,
        });
        deadline.answered();
      } catch (cause) {
        deadline.answered();
        if (call.signal?.aborted) throw new RaftkitError('Aborted', 0, 'aborted by the caller', {}, cause);
        if (call.target === 'leader') this.#leaderUrl = null;
        if (!call.idempotent) {
          throw new OutcomeUnknownError(
            `${call.method} ${call.path} at ${base}: no answer (${describe(cause)})`,
            0,
            cause,
          );
        }
        lastError = new RaftkitError('Network', 0, `${base}: ${describe(cause)}`, {}, cause);
        continue;
      }
      if (response.ok) {
        if (call.target === 'leader') this.#leaderUrl = base;
        return response;
      }
      const body = await errorBody(response);
      const error = (body.error ?? {}) as { code?: unknown; message?: unknown };
      const code = typeof error.code === 'string' ? error.code : `HTTP${response.status}`;
      const message = `${response.status} ${code}: ${typeof error.message === 'string' ? error.message : ''}`;
      if (response.status === 504) {
        if (!call.idempotent) throw new OutcomeUnknownError(message, 504);
        lastError = new RaftkitError(code, 504, message, body);
        continue;
      }
      if (response.status === 503) {
        // A follower that knows the leader names it: go there next, without waiting.
        this.#leaderUrl = typeof body.leaderUrl === 'string' ? normalizeUrl(body.leaderUrl) : null;
        lastError = new RaftkitError(code, 503, message, body);
        continue;
      }
      throw new RaftkitError(code, response.status, message, body);
    }
    // A write retried as often as allowed, the last attempt unanswered: it may have applied.
    if (lastError !== null && call.method !== 'GET' && (lastError.status === 504 || lastError.status === 0)) {
      throw new OutcomeUnknownError(
        `${call.method} ${call.path}: ${lastError.message}`,
        lastError.status,
        lastError,
      );
    }
    throw lastError ?? new RaftkitError('Network', 0, 'no attempt was made');
  }

  /** The leader when one is known and wanted, else the endpoints in turn (spreading reads). */
  #pick(target: 'leader' | 'any'): string {
    if (target === 'leader' && this.#leaderUrl !== null) return this.#leaderUrl;
    const url = this.#endpoints[this.#next % this.#endpoints.length]!;
    this.#next++;
    return url;
  }

  /**
   * Full jitter ("exponential backoff and jitter"): a random wait below a ceiling that doubles per
   * attempt, so clients that failed together do not retry together. A fresh leader hint is tried
   * at once. The server's `Retry-After` (whole seconds) is coarser than this and is not waited out.
   */
  async #backOff(attempt: number, last: RaftkitError | null, signal: AbortSignal | undefined): Promise<void> {
    if (attempt === 1 && last?.status === 503 && this.#leaderUrl !== null) return;
    const { backoffMs, maxBackoffMs, random } = this.#options;
    await sleep(random() * Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1)), signal);
  }
}

/** A 409 `CasMismatch` is an answer, not a failure: the value found comes back. */
export async function casResult(request: Promise<{ index: number }>): Promise<CasResult> {
  try {
    const { index } = await request;
    return { swapped: true, index };
  } catch (error) {
    if (error instanceof RaftkitError && error.code === 'CasMismatch') {
      const { index, current } = error.body as { index?: unknown; current?: unknown };
      return {
        swapped: false,
        index: typeof index === 'number' ? index : 0,
        current: typeof current === 'string' ? current : null,
      };
    }
    throw error;
  }
}

const signalOf = (options: CallOptions): { signal?: AbortSignal } =>
  options.signal === undefined ? {} : { signal: options.signal };

/** An attempt's timeout: its signal, and `answered()` to call once the headers have come (or failed). */
interface Deadline {
  readonly signal: AbortSignal;
  answered(): void;
}

/** Covers the whole exchange, body included. */
const wholeDeadline = (ms: number): Deadline => ({ signal: AbortSignal.timeout(ms), answered() {} });

/** Covers the wait for the headers; once they come, the body may take as long as it takes. */
function headersDeadline(ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('no answer within the timeout', 'TimeoutError')),
    ms,
  );
  return { signal: controller.signal, answered: () => clearTimeout(timer) };
}

function combine(caller: AbortSignal | undefined, timeout: AbortSignal): AbortSignal {
  return caller === undefined ? timeout : AbortSignal.any([caller, timeout]);
}

/** A base URL without trailing slashes; `host:port` alone means http. */
export function normalizeUrl(url: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  if (!URL.canParse(withScheme)) throw new RangeError(`not a URL: ${JSON.stringify(url)}`);
  return withScheme.replace(/\/+$/, '');
}

/** A failure's message, with the system's reason where fetch hides it in `cause` (ECONNREFUSED, ...). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const reason = typeof cause?.code === 'string' ? cause.code : cause?.message;
  return typeof reason === 'string' ? `${error.message} (${reason})` : error.message;
}

async function errorBody(response: Response): Promise<Record<string, unknown>> {
  try {
    const body: unknown = await response.json();
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
    };
    const aborted = () => {
      done();
      reject(new RaftkitError('Aborted', 0, 'aborted by the caller', {}, signal?.reason));
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
