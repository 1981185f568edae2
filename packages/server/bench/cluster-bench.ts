import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { NODE, ROOT, type Runtime } from '../../../test/support/harness.ts';
import { type Figures, type HttpWorkload, populate, runClosedLoop, runWrk, wrkVersion } from './load.ts';
import { type FsyncLatency, measureConcurrentFsync, measureCpuSpeed, measureFsync } from './measure.ts';
import { type Cluster, etcdVersion, startEtcd, startRaftkit } from './systems.ts';

/**
 * `npm run bench:cluster [-- --runtime node|bun|deno --seconds 5 --runs 1 --systems fs,sqlite,etcd
 *   --cases <regex> --out file.json]`
 *
 * raftkit (3 servers of one runtime, fs storage, and sqlite) against etcd (3 members, default
 * durability) on 127.0.0.1, all up at once and loaded in turn (see `benchInTurn`), with the same
 * load generator (wrk) and workload: 100-byte values on 10,000 random keys. etcd is driven
 * through its JSON gateway like raftkit's HTTP API, and through gRPC (its native path, via the
 * etcd3 client), and each ratio compares against etcd's faster path. Every figure is the median of `--runs` runs of `--seconds` each.
 */
const { values: flags } = parseArgs({
  options: {
    runtime: { type: 'string', default: 'node' },
    seconds: { type: 'string', default: '5' },
    runs: { type: 'string', default: '1' },
    systems: { type: 'string', default: 'fs,sqlite,etcd' },
    cases: { type: 'string', default: '' },
    out: { type: 'string' },
  },
});
const runtime = flags.runtime as Runtime;
if (!['node', 'bun', 'deno'].includes(runtime)) throw new Error('--runtime must be node, bun or deno');
const SECONDS = Number(flags.seconds);
const RUNS = Number(flags.runs);
const SYSTEMS = new Set(flags.systems.split(','));

interface Case {
  readonly name: string;
  readonly target: 'leader' | 'follower';
  readonly connections: number;
  readonly writePercent: number;
  readonly consistency?: 'linearizable' | 'lease';
}

const writes = (target: Case['target']): Case[] =>
  [1, 16, 64].map((connections) => ({
    name: `writes@${connections} ${target}`,
    target,
    connections,
    writePercent: 100,
  }));
const ALL_CASES: readonly Case[] = [
  ...writes('leader'),
  ...writes('follower'),
  {
    name: 'linearizable reads@64',
    target: 'leader',
    connections: 64,
    writePercent: 0,
    consistency: 'linearizable',
  },
  { name: 'lease reads@64', target: 'leader', connections: 64, writePercent: 0, consistency: 'lease' },
  {
    name: '90/10 read/write@64',
    target: 'leader',
    connections: 64,
    writePercent: 10,
    consistency: 'linearizable',
  },
];
const CASES = ALL_CASES.filter((c) => new RegExp(flags.cases).test(c.name));
/** The gRPC cases: the ones the targets compare against. */
const GRPC_CASES = CASES.filter((c) =>
  ['writes@1 leader', 'writes@64 leader', 'writes@64 follower', 'linearizable reads@64'].includes(c.name),
);

type Results = Record<string, Figures>;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
function medianFigures(runs: Figures[]): Figures {
  const m = (key: keyof Figures) => median(runs.map((r) => r[key]));
  return {
    opsPerSecond: m('opsPerSecond'),
    p50: m('p50'),
    p99: m('p99'),
    p999: m('p999'),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    serverCpuPer1k: m('serverCpuPer1k'),
    loadCpuPer1k: m('loadCpuPer1k'),
  };
}

const urlOf = (cluster: Cluster, c: Case) =>
  c.target === 'leader' ? cluster.leaderUrl : cluster.followerUrl;

/** One case made ready on one system: `run` measures it once. */
interface Prepared {
  readonly run: () => Promise<Figures>;
  readonly close?: () => void;
}

/** A system under load, one of those the ratios compare; `prepare` is undefined for a case it lacks. */
interface Contender {
  readonly name: string;
  prepare(c: Case): Promise<Prepared | undefined>;
}

function httpContender(name: string, api: HttpWorkload['api'], cluster: Cluster): Contender {
  return {
    name,
    async prepare(c) {
      if (api === 'etcd' && c.consistency === 'lease') return undefined;
      const workload: HttpWorkload = {
        api,
        writePercent: c.writePercent,
        ...(c.consistency ? { consistency: c.consistency } : {}),
      };
      return { run: () => runWrk(urlOf(cluster, c), c.connections, SECONDS, workload, cluster.pids) };
    },
  };
}

