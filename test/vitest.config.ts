import { defineConfig } from 'vitest/config';
import shared from '../vitest.shared.ts';

/**
 * The system tests: real processes on Node, Bun and Deno, real ports and data directories. The
 * end-to-end tests (`e2e/*.e2e.ts`) and the fault suite's CI run (`fault/*.test.ts`) run one
 * file at a time so two clusters never compete for the machine's two cores.
 */
export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: ['e2e/**/*.e2e.ts', 'fault/**/*.test.ts'],
    globalSetup: ['support/build.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    outputFile: { json: 'test-results/vitest-e2e.json' },
  },
});
