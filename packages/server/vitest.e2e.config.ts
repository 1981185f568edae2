import { defineConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

/**
 * End-to-end tests: real processes on Node, Bun and Deno, real ports and data directories. Kept
 * apart from the unit and route tests (`*.e2e.ts`, which the shared include does not match), and
 * run one file at a time so two clusters never compete for the machine's two cores.
 */
export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: ['test/e2e/**/*.e2e.ts'],
    globalSetup: ['test/e2e/build.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    outputFile: { json: 'test-results/vitest-e2e.json' },
  },
});
