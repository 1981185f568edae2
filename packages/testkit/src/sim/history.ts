import type { KvEvent, KvOp, KvResult } from '../linearizability/kv-model.ts';
import type { Operation } from './clients.ts';

/**
 * The simulated clients' operations as a key-value history for `checkLinearizable`. Times are
 * the operations' sequence positions, which order events within a tick. Operations that
 * certainly had no effect (refused, or overwritten before they committed) are left out; those
 * whose client stopped waiting may have taken effect, and stay without a response. Stale reads
 * are left out too: they never claimed linearizability (the simulator checks them against a
 * weaker rule as they happen, see `Clients`).
 */
export function toKvHistory(operations: readonly Operation[]): KvEvent[] {
  const events: KvEvent[] = [];
  for (const op of operations) {
    if (op.outcome === 'failed' || op.mode === 'stale') continue;
    const respondedAt = op.outcome === 'ok' ? op.completedSeq : null;
    // A read without an answer observed nothing: it constrains nothing and is left out.
    if (op.kind === 'read' && respondedAt === null) continue;
    events.push({
      clientId: op.client,
      op: kvOp(op),
      invokedAt: op.invokedSeq,
      respondedAt,
      result: respondedAt === null ? { kind: 'unknown' } : kvResult(op),
    });
  }
  return events;
}

function kvOp(op: Operation): KvOp {
  switch (op.kind) {
    case 'write':
      return { kind: 'put', key: op.key, value: op.value! };
    case 'cas':
      return { kind: 'cas', key: op.key, expected: op.expected ?? null, value: op.value! };
    case 'read':
      return { kind: 'get', key: op.key };
  }
}

function kvResult(op: Operation): KvResult {
  switch (op.kind) {
    case 'write':
      return { kind: 'ok' };
    case 'cas':
      return op.casStored ? { kind: 'ok' } : { kind: 'casFailed', current: op.result ?? null };
    case 'read':
      return { kind: 'value', value: op.result ?? null };
  }
}
