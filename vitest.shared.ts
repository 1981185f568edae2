import { defineConfig } from 'vitest/config';

declare const Bun: unknown;
declare const Deno: unknown;

/** Which runtime runs this test process; each writes its own results file for `.ci/run` to sum. */
const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';

/** Tests run on the TypeScript sources (the `@raftkit/source` export condition), never on stale builds. */
export default defineConfig({
  resolve: { conditions: ['@raftkit/source'] },
  ssr: { resolve: { conditions: ['@raftkit/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: `test-results/vitest-${runtime}.json` },
    testTimeout: 60_000,
  },
});
