import { describe, expect, it } from 'vitest';
import { checkLinearizable } from './kv-check.ts';
import type { KvEvent } from './kv-model.ts';
import { registerWorkload } from './register-workload.ts';

// No time budget: these check verdicts, not speed (the bench measures speed); vitest's own test
// timeout is the guard against a search that blows up.
const unlimited = { timeoutMs: Number.POSITIVE_INFINITY };

describe('simulator-sized histories', () => {
  const history = registerWorkload({ seed: 7, clients: 8, operations: 3000, keys: 2, unknownRate: 0.03 });

  it('are accepted when linearizable by construction', () => {
    expect(history.some((event) => event.respondedAt === null)).toBe(true);
    expect(checkLinearizable(history, unlimited)).toEqual({ ok: true });
  });

  it('are rejected, with a short witness, when one late read returns a long-overwritten value', () => {
    const isRead = (event: KvEvent) => event.op.kind === 'get' && event.respondedAt !== null;
    const early = history.find((event) => event.op.kind === 'put' && event.respondedAt !== null)!;
    const late = history.findLast((event) => isRead(event) && event.op.key === early.op.key)!;
    const value = early.op.kind === 'put' ? early.op.value : null;
    const stale: KvEvent = { ...late, result: { kind: 'value', value } };
    const result = checkLinearizable(
      history.map((event) => (event === late ? stale : event)),
      unlimited,
    );
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.key).toBe(early.op.key);
    expect(result.witness).toContain(stale);
    expect(result.witness).toContain(early);
    expect(result.witness.length).toBeLessThan(10);
  });
});
