import { KvCommandError } from './command.ts';

/**
 * Client sessions for exactly-once writes (Raft dissertation §6.3). A client opens a session (its
 * id is the index of the entry that opened it: unique, and the same on every replica) and numbers
 * its writes 1, 2, 3, ... Each write also says which of its numbers the client has had answers for
 * (all below `acked`), so the replicas can forget those. A write whose number was applied before
 * is not applied again: the replica answers with the first outcome it recorded. So a write
 * retried after a timeout or a leader change takes effect at most once.
 *
 * Everything here is deterministic, decided by the log alone, so every replica keeps the same
 * table: time is the largest wall-clock stamp any applied session command carried (stamped by the
 * node that took the client's request), and a session unused for `SESSION_TTL_MS` of that time
 * expires. The bounds are constants of the code, not configuration, for the same reason.
 */
export const SESSION_TTL_MS = 10 * 60 * 1000;
/** Sessions kept at most; opening one more evicts the one unused for longest. */
export const MAX_SESSIONS = 50_000;
/** Unacknowledged answers kept per session; the oldest are forgotten past it. */
export const MAX_ANSWERS_PER_SESSION = 1024;

/** The first outcome of a numbered write: the index it applied at and what applying it returned. */
export interface RecordedAnswer<R> {
  readonly index: number;
  readonly result: R;
}

/** What a write in a client session did (Raft dissertation §6.3). */
export type SessionOutcome<R> =
  /** Applied now, at this entry. */
  | { readonly status: 'applied'; readonly index: number; readonly result: R }
  /** Applied before: the first answer, unchanged. */
  | { readonly status: 'duplicate'; readonly index: number; readonly result: R }
  /** The session expired or never existed: nothing was applied; open a new one. */
  | { readonly status: 'expired' }
  /** The number is one the client acknowledged (or one forgotten past the bound): nothing was applied. */
  | { readonly status: 'stale' };

interface Session<R> {
  lastActive: number;
  /** Every number below it has been answered to the client: forgotten. */
  acked: number;
  /** Answers by number, in the order they applied. */
  readonly answers: Map<number, RecordedAnswer<R>>;
}

export class ClientSessions<R> {
  /** Insertion order is least recently used first: a session moves to the end when used. */
  readonly #sessions = new Map<number, Session<R>>();
  #clock = 0;

  get size(): number {
    return this.#sessions.size;
  }

  /** The session opened by the entry at `index`; returns its id. */
  open(index: number, time: number): number {
    this.#advance(time);
    if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    this.#sessions.set(index, { lastActive: this.#clock, acked: 1, answers: new Map() });
    return index;
  }

  /** Runs `apply` for write `seq` of `id` unless it ran before, as the entry at `index`. */
  write(
    id: number,
    seq: number,
    acked: number,
    time: number,
    index: number,
    apply: () => R,
  ): SessionOutcome<R> {
    this.#advance(time);
    const session = this.#sessions.get(id);
    if (session === undefined) return { status: 'expired' };
    this.#sessions.delete(id);
    this.#sessions.set(id, session);
    session.lastActive = this.#clock;
    forgetBelow(session, acked);
    const earlier = session.answers.get(seq);
    if (earlier !== undefined) return { status: 'duplicate', ...earlier };
    if (seq < session.acked) return { status: 'stale' };
    const result = apply();
    session.answers.set(seq, { index, result });
    if (session.answers.size > MAX_ANSWERS_PER_SESSION) {
      // The client never acknowledges: forget the oldest answer, and refuse its number (and all
      // below) from now on, since a retry of it could no longer be recognized.
      forgetBelow(session, Math.min(...session.answers.keys()) + 1);
    }
    return { status: 'applied', index, result };
  }

  /** Time moves forward only, and expired sessions (least recently used first) go. */
  #advance(time: number): void {
    if (time > this.#clock) this.#clock = time;
    for (const [id, session] of this.#sessions) {
      if (this.#clock - session.lastActive <= SESSION_TTL_MS) break;
      this.#sessions.delete(id);
    }
  }

  /** The table for a snapshot: `[clock, [id, lastActive, acked, [seq, index, result]...]...]`. */
  export(): SessionsImage<R> {
    return {
      clock: this.#clock,
      sessions: [...this.#sessions].map(([id, s]) => ({
        id,
        lastActive: s.lastActive,
        acked: s.acked,
        answers: [...s.answers].map(([seq, answer]) => ({ seq, ...answer })),
      })),
    };
  }

  /** Replaces the table with a snapshot's (already validated by its decoder). */
  import(image: SessionsImage<R>): void {
    this.#sessions.clear();
    this.#clock = image.clock;
    for (const s of image.sessions) {
      const answers = new Map(s.answers.map((a) => [a.seq, { index: a.index, result: a.result }] as const));
      this.#sessions.set(s.id, { lastActive: s.lastActive, acked: s.acked, answers });
    }
  }
}

function forgetBelow<R>(session: Session<R>, acked: number): void {
  if (acked <= session.acked) return;
  session.acked = acked;
  for (const n of session.answers.keys()) if (n < acked) session.answers.delete(n);
}

export interface SessionsImage<R> {
  readonly clock: number;
  readonly sessions: readonly {
    readonly id: number;
    readonly lastActive: number;
    readonly acked: number;
    readonly answers: readonly { readonly seq: number; readonly index: number; readonly result: R }[];
  }[];
}

/** A session number field from a command or a snapshot: a positive safe integer. */
export function sessionNumber(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new KvCommandError(`${what} is not a valid number`);
  return value;
}