function etcdGrpcContender(cluster: Cluster): Contender {
  const value = 'v'.repeat(100);
  return {
    name: 'etcd-grpc',
    async prepare(c) {
      if (!GRPC_CASES.includes(c)) return undefined;
      const client = new Etcd3({ hosts: urlOf(cluster, c) });
      const operation =
        c.writePercent === 100
          ? (key: string) => client.put(key).value(value).exec()
          : (key: string) => client.get(key).exec();
      await runClosedLoop(4, 1, operation, cluster.pids); // warm the channel
      return {
        run: () => runClosedLoop(c.connections, SECONDS, operation, cluster.pids),
        close: () => client.close(),
      };
    },
  };
}

/**
 * Every case, run `RUNS` times on each system in turn, never all of one system's runs back to
 * back: the VMs the bench runs on have slow spells of minutes, in which every system's figures
 * fall (etcd's writes@1 p50 from 1.3 to 2.0 ms within hours), and with one system's runs back
 * to back a spell could fall on its turn alone. The order rotates each run, so no system always
 * follows the same one (whose writes the disk may still be flushing).
 */
async function benchInTurn(contenders: readonly Contender[]): Promise<{
  /** Per system, each case's medians. */
  medians: Record<string, Results>;
  /** Per system, each case's runs, so a run's spread shows beside its medians. */
  runs: Record<string, Record<string, Figures[]>>;
}> {
  const medians: Record<string, Results> = Object.fromEntries(contenders.map((c) => [c.name, {}]));
  const runs: Record<string, Record<string, Figures[]>> = Object.fromEntries(
    contenders.map((c) => [c.name, {}]),
  );
  for (const c of CASES) {
    const entrants: { name: string; ready: Prepared; runs: Figures[] }[] = [];
    try {
      for (const contender of contenders) {
        const ready = await contender.prepare(c);
        if (ready !== undefined) entrants.push({ name: contender.name, ready, runs: [] });
      }
      for (let run = 0; run < RUNS; run++) {
        for (let turn = 0; turn < entrants.length; turn++) {
          const next = entrants[(run + turn) % entrants.length]!;
          next.runs.push(await next.ready.run());
        }
      }
    } finally {
      for (const { ready } of entrants) ready.close?.();
    }
    for (const entrant of entrants) {
      const median = medianFigures(entrant.runs);
      medians[entrant.name]![c.name] = median;
      runs[entrant.name]![c.name] = entrant.runs;
      console.log(row(`${entrant.name} ${c.name}`, median));
    }
  }
  return { medians, runs };
}

const HEADER = `${'system case'.padEnd(40)}${[
  'ops/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'errors',
  'srv CPU s/1k',
  'gen CPU s/1k',
]
  .map((h) => h.padStart(13))
  .join('')}`;
function row(name: string, f: Figures): string {
  const cells = [
    f.opsPerSecond.toFixed(0),
    f.p50.toFixed(2),
    f.p99.toFixed(2),
    f.p999.toFixed(2),
    String(f.errors),
    f.serverCpuPer1k.toFixed(3),
    f.loadCpuPer1k.toFixed(3),
  ];
  return `${name.padEnd(40)}${cells.map((c) => c.padStart(13)).join('')}`;
}

function fsyncLine(label: string, latency: FsyncLatency, what: string): string {
  return `${label.padEnd(18)} p50 ${latency.p50Ms.toFixed(3)} ms, p99 ${latency.p99Ms.toFixed(3)} ms (${what})`;
}

function version(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8' }).split('\n')[0]!.trim();
}
const RUNTIME_VERSION: Record<Runtime, () => string> = {
  node: () => `Node ${version(NODE, ['--version'])}`,
  bun: () => `Bun ${version(join(ROOT, 'node_modules/.bin/bun'), ['--version'])}`,
  deno: () => version(join(ROOT, 'node_modules/.bin/deno'), ['--version']),
};

const wrk = wrkVersion();
if (wrk === null) {
  console.error('wrk is not installed (Debian: apt-get install wrk); the benchmark needs it');
  process.exit(1);
}
const etcd = etcdVersion();
const fsType = spawnSync('df', ['--output=fstype', tmpdir()], { encoding: 'utf8' })
  .stdout.split('\n')[1]
  ?.trim();
