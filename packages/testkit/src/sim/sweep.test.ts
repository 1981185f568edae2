import { describe, expect, it } from 'vitest';
import type { MixName } from './mixes.ts';
import { mixes } from './mixes.ts';
import { describeFailure, planFor, runSeed } from './sweep.ts';

/**
 * The CI seed sweep: every fault mix over clusters of 3, 5 and 1 founding nodes (cycling with
 * the seed), each run checked for safety after every step, for liveness once faults heal, and
 * for a linearizable client history. `npm run sim -- --seeds 100000` runs more offline.
 */
const sweepSeeds: Readonly<Record<MixName, number>> = {
  calm: 300,
  lossy: 300,
  partitions: 300,
  crashes: 300,
  snapshots: 300,
  chaos: 400,
  churn: 300,
  reads: 300,
  membership: 300,
  transfer: 600,
  linearizable: 1000,
  forwarding: 600,
};
const sweepTicks = 600;

describe('simulator seed sweep', () => {
  it.each(Object.keys(mixes) as MixName[])('%s: every seed stays safe and live', async (mix) => {
    const failures: string[] = [];
    let runs = 0;
    for (let seed = 1; seed <= sweepSeeds[mix]; seed++) {
      const plan = planFor(seed, { mix, ticks: sweepTicks });
      const result = await runSeed(plan);
      runs++;
      if (!result.ok) failures.push(describeFailure(plan, result.failure, 60));
      if (failures.length >= 3) break;
    }
    expect(failures.join('\n\n')).toBe('');
    expect(runs).toBe(sweepSeeds[mix]);
  });
});
