import type { KvEvent } from '../linearizability/kv-model.ts';
import type { Operation } from './clients.ts';

/**
 * The simulated clients' operations as a key-value history for `checkLinearizable`. Times are
 * the operations' sequence positions, which order events within a tick. Operations that
 * certainly had no effect (refused, or overwritten before they committed) are left out; those
 * whose client stopped waiting may have taken effect, and stay without a response.
 */
export function toKvHistory(operations: readonly Operation[]): KvEvent[] {
  const events: KvEvent[] = [];
  for (const op of operations) {
    if (op.outcome === 'failed') continue;
    const respondedAt = op.outcome === 'ok' ? op.completedSeq : null;
    if (op.kind === 'write') {
      events.push({
        clientId: op.client,
        op: { kind: 'put', key: op.key, value: op.value! },
        invokedAt: op.invokedSeq,
        respondedAt,
        result: respondedAt === null ? { kind: 'unknown' } : { kind: 'ok' },
      });
    } else if (respondedAt !== null) {
      // A read without an answer observed nothing: it constrains nothing and is left out.
      events.push({
        clientId: op.client,
        op: { kind: 'get', key: op.key },
        invokedAt: op.invokedSeq,
        respondedAt,
        result: { kind: 'value', value: op.result ?? null },
      });
    }
  }
  return events;
}
