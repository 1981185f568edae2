import { describe, expect, it } from 'vitest';
import { availableFaults } from './nemesis.ts';
import { type RunOptions, runFaultSuite } from './run.ts';

/** CI's run: FAULT_SECONDS and FAULT_SEED change it; a failure prints the seed and the replay command. */
const SECONDS = Number(process.env.FAULT_SECONDS ?? 120);
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);

const base: Omit<RunOptions, 'seed' | 'durationMs' | 'faults' | 'log'> = {
  runtimes: ['node', 'bun', 'node'],
  storage: 'fs',
  clients: 10,
  tickMs: 100,
};

/** Runs the suite and prints its timeline and summary in one block (vitest labels every console line). */
async function run(options: Pick<RunOptions, 'seed' | 'durationMs' | 'faults' | 'breakage'>) {
  const lines: string[] = [];
  const report = await runFaultSuite({ ...base, ...options, log: (line) => lines.push(line) });
  console.log([...lines, ...report.failures, report.summary].join('\n'));
  return report;
}

describe('the fault suite', () => {
  it(
    'keeps a 3-node Node + Bun cluster linearizable, converged and complete through every kind of fault',
    async () => {
      const report = await run({
        seed: SEED,
        durationMs: SECONDS * 1000,
        faults: availableFaults(base.storage),
      });
      expect(report.failures.join('\n\n')).toBe('');
    },
    SECONDS * 1000 + 240_000,
  );

  // Proof that it can fail: the same suite over a deliberately broken server must say so.
  it('catches a server that serves linearizable reads from its local state', async () => {
    const report = await run({
      seed: 2,
      durationMs: 25_000,
      faults: ['partition'],
      breakage: 'local-linearizable-reads',
    });
    expect(report.check?.linearizable).toBe(false);
    expect(report.failures.join('\n')).toMatch(/the smallest window that cannot be linearized/);
  }, 200_000);

  it('catches a server that acknowledges writes before a quorum has them', async () => {
    const report = await run({
      seed: 3,
      durationMs: 25_000,
      faults: ['partition'],
      breakage: 'early-write-ack',
    });
    expect(report.failures.join('\n')).toMatch(/acknowledged write lost/);
  }, 200_000);
});
