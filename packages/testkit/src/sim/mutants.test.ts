import type { Mutations } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import type { FailureKind } from './failure.ts';
import type { MixName } from './mixes.ts';
import { planFor, replayCommand, runSeed } from './sweep.ts';

/**
 * Proof that the simulator catches bugs: with each deliberately broken rule switched on in the
 * core, a seed sweep finds a safety violation. The core's own `assertInvariants()` is off, so
 * the simulator's checks alone must see it. The same seed without the mutation passes.
 */
interface MutantCase {
  readonly mutation: keyof Mutations;
  readonly mix: MixName;
  readonly nodes: number;
  readonly ticks: number;
  /** The checks that may see the bug first. */
  readonly kinds: readonly FailureKind[];
  /** Off, only the linearizability check of the clients' history can see a stale read. */
  readonly checkReadIndex?: boolean;
}

const maxSeeds = 200;

const cases: readonly MutantCase[] = [
  {
    mutation: 'grantTwoVotesPerTerm',
    mix: 'chaos',
    nodes: 3,
    ticks: 400,
    kinds: ['DoubleVote', 'TwoLeaders', 'MinorityLeader'],
  },
  {
    mutation: 'skipLogUpToDateCheck',
    mix: 'chaos',
    nodes: 5,
    ticks: 400,
    kinds: ['LeaderIncomplete', 'StateMachineDivergence', 'CommittedTruncated'],
  },
  { mutation: 'skipReadIndexRound', mix: 'chaos', nodes: 5, ticks: 400, kinds: ['StaleRead'] },
  { mutation: 'sendBeforeTermDurable', mix: 'membership', nodes: 1, ticks: 400, kinds: ['UndurableTerm'] },
  // The same bug seen the way a user would: a deposed leader answers reads from its own state,
  // and the recorded history has no linearization. The read-index check is off to prove it.
  {
    mutation: 'skipReadIndexRound',
    mix: 'linearizable',
    nodes: 5,
    ticks: 400,
    kinds: ['NotLinearizable'],
    checkReadIndex: false,
  },
  // Raft Figure 8 needs three short-lived leaders in a row leaving entries on minorities, which
  // the `churn` mix provokes; longer runs give it more leader changes per seed.
  {
    mutation: 'commitOldTermByCounting',
    mix: 'churn',
    nodes: 5,
    ticks: 2000,
    kinds: ['LeaderIncomplete', 'StateMachineDivergence', 'CommittedTruncated'],
  },
];

describe('mutants', () => {
  it.each(cases)('$mutation: a sweep of $mix seeds finds a safety violation', async (c) => {
    let found: { seed: number; kind: FailureKind; message: string; replay: string } | null = null;
    const checks = {
      coreInvariants: false,
      ...(c.checkReadIndex === false ? { checkReadIndex: false } : {}),
    };
    for (let seed = 1; seed <= maxSeeds && found === null; seed++) {
      const plan = { ...planFor(seed, c), mutations: { [c.mutation]: true }, ...checks };
      const result = await runSeed(plan);
      if (!result.ok && result.failure.safety) {
        const { kind, message } = result.failure;
        found = { seed, kind, message, replay: replayCommand(plan) };
      }
    }
    expect(found, `no safety violation in ${maxSeeds} seeds`).not.toBeNull();
    console.log(`${c.mutation}: first caught by seed ${found!.seed}: ${found!.message}`);
    expect(c.kinds).toContain(found!.kind);
    const control = await runSeed({ ...planFor(found!.seed, c), ...checks });
    expect(control.ok ? 'ok' : control.failure.message).toBe('ok');
  });
});
