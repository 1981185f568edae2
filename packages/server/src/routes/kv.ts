import { type Context, Hono } from 'hono';
import { ApiError } from '../api-error.ts';
import { readBody, readJsonObject } from '../body.ts';
import { encodeCommand, type KvWrite } from '../kv/command.ts';
import { keyInPath, queryText } from '../kv/key.ts';
import type { KvStateMachine, KvWriteResult } from '../kv/kv-state-machine.ts';
import type { SessionOutcome } from '../kv/sessions.ts';
import type { Limits } from '../limits.ts';
import type { ReadConsistency, ServerNode } from '../server-node.ts';
import { DUPLICATE_HEADER, sessionOf } from './sessions.ts';

const utf8 = new TextEncoder();
const CONSISTENCIES: readonly ReadConsistency[] = ['linearizable', 'lease', 'stale'];
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

/** `/v1/kv`: reads from the local state machine after the driver says it may; writes through Raft. */
export function kvRoutes(node: ServerNode, kv: KvStateMachine, limits: Limits): Hono {
  /** The key of `/:key` (`fromEnd` 0) or `/:key/cas` (1), by the rules of `kv/key.ts`. */
  const keyOf = (url: string, fromEnd = 0): string => keyInPath(url, fromEnd, limits.maxKeyBytes);

  /**
   * Proposes a write; in the client's session when the request names one (exactly-once: a
   * retried write answers with its first outcome, marked by the `raftkit-duplicate` header).
   */
  const write = async (c: Context, command: KvWrite) => {
    // No request signal: a write commits whether or not its client stays to hear it, and the
    // waiter it would free early ends with the apply or the proposal timeout anyway. On Node the
    // signal (an AbortController and listeners per request) was 4 % of the leader's CPU.
    const session = sessionOf(c.req.raw.headers);
    if (session === null) {
      const { index, result } = await node.propose(encodeCommand(command));
      return { index, result: result as KvWriteResult };
    }
    const { result } = await node.propose(
      encodeCommand({ op: 'session', ...session, time: Date.now(), write: command }),
    );
    const outcome = result as SessionOutcome<KvWriteResult>;
    if (outcome.status === 'expired') {
      throw new ApiError(
        'SessionExpired',
        `session ${session.session} expired or never existed: open a new one`,
      );
    }
    if (outcome.status === 'stale') {
      throw new ApiError(
        'StaleRequest',
        `request ${session.seq} of session ${session.session} was acknowledged already, or is too old to recognize`,
      );
    }
    if (outcome.status === 'duplicate') c.header(DUPLICATE_HEADER, 'true');
    return { index: outcome.index, result: outcome.result };
  };

  const awaitRead = async (consistency: string | undefined, request: Request) => {
    const mode = (consistency ?? 'linearizable') as ReadConsistency;
    if (!CONSISTENCIES.includes(mode)) {
      throw new ApiError('BadRequest', `consistency must be one of ${CONSISTENCIES.join(', ')}`);
    }
    // The request's signal only for a read that waits: on Node making it was about 5 % of the
    // server's CPU under lease reads.
    if (!node.readNow(mode)) await node.read(mode, { signal: request.signal });
  };

  return new Hono()
    .get('/', async (c) => {
      const prefix = queryText(c.req.url, 'prefix') ?? '';
      const after = queryText(c.req.url, 'after') ?? null;
      const limitText = c.req.query('limit');
      const limit = limitText === undefined ? DEFAULT_PAGE : Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
        throw new ApiError('BadRequest', `limit must be an integer from 1 to ${MAX_PAGE}`);
      }
      await awaitRead(c.req.query('consistency'), c.req.raw);
      // One extra key tells whether another page exists without a second lookup.
      const keys = kv.list(prefix, after, limit + 1);
      const more = keys.length > limit;
      if (more) keys.pop();
      return c.json({ keys, next: more ? keys[keys.length - 1]! : null });
    })
    .get('/:key', async (c) => {
      const key = keyOf(c.req.url);
      await awaitRead(c.req.query('consistency'), c.req.raw);
      const value = kv.get(key);
      if (value === undefined) throw new ApiError('NotFound', `no key ${JSON.stringify(key)}`);
      return c.body(value as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream' });
    })
    .put('/:key', async (c) => {
      const key = keyOf(c.req.url);
      const value = await readBody(c.req.raw, limits.maxValueBytes, 'the value');
      const { index } = await write(c, { op: 'put', key, value });
      return c.json({ index });
    })
    .delete('/:key', async (c) => {
      const key = keyOf(c.req.url);
      const { index } = await write(c, { op: 'delete', key });
      return c.json({ index });
    })
    .post('/:key/cas', async (c) => {
      const key = keyOf(c.req.url, 1);
      // Two values and the JSON around them.
      const body = await readJsonObject(c.req.raw, 2 * limits.maxValueBytes + 1024);
      const expected = optionalText(body, 'expected');
      const value = optionalText(body, 'value');
      if (value !== null && value.length > limits.maxValueBytes) {
        throw new ApiError('PayloadTooLarge', `the value exceeds the limit of ${limits.maxValueBytes} bytes`);
      }
      const { index, result } = await write(c, { op: 'cas', key, expected, value });
      if (result === null || !result.swapped) {
        const current = result === null ? null : result.current;
        throw new ApiError('CasMismatch', 'the current value differs from the expected one', {
          index,
          current: current === null ? null : new TextDecoder().decode(current),
        });
      }
      return c.json({ index });
    });
}

/** A string or null field, as UTF-8 bytes (null stays null: absent). */
function optionalText(body: Record<string, unknown>, field: string): Uint8Array | null {
  const value = body[field];
  if (value === null) return null;
  if (typeof value !== 'string') throw new ApiError('BadRequest', `"${field}" must be a string or null`);
  return utf8.encode(value);
}
