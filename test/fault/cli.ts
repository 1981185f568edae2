import { parseArgs } from 'node:util';
import type { Runtime } from '../support/harness.ts';
import { availableFaults, FAULT_KINDS, type FaultKind } from './nemesis.ts';
import { type Breakage, runFaultSuite } from './run.ts';

const USAGE = `Usage: npm run torture -- [flags]
  --minutes N | --seconds N   how long the nemesis runs (default 2 minutes)
  --seed N                    seed of the faults and the workload (default: from the clock, printed)
  --runtimes node,bun,deno    one runtime per founding node (default node,node,node); 5 for 5 nodes
  --storage fs|sqlite         (default fs)
  --clients N                 (default 10)
  --faults a,b                fault kinds (default all; disk-full needs root, power-loss and disk-eio fs): ${FAULT_KINDS.join(', ')}
  --tick-ms N                 the nodes' Raft tick (default 100)
  --break local-linearizable-reads|early-write-ack   run a deliberately broken server: must fail
`;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    runtimes: { type: 'string' },
    storage: { type: 'string' },
    clients: { type: 'string' },
    faults: { type: 'string' },
    'tick-ms': { type: 'string' },
    break: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const seconds = values.seconds !== undefined ? Number(values.seconds) : 60 * Number(values.minutes ?? 2);
const runtimes = (values.runtimes ?? 'node,node,node').split(',') as Runtime[];
const storage = (values.storage ?? 'fs') as 'fs' | 'sqlite';
const faults = (values.faults?.split(',') ?? availableFaults(storage)) as FaultKind[];
for (const kind of FAULT_KINDS)
  if (values.faults === undefined && !faults.includes(kind))
    process.stdout.write(
      `${kind} left out: it needs root (disk-full) or fs storage (power-loss, disk-eio)\n`,
    );
const problems = [
  !(seconds > 0) && '--minutes/--seconds must be positive',
  runtimes.some((runtime) => !['node', 'bun', 'deno'].includes(runtime)) && '--runtimes: node, bun or deno',
  faults.some((kind) => !FAULT_KINDS.includes(kind)) && `--faults: ${FAULT_KINDS.join(', ')}`,
  !['fs', 'sqlite', undefined].includes(values.storage) && '--storage: fs or sqlite',
].filter((problem) => problem !== false);
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n\n${USAGE}`);
  process.exit(2);
}
const report = await runFaultSuite({
  seed: values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed),
  durationMs: seconds * 1000,
  runtimes,
  storage,
  clients: Number(values.clients ?? 10),
  faults,
  tickMs: Number(values['tick-ms'] ?? 100),
  ...(values.break === undefined ? {} : { breakage: values.break as Breakage }),
  log: (line) => process.stdout.write(`${line}\n`),
});
for (const failure of report.failures) process.stdout.write(`\n${failure}\n`);
process.stdout.write(`\n${report.summary}\n`);
process.exit(report.ok ? 0 : 1);
