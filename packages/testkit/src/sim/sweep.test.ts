import { describe, expect, it } from 'vitest';
import type { MixName } from './mixes.ts';
import { mixes } from './mixes.ts';
import { describeFailure, planFor, runSeed } from './sweep.ts';

/**
 * The CI seed sweep: every fault mix over clusters of 3, 5 and 1 nodes (cycling with the seed),
 * each run checked for safety after every step and for liveness once faults heal. 300 seeds per
 * mix, 2,400 in all; `npm run sim -- --seeds 100000` runs more offline.
 */
const seedsPerMix = 300;
const ticks = 600;

describe('simulator seed sweep', () => {
  it.each(Object.keys(mixes) as MixName[])('%s: every seed stays safe and live', async (mix) => {
    const failures: string[] = [];
    let runs = 0;
    for (let seed = 1; seed <= seedsPerMix; seed++) {
      const plan = planFor(seed, { mix, ticks });
      const result = await runSeed(plan);
      runs++;
      if (!result.ok) failures.push(describeFailure(plan, result.failure, 60));
      if (failures.length >= 3) break;
    }
    expect(failures.join('\n\n')).toBe('');
    expect(runs).toBe(seedsPerMix);
  });
});
