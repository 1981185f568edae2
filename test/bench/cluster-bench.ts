import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, release, tmpdir, type } from 'node:os';
import autocannon from 'autocannon';
import { agreedLeader, freePort, NODE, ROOT, ServerProcess, tempDir } from '../support/harness.ts';

/**
 * End-to-end write throughput and latency: a local 3-node cluster of Node servers (fs storage,
 * each write fsynced on a quorum), PUTs of 100-byte values to distinct keys at 1 and 64
 * concurrent clients, through the leader and through a follower (which forwards to the leader).
 * Each case runs three times after a warm-up; the figures are the medians of the runs.
 */
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 5);
const RUNS = 3;
const VALUE = 'v'.repeat(100);

interface Figures {
  readonly writesPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
}

async function load(url: string, connections: number, seconds: number): Promise<Figures> {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'PUT',
        body: VALUE,
        setupRequest: (request: { path: string }) => ({
          ...request,
          path: `/v1/kv/bench-${connections}-${next++}`,
        }),
      },
    ],
  });
  return {
    writesPerSecond: result['2xx'] / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const nodes: ServerProcess[] = [];
const dirs: { remove(): Promise<void> }[] = [];
try {
  const ports = await Promise.all([0, 1, 2].map(() => freePort()));
  const members = ports.map((port, i) => `n${i + 1}=http://127.0.0.1:${port}`).join(',');
  for (const [i, port] of ports.entries()) {
    const dir = await tempDir(`bench-n${i + 1}`);
    dirs.push(dir);
    nodes.push(
      new ServerProcess({
        id: `n${i + 1}`,
        runtime: 'node',
        port,
        dataDir: dir.path,
        args: ['--members', members, '--tick-ms', '100'],
      }),
    );
  }
  await Promise.all(nodes.map((node) => node.start()));
  const leader = await agreedLeader(nodes);
  const follower = nodes.find((node) => node !== leader)!;

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`raftkit end-to-end write benchmark (${ROOT})`);
  console.log(
    `load generator: autocannon on ${typeof Bun === 'undefined' ? `Node ${process.version}` : `Bun ${Bun.version}`}`,
  );
  const nodeVersion = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();
  console.log(`servers: 3 x Node ${nodeVersion}, fs storage in ${tmpdir()}, tick 100 ms`);
  console.log(`machine: ${cpu}, ${availableParallelism()} cores, ${type()} ${release()}`);
  console.log(
    `each case: ${RUNS} runs of ${DURATION_S} s after a warm-up, median shown; 100-byte values, distinct keys\n`,
  );
  await load(leader.url, 8, 2);

  console.log('through    clients   writes/s    p50 ms    p99 ms   failed');
  for (const [name, target] of [
    ['leader', leader],
    ['follower', follower],
  ] as const) {
    for (const connections of [1, 64]) {
      const runs: Figures[] = [];
      for (let run = 0; run < RUNS; run++) runs.push(await load(target.url, connections, DURATION_S));
      const row = [
        name.padEnd(10),
        String(connections).padStart(7),
        median(runs.map((r) => r.writesPerSecond))
          .toFixed(0)
          .padStart(10),
        median(runs.map((r) => r.p50))
          .toFixed(1)
          .padStart(9),
        median(runs.map((r) => r.p99))
          .toFixed(1)
          .padStart(9),
        String(runs.reduce((sum, r) => sum + r.failed, 0)).padStart(8),
      ];
      console.log(row.join(' '));
    }
  }
} finally {
  await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
  await Promise.all(dirs.map((dir) => dir.remove()));
}

declare const Bun: { version: string } | undefined;
