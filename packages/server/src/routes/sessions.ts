import { Hono } from 'hono';
import { ApiError } from '../api-error.ts';
import { encodeCommand } from '../kv/command.ts';
import { SESSION_TTL_MS } from '../kv/sessions.ts';
import type { ServerNode } from '../server-node.ts';

/** A write in a client session names it, its number, and the numbers answered so far. */
export const SESSION_HEADER = 'raftkit-session';
export const SEQUENCE_HEADER = 'raftkit-seq';
/** Every number below this one has been answered to the client: the replicas may forget them. */
export const ACKED_HEADER = 'raftkit-acked';
/** Set on the answer to a write that had applied before: this is its first outcome. */
export const DUPLICATE_HEADER = 'raftkit-duplicate';

export interface SessionRequest {
  readonly session: number;
  readonly seq: number;
  readonly acked: number;
}

/** The session headers of a write, or null when it names no session; 400 when they are partial or not numbers. */
export function sessionOf(headers: Headers): SessionRequest | null {
  const session = headers.get(SESSION_HEADER);
  const seq = headers.get(SEQUENCE_HEADER);
  const acked = headers.get(ACKED_HEADER);
  if (session === null && seq === null && acked === null) return null;
  const number = (text: string | null, name: string, least: number): number => {
    const n = Number(text);
    if (text === null || !/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < least) {
      throw new ApiError('BadRequest', `${name} must be an integer of at least ${least}`);
    }
    return n;
  };
  const request = {
    session: number(session, SESSION_HEADER, 1),
    seq: number(seq, SEQUENCE_HEADER, 1),
    acked: acked === null ? 1 : number(acked, ACKED_HEADER, 1),
  };
  if (request.acked > request.seq)
    throw new ApiError('BadRequest', `${ACKED_HEADER} cannot be past ${SEQUENCE_HEADER}`);
  return request;
}

/**
 * `POST /v1/sessions`: opens a client session for exactly-once writes (Raft dissertation §6.3).
 * Any node takes it; the id is the index of the entry that opened it.
 */
export function sessionRoutes(node: ServerNode): Hono {
  return new Hono().post('/', async (c) => {
    const { result } = await node.propose(encodeCommand({ op: 'openSession', time: Date.now() }), {
      signal: c.req.raw.signal,
    });
    const opened = result as { session?: unknown };
    if (typeof opened?.session !== 'number') throw new ApiError('Internal', 'the session was not opened');
    return c.json({ session: opened.session, ttlMs: SESSION_TTL_MS });
  });
}
