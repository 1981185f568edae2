import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../linearizability/kv-check.ts';
import { toKvHistory } from './history.ts';
import { Simulation } from './simulation.ts';

/** End to end: what the simulated clients saw through partitions and crashes is linearizable. */
describe('simulated client histories', () => {
  it.each([1, 2, 3, 4, 5])('seed %i under the reads mix is linearizable', async (seed) => {
    const simulation = new Simulation({ seed, nodes: 5, mix: 'reads' });
    await simulation.run(400);
    await simulation.check();
    const history = toKvHistory(simulation.history);
    expect(history.filter((e) => e.op.kind === 'get' && e.respondedAt !== null).length).toBeGreaterThan(10);
    expect(checkLinearizable(history, { timeoutMs: 20_000 })).toEqual({ ok: true });
  });
});
