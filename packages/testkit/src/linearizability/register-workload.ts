import { Random } from '../sim/random.ts';
import type { KvEvent, KvOp, KvResult } from './kv-model.ts';

export interface WorkloadOptions {
  readonly seed: number;
  /** Clients issuing operations one at a time each; the history's concurrency. */
  readonly clients: number;
  readonly operations: number;
  readonly keys: number;
  /** The chance that a client gives up on an operation, which then may or may not take effect. */
  readonly unknownRate: number;
}

/** Logical time a client waits before giving up on an operation. */
const CLIENT_TIMEOUT = 30;

/**
 * A history shaped like the simulator's: sequential clients, overlapping operations, some that
 * time out. Every operation that takes effect does so at one instant inside its interval (for a
 * timed-out one, anywhere after its invocation) against a sequential store, so the history is
 * linearizable by construction: for bench figures and large-scale tests.
 */
export function registerWorkload(options: WorkloadOptions): KvEvent[] {
  const random = new Random(options.seed);
  const int = (low: number, high: number) => random.int(low, high);
  const chance = (p: number) => random.float() < p;
  const clientFreeAt = new Array<number>(options.clients).fill(0);
  const recentValues = new Map<string, string[]>();
  const planned: {
    clientId: number;
    op: KvOp;
    invokedAt: number;
    effectAt: number | null;
    respondedAt: number | null;
  }[] = [];

  for (let n = 0; n < options.operations; n++) {
    const clientId = n % options.clients;
    const key = `k${int(0, options.keys - 1)}`;
    const recent = recentValues.get(key) ?? [];
    const value = `v${n}`;
    const roll = int(0, 99);
    const op: KvOp =
      roll < 50
        ? { kind: 'get', key }
        : roll < 85
          ? { kind: 'put', key, value }
          : roll < 95
            ? { kind: 'cas', key, expected: recent[int(0, recent.length)] ?? null, value }
            : { kind: 'delete', key };
    if (op.kind !== 'get' && op.kind !== 'delete') recentValues.set(key, [value, ...recent.slice(0, 2)]);

    const invokedAt = clientFreeAt[clientId]! + int(0, 3);
    if (chance(options.unknownRate)) {
      const effectAt = chance(0.5) ? invokedAt + int(0, 3 * CLIENT_TIMEOUT) : null;
      planned.push({ clientId, op, invokedAt, effectAt, respondedAt: null });
      clientFreeAt[clientId] = invokedAt + CLIENT_TIMEOUT;
    } else {
      const effectAt = invokedAt + int(0, 10);
      const respondedAt = effectAt + int(0, 10);
      planned.push({ clientId, op, invokedAt, effectAt, respondedAt });
      clientFreeAt[clientId] = respondedAt;
    }
  }

  const results = new Map<number, KvResult>();
  const store = new Map<string, string>();
  const byEffect = [...planned.keys()].filter((i) => planned[i]!.effectAt !== null);
  byEffect.sort((a, b) => planned[a]!.effectAt! - planned[b]!.effectAt! || a - b);
  for (const i of byEffect) results.set(i, applyToStore(store, planned[i]!.op));

  return planned
    .map(({ clientId, op, invokedAt, respondedAt }, i) => ({
      clientId,
      op,
      invokedAt,
      respondedAt,
      result: respondedAt === null ? { kind: 'unknown' as const } : results.get(i)!,
    }))
    .sort((a, b) => a.invokedAt - b.invokedAt);
}

function applyToStore(store: Map<string, string>, op: KvOp): KvResult {
  const current = store.get(op.key) ?? null;
  const set = (value: string | null) => (value === null ? store.delete(op.key) : store.set(op.key, value));
  switch (op.kind) {
    case 'get':
      return { kind: 'value', value: current };
    case 'put':
      set(op.value);
      return { kind: 'ok' };
    case 'delete':
      set(null);
      return { kind: 'ok' };
    case 'cas':
      if (current !== op.expected) return { kind: 'casFailed', current };
      set(op.value);
      return { kind: 'ok' };
  }
}