const environment = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Linux ${release()}`,
  disk: `${tmpdir()} (${fsType ?? 'unknown fs'})`,
  serverRuntime: RUNTIME_VERSION[runtime](),
  loadGenerator: `${wrk} (HTTP); etcd3 client on ${process.versions.bun ? `Bun ${process.versions.bun}` : `Node ${process.version}`} (gRPC)`,
  etcd: etcd ?? 'not installed',
  workload: `100-byte values, 10,000 random keys, ${RUNS} run(s) of ${SECONDS} s per case, median`,
  loadAverageBefore: loadavg()
    .map((l) => l.toFixed(2))
    .join(' '),
};
for (const [key, value] of Object.entries(environment)) console.log(`${key.padEnd(18)} ${value}`);
const fsyncBefore = measureFsync(tmpdir());
const fsync3Before = await measureConcurrentFsync(tmpdir());
const cpuBefore = measureCpuSpeed();
console.log(
  `${'cpu probe'.padEnd(18)} ${cpuBefore.toFixed(1)} ms (fixed arithmetic, best of 5; a slow spell shows here)`,
);
console.log(fsyncLine('fsync (disk)', fsyncBefore, '128-byte append + fdatasync'));
console.log(
  fsyncLine('fsync, 3 at once', fsync3Before, "three processes, a file each: a cluster's nodes on one disk"),
);
if (etcd === null)
  console.log('etcd is not installed (Debian: apt-get install etcd-server etcd-client): skipping it');
console.log(`\n${HEADER}`);

const clusters: Cluster[] = [];
let measured: Awaited<ReturnType<typeof benchInTurn>>;
try {
  const contenders: Contender[] = [];
  for (const storage of (['fs', 'sqlite'] as const).filter((s) => SYSTEMS.has(s))) {
    const cluster = await startRaftkit(runtime, storage);
    clusters.push(cluster);
    await populate(64, cluster.write);
    contenders.push(httpContender(`raftkit-${storage}`, 'raftkit', cluster));
  }
  if (etcd !== null && SYSTEMS.has('etcd')) {
    const cluster = await startEtcd();
    clusters.push(cluster);
    await populate(64, cluster.write);
    contenders.push(httpContender('etcd-http', 'etcd', cluster), etcdGrpcContender(cluster));
  }
  measured = await benchInTurn(contenders);
} finally {
  await Promise.all(clusters.map((cluster) => cluster.stop()));
}
const systems = measured.medians;
const fsyncAfter: FsyncLatency = measureFsync(tmpdir());
const fsync3After = await measureConcurrentFsync(tmpdir());
const cpuAfter = measureCpuSpeed();
console.log(`\n${fsyncLine('fsync (disk)', fsyncAfter, 'after')}`);
console.log(fsyncLine('fsync, 3 at once', fsync3After, 'after'));
console.log(`${'cpu probe'.padEnd(18)} ${cpuAfter.toFixed(1)} ms (after)`);
console.log(
  `${'load average'.padEnd(18)} ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (after)`,
);

/** raftkit over etcd's faster path for each case: throughput ratio, and p50/p99 ratios (lower is better). */
const ratios: Record<string, Record<string, { ops: number; p50: number; p99: number; versus: string }>> = {};
if (systems['etcd-http'] !== undefined || systems['etcd-grpc'] !== undefined) {
  console.log(
    `\n${'ratio vs etcd (best path)'.padEnd(40)}${['ops', 'p50', 'p99', 'versus'].map((h) => h.padStart(13)).join('')}`,
  );
  for (const storage of ['raftkit-fs', 'raftkit-sqlite'].filter((s) => systems[s] !== undefined)) {
    ratios[storage] = {};
    for (const c of CASES) {
      const ours = systems[storage]![c.name];
      if (ours === undefined) continue;
      // Lease reads are compared with etcd's linearizable reads (the target asks 2x those).
      const theirsName = c.consistency === 'lease' ? 'linearizable reads@64' : c.name;
      const candidates = (['etcd-http', 'etcd-grpc'] as const)
        .map((s) => ({ s, f: systems[s]?.[theirsName] }))
        .filter((x): x is { s: 'etcd-http' | 'etcd-grpc'; f: Figures } => x.f !== undefined);
      if (candidates.length === 0) continue;
      const best = candidates.reduce((a, b) => (b.f.opsPerSecond > a.f.opsPerSecond ? b : a));
      const r = {
        ops: ours.opsPerSecond / best.f.opsPerSecond,
        p50: ours.p50 / best.f.p50,
        p99: ours.p99 / best.f.p99,
        versus: `${best.s} ${theirsName}`,
      };
      ratios[storage]![c.name] = r;
      console.log(
        `${`${storage} ${c.name}`.padEnd(40)}${[r.ops, r.p50, r.p99].map((x) => x.toFixed(2).padStart(13)).join('')}   ${r.versus}`,
      );
    }
  }
}

const out =
  flags.out ??
  join(ROOT, 'bench-results', `cluster-${runtime}-${environment.date.replaceAll(':', '-')}.json`);
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      environment: {
        ...environment,
        loadAverageAfter: loadavg()
          .map((l) => l.toFixed(2))
          .join(' '),
      },
      fsync: { before: fsyncBefore, after: fsyncAfter },
      fsyncThreeAtOnce: { before: fsync3Before, after: fsync3After },
      cpuProbeMs: { before: cpuBefore, after: cpuAfter },
      systems,
      runs: measured.runs,
      ratios,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwritten: ${out}`);
