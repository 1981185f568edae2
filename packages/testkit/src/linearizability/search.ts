import { Random } from '../sim/random.ts';
import type { HistoryEvent } from './history.ts';
import type { Model } from './model.ts';

/**
 * The search for a linearization of one partition: Wing & Gong's depth-first search with Lowe's
 * "just-in-time" improvements as Porcupine implements them.
 *
 * Every operation becomes a call entry and a return entry in one list sorted by time. Walking
 * the list from the front, any call met before the first return is a candidate to linearize
 * next: its operation started before every still-pending operation ended, so placing it next
 * respects real-time order. Linearizing one "lifts" its two entries out of the list; backtracking
 * puts them back ("unlift"), dancing-links style. Meeting a return entry means the operation it
 * ends must come next but cannot, so the search backtracks. A cache of (linearized set, state)
 * pairs already explored prunes the search: two orders that linearized the same operations and
 * reached the same state have the same futures.
 */

/** Where the search must stop: at a wall-clock deadline, and optionally after a number of steps. */
export interface SearchBudget {
  /** A `performance.now()` value. */
  readonly deadline: number;
  /** A deterministic cap, for searches whose outcome must not depend on the machine's speed. */
  readonly maxSteps?: number;
}

export type SearchOutcome<Op, Result> = (
  | { readonly kind: 'linearizable' }
  | {
      readonly kind: 'violation';
      readonly longestPrefix: readonly HistoryEvent<Op, Result>[];
      readonly stuck: readonly HistoryEvent<Op, Result>[];
    }
  | { readonly kind: 'timeout' }
) & {
  /** Configurations tried: the search's cost, independent of the machine. */
  readonly steps: number;
};

interface Entry {
  /** Index of the operation in the partition's events; -1 for the list head. */
  readonly op: number;
  readonly time: number;
  readonly isCall: boolean;
  /**
   * A call's return entry. Null for an operation with unknown outcome: its return is at
   * +infinity, after everything, so it never forces the search to backtrack and need not be
   * linearized at all (leaving it out is the same as placing it last, where nothing observes it).
   */
  readonly ret: Entry | null;
  prev: Entry;
  next: Entry | null;
}

/** How many search steps pass between two looks at the clock. */
const CLOCK_INTERVAL = 4096;

interface Frame<State> {
  /** The call entry linearized here. */
  readonly entry: Entry;
  /** The state before it, restored on backtracking. */
  readonly state: State;
  /** Placed as the only continuation worth trying (see `acceptedRead`): no alternatives remain. */
  readonly forced: boolean;
}

export function searchLinearization<State, Op, Result>(
  model: Model<State, Op, Result>,
  events: readonly HistoryEvent<Op, Result>[],
  budget: SearchBudget,
): SearchOutcome<Op, Result> {
  const maxSteps = budget.maxSteps ?? Number.POSITIVE_INFINITY;
  const mustLinearize = events.filter((e) => e.respondedAt !== null).length;
  const readOnly = events.map((event) => model.readOnly?.(event.op, event.result) ?? false);
  // An unknown-outcome operation that changes nothing can matter to no one: leave it out.
  const head = buildEntries(events, (event, op) => event.respondedAt !== null || !readOnly[op]);
  const visited = new VisitedCache(events.length);
  const frames: Frame<State>[] = [];
  let longest: readonly number[] = [];
  let state = model.init();
  let linearized = 0;

  /**
   * The state after placing `entry` next, or null when the model refuses it there, or when it
   * would make an operation of unknown outcome placed just before it pointless: if `entry`
   * behaves the same without that operation, dropping it gives an equally valid order with one
   * unknown operation fewer, and the order with fewest such operations is the one searched for.
   * This keeps an unknown write (say a delete) from being tried at every later point in the
   * history when nothing that follows it depends on it.
   */
  const accepted = (entry: Entry): { next: State } | null => {
    const { op, result } = events[entry.op]!;
    const [ok, next] = model.step(state, op, result);
    if (!ok) return null;
    const last = frames.at(-1);
    if (last !== undefined && last.entry.ret === null) {
      const [okWithout, nextWithout] = model.step(last.state, op, result);
      if (okWithout && model.hashState(nextWithout) === model.hashState(next)) return null;
    }
    return { next };
  };
  /** Linearizes `entry` next, reaching `next`, unless that configuration was explored before. */
  const place = (entry: Entry, next: State, forced: boolean): boolean => {
    // After an unknown-outcome operation the choices depend on the state before it too (see
    // `accepted`), so that state is part of the configuration.
    const before = entry.ret === null ? `|${model.hashState(state)}` : '';
    if (!visited.firstVisit(entry.op, model.hashState(next) + before)) return false;
    frames.push({ entry, state, forced });
    state = next;
    if (entry.ret !== null) linearized++;
    lift(entry);
    return true;
  };
  /**
   * A candidate that never changes the state and that the model accepts now. If any
   * linearization extends the current prefix, one places this operation next: move it to the
   * front; the state everyone else sees is unchanged, and real time allows it since it was
   * invoked before any pending operation returned. So it is the only branch to try, which saves
   * the search from exploring every interleaving of concurrent reads.
   */
  const acceptedRead = (): { entry: Entry; next: State } | null => {
    for (let entry = head.next; entry?.isCall; entry = entry.next) {
      const read = readOnly[entry.op] ? accepted(entry) : null;
      if (read !== null) return { entry, next: read.next };
    }
    return null;
  };

  // `null`: a configuration just entered, where a forced read is looked for before any scan.
  let entry: Entry | null = null;
  let steps = 0;
  while (linearized < mustLinearize) {
    if (++steps > maxSteps || (steps % CLOCK_INTERVAL === 0 && performance.now() >= budget.deadline)) {
      return { kind: 'timeout', steps };
    }
    if (entry === null) {
      const read = acceptedRead();
      if (read === null) {
        entry = head.next;
        continue;
      }
      if (place(read.entry, read.next, true)) continue;
      // Seen before with this read next: the configuration's futures are already known to fail.
    } else if (entry.isCall) {
      const placement = accepted(entry);
      entry = placement !== null && place(entry, placement.next, false) ? null : entry.next;
      continue;
    }
    // A return entry (the list can only end before one while some operation must still be
    // linearized): the operation it closes cannot be placed next, so undo choices back to the
    // latest one that has alternatives.
    if (frames.length > longest.length) longest = frames.map((frame) => frame.entry.op);
    let frame: Frame<State> | undefined;
    do {
      frame = frames.pop();
      if (frame === undefined) return { ...violation(events, longest), steps };
      state = frame.state;
      visited.remove(frame.entry.op);
      if (frame.entry.ret !== null) linearized--;
      unlift(frame.entry);
    } while (frame.forced);
    entry = frame.entry.next;
  }
  return { kind: 'linearizable', steps };
}

