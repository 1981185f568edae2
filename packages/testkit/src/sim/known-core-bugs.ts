import type { MixName } from './mixes.ts';

/**
 * Seeds that fail because of a core bug already reported and reproduced in
 * known-core-bugs.test.ts. The CI sweep leaves exactly these out, and that test runs them
 * expecting the failure, so the list cannot outlive the fix: once the core is fixed the test
 * goes red and the entry must go.
 */
export interface KnownCoreBug {
  readonly mix: MixName;
  readonly ticks: number;
  readonly seeds: readonly number[];
  readonly summary: string;
}

export const knownCoreBugs: readonly KnownCoreBug[] = [];
