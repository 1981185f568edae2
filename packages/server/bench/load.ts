import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ownCpuSeconds, percentile, processCpuSeconds, reapedChildrenCpuSeconds } from './measure.ts';

/** 100-byte values on 10,000 keys, for every system and case alike. */
export const KEYS = 10_000;
export const VALUE_BYTES = 100;

/** One case's result; latencies in ms, CPU in seconds per 1,000 completed operations. */
export interface Figures {
  readonly opsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly errors: number;
  readonly serverCpuPer1k: number;
  readonly loadCpuPer1k: number;
}

export interface HttpWorkload {
  readonly api: 'raftkit' | 'etcd';
  readonly writePercent: number;
  /** raftkit reads: linearizable or lease. */
  readonly consistency?: string;
}

const SCRIPT = fileURLToPath(new URL('workload.lua', import.meta.url));

export function wrkVersion(): string | null {
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (probe.error !== undefined) return null;
  return `${probe.stdout}${probe.stderr}`.split('\n')[0]!.trim();
}

/** Runs wrk (C, multi-threaded, so the client is rarely what saturates) against `url`. */
export async function runWrk(
  url: string,
  connections: number,
  seconds: number,
  workload: HttpWorkload,
  serverPids: readonly number[],
): Promise<Figures> {
  const threads = Math.min(2, connections);
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '-s', SCRIPT, url];
  const env = {
    ...process.env,
    BENCH_API: workload.api,
    BENCH_WRITE_PERCENT: String(workload.writePercent),
    BENCH_KEYS: String(KEYS),
    BENCH_VALUE_BYTES: String(VALUE_BYTES),
    BENCH_CONSISTENCY: workload.consistency ?? 'linearizable',
  };
  const serverBefore = sum(serverPids.map(processCpuSeconds));
  const loadBefore = reapedChildrenCpuSeconds();
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}`))));
  });
  const serverCpu = sum(serverPids.map(processCpuSeconds)) - serverBefore;
  const loadCpu = reapedChildrenCpuSeconds() - loadBefore;
  const line = output.split('\n').find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`wrk printed no result:\n${output}`);
  const r = JSON.parse(line) as {
    requests: number;
    durationUs: number;
    errors: number;
    p50: number;
    p99: number;
    p999: number;
  };
  const ok = r.requests - r.errors;
  return {
    opsPerSecond: ok / (r.durationUs / 1e6),
    p50: r.p50 / 1000,
    p99: r.p99 / 1000,
    p999: r.p999 / 1000,
    errors: r.errors,
    serverCpuPer1k: (serverCpu / Math.max(ok, 1)) * 1000,
    loadCpuPer1k: (loadCpu / Math.max(ok, 1)) * 1000,
  };
}

/**
 * A closed loop of `connections` workers, each issuing `operation` again as soon as the last one
 * finished, for a client library with no load tool of its own (etcd's gRPC client). The load
 * generator's CPU is this process's.
 */
export async function runClosedLoop(
  connections: number,
  seconds: number,
  operation: (key: string) => Promise<unknown>,
  serverPids: readonly number[],
): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const serverBefore = sum(serverPids.map(processCpuSeconds));
  const loadBefore = ownCpuSeconds();
  const started = performance.now();
  const end = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const key = `k${Math.floor(Math.random() * KEYS)}`;
      const t = performance.now();
      try {
        await operation(key);
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const serverCpu = sum(serverPids.map(processCpuSeconds)) - serverBefore;
  const loadCpu = ownCpuSeconds() - loadBefore;
  latencies.sort((a, b) => a - b);
  const ok = latencies.length;
  return {
    opsPerSecond: ok / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9),
    errors,
    serverCpuPer1k: (serverCpu / Math.max(ok, 1)) * 1000,
    loadCpuPer1k: (loadCpu / Math.max(ok, 1)) * 1000,
  };
}

/** Writes every key once with `concurrency` requests in flight, so reads never miss. */
export async function populate(
  concurrency: number,
  write: (key: string, value: string) => Promise<void>,
): Promise<void> {
  const value = 'v'.repeat(VALUE_BYTES);
  let next = 0;
  const worker = async () => {
    while (next < KEYS) await write(`k${next++}`, value);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