function buildEntries<Op, Result>(
  events: readonly HistoryEvent<Op, Result>[],
  include: (event: HistoryEvent<Op, Result>, op: number) => boolean,
): Entry {
  const entries: Entry[] = [];
  events.forEach((event, op) => {
    if (!include(event, op)) return;
    const ret: Entry | null =
      event.respondedAt === null ? null : makeEntry(op, event.respondedAt, false, null);
    entries.push(makeEntry(op, event.invokedAt, true, ret));
    if (ret !== null) entries.push(ret);
  });
  // Calls sort before returns at equal times: operations whose intervals merely touch count as
  // concurrent, the conservative reading of a clock whose ticks cannot order them.
  entries.sort((a, b) => a.time - b.time || Number(!a.isCall) - Number(!b.isCall));
  const head = makeEntry(-1, Number.NEGATIVE_INFINITY, false, null);
  let last = head;
  for (const entry of entries) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

function makeEntry(op: number, time: number, isCall: boolean, ret: Entry | null): Entry {
  const entry = { op, time, isCall, ret, next: null } as Omit<Entry, 'prev'> as Entry;
  entry.prev = entry;
  return entry;
}

function lift(call: Entry): void {
  unlink(call);
  if (call.ret !== null) unlink(call.ret);
}

/** Exactly reverses {@link lift}; valid because lifts are undone in last-in, first-out order. */
function unlift(call: Entry): void {
  if (call.ret !== null) relink(call.ret);
  relink(call);
}

function unlink(entry: Entry): void {
  entry.prev.next = entry.next;
  if (entry.next !== null) entry.next.prev = entry.prev;
}

function relink(entry: Entry): void {
  entry.prev.next = entry;
  if (entry.next !== null) entry.next.prev = entry;
}

function violation<Op, Result>(events: readonly HistoryEvent<Op, Result>[], longest: readonly number[]) {
  const placed = new Set(longest);
  const pending = events.filter((event, op) => !placed.has(op) && event.respondedAt !== null);
  // The operations that real time allowed to come next: each started before every pending one ended.
  const firstReturn = Math.min(...pending.map((event) => event.respondedAt!));
  return {
    kind: 'violation' as const,
    longestPrefix: longest.map((op) => events[op]!),
    stuck: pending.filter((event) => event.invokedAt <= firstReturn),
  };
}

/**
 * The set of linearized operations as a bitset, plus every (set, state) pair the search has
 * entered. The set's hash is Zobrist-style (XOR of a fixed random word per operation), so adding
 * or removing an operation updates it in O(1); the words themselves are compared only on a hit.
 */
class VisitedCache {
  readonly #bits: Uint32Array;
  readonly #keys: Uint32Array;
  #hash = 0;
  readonly #seen = new Map<string, Uint32Array[]>();

  constructor(size: number) {
    this.#bits = new Uint32Array(Math.ceil(size / 32));
    this.#keys = new Uint32Array(size);
    const random = new Random(0x9e3779b9);
    for (let i = 0; i < size; i++) this.#keys[i] = random.next32();
  }

  /** Adds `op` to the set; true when the new (set, state) pair had not been seen (and is now). */
  firstVisit(op: number, stateHash: string): boolean {
    this.#toggle(op);
    const key = `${this.#hash}:${stateHash}`;
    const bucket = this.#seen.get(key);
    if (bucket === undefined) {
      this.#seen.set(key, [this.#bits.slice()]);
      return true;
    }
    if (bucket.some((bits) => sameWords(bits, this.#bits))) {
      this.#toggle(op);
      return false;
    }
    bucket.push(this.#bits.slice());
    return true;
  }

  remove(op: number): void {
    this.#toggle(op);
  }

  #toggle(op: number): void {
    this.#bits[op >>> 5]! ^= 1 << (op & 31);
    this.#hash = (this.#hash ^ this.#keys[op]!) >>> 0;
  }
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
