/**
 * Runs simulator seeds offline: `npm run sim -- --seeds 100000 [--mix chaos] [--nodes 5]
 * [--ticks 400] [--from 1] [--seed N] [--raft '{"preVote":false}'] [--trace] [--keep-going]`.
 * `--minutes M` soaks instead: seeds from `--from` (by default a fresh random start, printed)
 * for M minutes, every failure reported (`npm run sim:soak -- --minutes 60`).
 * Exits 1 when a seed fails,
 * after printing the seed, how to replay it and its last events.
 */
import { parseArgs } from 'node:util';
import type { MixName } from './sim/mixes.ts';
import { mixes } from './sim/mixes.ts';
import type { SimRaftConfig, SimStats } from './sim/simulation.ts';
import { describeFailure, planFor, runSeed } from './sim/sweep.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    from: { type: 'string' },
    seed: { type: 'string' },
    mix: { type: 'string' },
    nodes: { type: 'string' },
    ticks: { type: 'string' },
    raft: { type: 'string' },
    minutes: { type: 'string' },
    trace: { type: 'boolean', default: false },
    'keep-going': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    `usage: sim [--seeds N | --minutes M] [--from S] [--seed S] [--mix ${Object.keys(mixes).join('|')}] [--nodes N] [--ticks T] [--raft JSON] [--trace] [--keep-going]`,
  );
  process.exit(0);
}

const integer = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got '${text}'`);
    process.exit(2);
  }
  return n;
};

if (values.mix !== undefined && !Object.hasOwn(mixes, values.mix)) {
  console.error(`unknown --mix '${values.mix}'; known: ${Object.keys(mixes).join(', ')}`);
  process.exit(2);
}
const single = integer('seed', values.seed);
const minutes = integer('minutes', values.minutes);
// A soak explores seeds no earlier run chose: CI's sweep covers the low ones.
const freshStart = () => 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
const first =
  single ??
  (minutes !== undefined && values.from === undefined ? freshStart() : (integer('from', values.from) ?? 1));
const count = single === undefined ? (minutes === undefined ? integer('seeds', values.seeds)! : Infinity) : 1;
const deadline = minutes === undefined ? Infinity : performance.now() + minutes * 60_000;
const keepGoing = values['keep-going'] || minutes !== undefined;
if (minutes !== undefined) console.log(`soaking ${minutes} min from seed ${first}`);
const nodes = integer('nodes', values.nodes);
const ticks = integer('ticks', values.ticks);
/** Core settings for every node, e.g. `{"preVote":false,"checkQuorum":false}`. */
function parseRaft(text: string | undefined): SimRaftConfig | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as SimRaftConfig;
  } catch {}
  console.error(`--raft must be a JSON object of core settings, got '${text}'`);
  process.exit(2);
}
const raft = parseRaft(values.raft);
const options = {
  ...(values.mix !== undefined ? { mix: values.mix as MixName } : {}),
  ...(nodes !== undefined ? { nodes } : {}),
  ...(ticks !== undefined ? { ticks } : {}),
};

const started = performance.now();
let failed = 0;
let worstElection = 0;
let worstCommit = 0;
/** Counters summed over the passing seeds, printed at the end: what the runs exercised. */
const totals = new Map<string, number>();
function addStats(stats: SimStats): void {
  const add = (name: string, n: number) => totals.set(name, (totals.get(name) ?? 0) + n);
  const { reconfiguration: r, transfers: t, clients: c } = stats;
  add('config changes accepted', r.accepted);
  add('config entries applied', r.applied);
  for (const [code, n] of Object.entries(r.refused)) add(`config changes refused ${code}`, n);
  add('transfers started', t.started);
  add('transfers completed', t.completed);
  add('transfers abandoned', t.abandoned);
  add('transfers lost', t.lost);
  for (const [code, n] of Object.entries(t.refused)) add(`transfers refused ${code}`, n);
  add('proposals refused during transfers', t.proposalsRefused);
  for (const [kind, n] of Object.entries(c.ok)) add(`client ${kind} ok`, n);
  add('client unknown outcomes', c.unknown);
  for (const [code, n] of Object.entries(c.refused)) add(`client refused ${code}`, n);
}
let last = first - 1;
for (let seed = first; seed < first + count && performance.now() < deadline; seed++) {
  last = seed;
  const plan = {
    ...planFor(seed, options),
    ...(raft !== undefined ? { raft } : {}),
    ...(values.trace ? { traceLimit: Number.POSITIVE_INFINITY } : {}),
  };
  const result = await runSeed(plan);
  if (result.ok) {
    worstElection = Math.max(worstElection, result.report.electedAfter);
    worstCommit = Math.max(worstCommit, ...result.report.commitLatencies);
    addStats(result.stats);
    if (values.trace) {
      for (const line of result.trace()) console.log(line);
      console.log(`seed ${seed}: ok`, JSON.stringify(result.report));
    }
  } else {
    failed++;
    console.log(describeFailure(plan, result.failure, values.trace ? Number.POSITIVE_INFINITY : 80));
    if (!keepGoing) break;
  }
  const done = seed - first + 1;
  if (done % 1000 === 0)
    console.log(`${done} seeds, ${failed} failed, ${((performance.now() - started) / 1000).toFixed(1)}s`);
}
const seconds = (performance.now() - started) / 1000;
for (const [name, n] of [...totals].filter(([, n]) => n > 0)) console.log(`  ${name}: ${n}`);
console.log(
  `${failed === 0 ? 'ok' : 'FAILED'}: seeds ${first}..${last}, ${failed} failed, ${seconds.toFixed(1)}s; ` +
    `worst election ${worstElection} ticks, worst commit ${worstCommit} ticks after healing`,
);
process.exit(failed === 0 ? 0 : 1);
