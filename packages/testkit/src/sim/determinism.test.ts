import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { MixName } from './mixes.ts';
import { Simulation } from './simulation.ts';

declare const Bun: unknown;
declare const Deno: unknown;

/**
 * A seed must replay the same run on Node, Bun and Deno. The package's test script runs this
 * file under Node (which records each run's digest) and then under Bun and Deno (which must
 * compute the same digests): a handful of runs covering every kind of event, at a fraction of
 * the cost of sweeping on three runtimes.
 */
const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';
const recorded = new URL('../../test-results/sim-digests.json', import.meta.url);

const runs: readonly { mix: MixName; nodes: number; seed: number }[] = [
  { mix: 'chaos', nodes: 5, seed: 42 },
  { mix: 'membership', nodes: 3, seed: 7 },
  { mix: 'transfer', nodes: 5, seed: 8 },
  { mix: 'linearizable', nodes: 5, seed: 9 },
  { mix: 'snapshots', nodes: 3, seed: 10 },
];

/** SHA-256 of everything a run shows: every trace line, every client operation, the statistics. */
async function digest(run: (typeof runs)[number]): Promise<string> {
  const simulation = new Simulation({ ...run, traceLimit: Number.POSITIVE_INFINITY });
  await simulation.run(500);
  const report = await simulation.check();
  const text = [
    ...simulation.trace(),
    JSON.stringify(simulation.history),
    JSON.stringify(simulation.stats()),
    JSON.stringify(report),
  ].join('\n');
  const bytes = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe(`determinism across runtimes (${runtime})`, () => {
  it('replays each seed to the same digest as Node did', async () => {
    const digests: Record<string, string> = {};
    for (const run of runs) digests[`${run.mix}/${run.nodes}/${run.seed}`] = await digest(run);
    if (runtime === 'node') {
      await mkdir(new URL('.', recorded), { recursive: true });
      await writeFile(recorded, JSON.stringify(digests, null, 2));
      // Two runs in one process agree too: no state leaks between simulations.
      const first = runs[0]!;
      expect(await digest(first)).toBe(digests[`${first.mix}/${first.nodes}/${first.seed}`]);
      return;
    }
    const text = await readFile(recorded, 'utf8').catch(() => null);
    expect(text, `no Node digests at ${recorded.pathname}: run this file under Node first`).not.toBeNull();
    expect(digests).toEqual(JSON.parse(text!));
  });
});
