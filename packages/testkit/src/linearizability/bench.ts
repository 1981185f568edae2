/**
 * Linearizability checker figures on simulator-shaped histories (one or two keys, sequential
 * clients, some timeouts). Run after `npm run build`: `node packages/testkit/dist/linearizability/bench.js`,
 * or from source: `npx bun packages/testkit/src/linearizability/bench.ts`.
 */
import os from 'node:os';
import process from 'node:process';
import { checkLinearizable } from './kv-check.ts';
import type { KvEvent } from './kv-model.ts';
import { registerWorkload, type WorkloadOptions } from './register-workload.ts';

declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string } } | undefined;

const RUNS = 3;
const TIMEOUT_MS = 10_000;

function runtime(): string {
  if (typeof Bun !== 'undefined') return `bun ${Bun.version}`;
  if (typeof Deno !== 'undefined') return `deno ${Deno.version.deno}`;
  return `node ${process.version}`;
}

/** The same history with one late read turned stale: it returns the key's first written value. */
function withStaleRead(history: readonly KvEvent[]): KvEvent[] {
  const first = history.find((event) => event.op.kind === 'put' && event.respondedAt !== null)!;
  const value = first.op.kind === 'put' ? first.op.value : null;
  const late = history.findLast(
    (event) => event.op.kind === 'get' && event.respondedAt !== null && event.op.key === first.op.key,
  )!;
  return history.map((event) => (event === late ? { ...event, result: { kind: 'value', value } } : event));
}

function measure(history: readonly KvEvent[]): { medianMs: number; verdict: string } {
  const times: number[] = [];
  let verdict = '';
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    const result = checkLinearizable(history, { timeoutMs: TIMEOUT_MS });
    times.push(performance.now() - start);
    verdict = result.ok === false ? `violation, witness of ${result.witness.length}` : String(result.ok);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[RUNS >> 1]!, verdict };
}

console.log(`runtime: ${runtime()}; cpu: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}`);
console.log(`median of ${RUNS} runs, time budget ${TIMEOUT_MS} ms; one key unless noted`);
console.log('clients  ops/key  unknown  history        median ms  verdict');
const cases: Omit<WorkloadOptions, 'seed'>[] = [];
for (const clients of [5, 10]) {
  for (const operations of [1000, 3000, 10_000]) {
    for (const unknownRate of [0, 0.03]) cases.push({ clients, operations, keys: 1, unknownRate });
  }
}
for (const options of cases) {
  const history = registerWorkload({ seed: 1, ...options });
  for (const [label, events] of [
    ['linearizable', history],
    ['stale read', withStaleRead(history)],
  ] as const) {
    const { medianMs, verdict } = measure(events);
    const row = [
      String(options.clients).padStart(7),
      String(options.operations).padStart(8),
      `${options.unknownRate * 100}%`.padStart(8),
      label.padEnd(13),
      medianMs.toFixed(1).padStart(10),
      verdict,
    ];
    console.log(row.join('  '));
  }
}
