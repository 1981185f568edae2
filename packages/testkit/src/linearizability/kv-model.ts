import { type HistoryEvent, HistoryRecorder } from './history.ts';
import type { Model } from './model.ts';

/**
 * The key-value store's operations as a client issues them. `cas` with `value: null` deletes the
 * key; `expected: null` means "only if absent".
 */
export type KvOp =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'get'; readonly key: string }
  | {
      readonly kind: 'cas';
      readonly key: string;
      readonly expected: string | null;
      readonly value: string | null;
    };

/** What a key-value operation answered, as the client saw it. */
export type KvResult =
  /** A put, delete or successful cas was applied. */
  | { readonly kind: 'ok' }
  /** A read's answer; null when the key is absent. */
  | { readonly kind: 'value'; readonly value: string | null }
  /** A cas found `current` instead of its expected value and changed nothing. */
  | { readonly kind: 'casFailed'; readonly current: string | null }
  /** No response came; the operation may have been applied or not. */
  | { readonly kind: 'unknown' };

/** One operation of a key-value history, with its invocation and response times. */
export type KvEvent = HistoryEvent<KvOp, KvResult>;

/** A recorder for key-value histories; `clock` is the caller's logical clock. */
export const kvRecorder = (clock: () => number): HistoryRecorder<KvOp, KvResult> =>
  new HistoryRecorder(clock, { kind: 'unknown' });

/** The value of one key; null when absent. Keys are independent, so each is checked alone. */
export type RegisterState = string | null;

/** The sequential specification of one key, starting from `initial`. */
export function registerModel(initial: RegisterState): Model<RegisterState, KvOp, KvResult> {
  return {
    init: () => initial,
    step: stepRegister,
    readOnly: (op, result) => op.kind === 'get' || result.kind === 'casFailed',
    // Injective: null is the only state encoded as the empty string.
    hashState: (state) => (state === null ? '' : `=${state}`),
  };
}

function stepRegister(state: RegisterState, op: KvOp, result: KvResult): readonly [boolean, RegisterState] {
  switch (op.kind) {
    case 'put':
      return [true, op.value];
    case 'delete':
      return [true, null];
    case 'get':
      return [result.kind === 'unknown' || (result.kind === 'value' && result.value === state), state];
    case 'cas': {
      const applies = state === op.expected;
      if (result.kind === 'ok') return [applies, op.value];
      if (result.kind === 'casFailed') return [!applies && result.current === state, state];
      return [true, applies ? op.value : state];
    }
  }
}

/**
 * Throws on an event the checker cannot interpret, naming the event: a result kind the operation
 * cannot produce, a response before its invocation, or a response time without a result.
 */
export function validateKvEvent(event: KvEvent, position: number): void {
  const { op, result, invokedAt, respondedAt } = event;
  const where = `history[${position}] (${op.kind} on ${JSON.stringify(op.key)})`;
  if (!Number.isFinite(invokedAt)) throw new RangeError(`${where}: invokedAt must be a finite number`);
  if (respondedAt !== null && !(respondedAt >= invokedAt && Number.isFinite(respondedAt))) {
    throw new RangeError(
      `${where}: respondedAt ${respondedAt} is not a finite time at or after invokedAt ${invokedAt}`,
    );
  }
  if ((respondedAt === null) !== (result.kind === 'unknown')) {
    throw new TypeError(`${where}: respondedAt is null exactly when the result is 'unknown'`);
  }
  const allowed: Record<KvOp['kind'], readonly KvResult['kind'][]> = {
    put: ['ok', 'unknown'],
    delete: ['ok', 'unknown'],
    get: ['value', 'unknown'],
    cas: ['ok', 'casFailed', 'unknown'],
  };
  if (!allowed[op.kind].includes(result.kind)) {
    throw new TypeError(`${where}: a ${op.kind} cannot return '${result.kind}'`);
  }
}

/**
 * The value an event may leave in its key, or undefined for one that never changes it. A cas of
 * unknown outcome counts: it may have been applied.
 */
export function writtenValue(event: KvEvent): RegisterState | undefined {
  const { op, result } = event;
  if (op.kind === 'put') return op.value;
  if (op.kind === 'delete') return null;
  if (op.kind === 'cas' && result.kind !== 'casFailed') return op.value;
  return undefined;
}

/**
 * The values that, held by the key, let an event be accepted where another value might not:
 * what a read returned or a failed cas reported, what a cas that may have applied expected. A
 * failed cas's expected value is not one: holding it would make that cas wrong, never right.
 */
export function observedValues(event: KvEvent): RegisterState[] {
  const { op, result } = event;
  if (op.kind === 'get') return result.kind === 'value' ? [result.value] : [];
  if (op.kind !== 'cas') return [];
  return [result.kind === 'casFailed' ? result.current : op.expected];
}

/**
 * Removes what cannot change the verdict, to shrink the search:
 * - reads with unknown outcome: they change nothing and nobody saw their answer;
 * - writes with unknown outcome whose value no event observes. Were one applied, until the next
 *   write no read could see its value and no cas could match or report it (nor fail expecting
 *   it); the only events in that window are unknown-outcome cas no-ops, which may be left out too. So a linearization
 *   that includes it yields one without it, and leaving an unknown write out is always allowed.
 */
export function pruneUnobservable(events: readonly KvEvent[]): KvEvent[] {
  const observed = new Set(events.flatMap(observedValues));
  return events.filter((event) => {
    if (event.respondedAt !== null) return true;
    const written = writtenValue(event);
    return written !== undefined && observed.has(written);
  });
}

/** One event as a line: `c2 [10, 14] put("k", "v") -> ok`. */
export function renderKvEvent(event: KvEvent): string {
  const { clientId, op, result, invokedAt, respondedAt } = event;
  const interval = `[${invokedAt}, ${respondedAt ?? '?'}]`;
  return `c${clientId} ${interval} ${renderOp(op)} -> ${renderResult(result)}`;
}

function renderOp(op: KvOp): string {
  const key = JSON.stringify(op.key);
  switch (op.kind) {
    case 'put':
      return `put(${key}, ${JSON.stringify(op.value)})`;
    case 'delete':
      return `delete(${key})`;
    case 'get':
      return `get(${key})`;
    case 'cas':
      return `cas(${key}, ${JSON.stringify(op.expected)} => ${JSON.stringify(op.value)})`;
  }
}

function renderResult(result: KvResult): string {
  switch (result.kind) {
    case 'ok':
      return 'ok';
    case 'value':
      return JSON.stringify(result.value);
    case 'casFailed':
      return `failed, current ${JSON.stringify(result.current)}`;
    case 'unknown':
      return 'unknown';
  }
}
