import { defineConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

/** One file, many processes (npm, tsc, three runtimes): minutes of budget, not the shared minute. */
export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: ['*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
