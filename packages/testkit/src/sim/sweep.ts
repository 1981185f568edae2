import type { Mutations } from '@raftkit/core';
import { SimulationFailure } from './failure.ts';
import type { FaultMix, MixName } from './mixes.ts';
import { mixByName, mixes } from './mixes.ts';
import type { LivenessReport, SimRaftConfig, SimStats } from './simulation.ts';
import { Simulation } from './simulation.ts';

/** One seed's run: which cluster, which mix, for how long. */
export interface SeedPlan {
  readonly seed: number;
  readonly nodes: number;
  readonly mix: FaultMix;
  /** Ticks with faults on, before `check()` heals them. */
  readonly ticks: number;
  readonly raft?: SimRaftConfig;
  readonly mutations?: Mutations;
  readonly coreInvariants?: boolean;
  /** Off, stale reads are left for the history's linearizability check to find. */
  readonly checkReadIndex?: boolean;
  readonly traceLimit?: number;
}

/**
 * The outcome of one seed of a sweep: its plan, then either the liveness report, stats and trace of a
 * passing run, or the failure (with what replays it) of a failing one.
 */
export type SeedResult =
  | {
      readonly plan: SeedPlan;
      readonly ok: true;
      readonly report: LivenessReport;
      /** What the operator did and how the clients fared. */
      readonly stats: SimStats;
      /** The last `plan.traceLimit` events of the run. */
      readonly trace: () => string[];
    }
  | { readonly plan: SeedPlan; readonly ok: false; readonly failure: SimulationFailure };

const sizes = [3, 5, 1] as const;

/**
 * The plan a seed gets when only the seed is given: cluster sizes cycle 3, 5, 1 and, without a
 * fixed mix, the mixes cycle too, so that any range of seeds covers every combination.
 */
export function planFor(
  seed: number,
  options: { mix?: MixName | FaultMix; nodes?: number; ticks?: number } = {},
): SeedPlan {
  const names = Object.keys(mixes) as MixName[];
  const mix =
    options.mix === undefined
      ? mixByName(names[Math.floor(seed / sizes.length) % names.length]!)
      : typeof options.mix === 'string'
        ? mixByName(options.mix)
        : options.mix;
  return { seed, nodes: options.nodes ?? sizes[seed % sizes.length]!, mix, ticks: options.ticks ?? 400 };
}

/** Runs one seed to the end: faults for `plan.ticks`, then the liveness check. */
export async function runSeed(plan: SeedPlan): Promise<SeedResult> {
  const simulation = new Simulation({
    seed: plan.seed,
    nodes: plan.nodes,
    mix: plan.mix,
    ...(plan.raft ? { raft: plan.raft } : {}),
    ...(plan.mutations ? { mutations: plan.mutations } : {}),
    ...(plan.coreInvariants !== undefined ? { coreInvariants: plan.coreInvariants } : {}),
    ...(plan.checkReadIndex !== undefined ? { checkReadIndex: plan.checkReadIndex } : {}),
    ...(plan.traceLimit !== undefined ? { traceLimit: plan.traceLimit } : {}),
  });
  try {
    await simulation.run(plan.ticks);
    const report = await simulation.check();
    return { plan, ok: true, report, stats: simulation.stats(), trace: () => simulation.trace() };
  } catch (error) {
    if (error instanceof SimulationFailure) return { plan, ok: false, failure: error };
    throw error;
  }
}

/** How to replay a plan from the command line. */
export function replayCommand(plan: SeedPlan): string {
  const raft = plan.raft === undefined ? '' : ` --raft '${JSON.stringify(plan.raft)}'`;
  return `npm run sim -- --seed ${plan.seed} --mix ${plan.mix.name} --nodes ${plan.nodes} --ticks ${plan.ticks}${raft} --trace`;
}

/** A failure as printed: what broke, how to replay it, then the last events. */
export function describeFailure(plan: SeedPlan, failure: SimulationFailure, lines = 80): string {
  const trace = failure.trace.slice(-lines);
  return [
    `FAIL ${failure.message}`,
    `  mix ${plan.mix.name}, ${plan.nodes} nodes, ${plan.ticks} ticks`,
    `  replay: ${replayCommand(plan)}`,
    `  last ${trace.length} events:`,
    ...trace.map((line) => `    ${line}`),
  ].join('\n');
}
