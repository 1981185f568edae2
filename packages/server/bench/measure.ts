import { execFile } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * CPU and disk measurements from Linux's /proc, taken around each case so that servers and the
 * load generator are accounted apart (a saturated load generator then shows in its own column).
 */

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every Linux the bench targets). */
const TICKS_PER_SECOND = 100;

/** Fields after the command name in /proc/<pid>/stat (the name may hold spaces, so split after it). */
function statFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU seconds a live process has used so far (all its threads). */
export function processCpuSeconds(pid: number): number {
  const f = statFields(pid);
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
}

/**
 * CPU seconds of this process's children that have exited and been waited for: around one wrk
 * run (the servers are still running, so they are not in it) this is wrk's own CPU.
 */
export function reapedChildrenCpuSeconds(): number {
  const f = statFields('self');
  return (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND;
}

/** This process's own CPU seconds (for a load generator running in it). */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

export interface FsyncLatency {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * The disk's own cost of what each Ready does: append 128 bytes to a preallocated file and
 * fdatasync it, synchronously so no event loop or thread pool is in the figure.
 */
export function measureFsync(dir: string, samples = 500): FsyncLatency {
  return summarize(fsyncTimes(join(dir, 'fsync-probe'), samples));
}

/**
 * The same, from `writers` processes at once, each on its own file: closer to what a cluster's
 * nodes on one disk see, each flushing its own log at the same moments (2026-12-03: p50 0.12 to
 * 0.15 ms alone, 0.28 to 0.36 ms three at once). The writers are children of this runtime's
 * executable with `-e`; the bench runs on Bun, whose `-e` takes top-level await and TypeScript.
 */
export async function measureConcurrentFsync(dir: string, writers = 3, samples = 500): Promise<FsyncLatency> {
  // The writers start together at a moment set here, after all have had time to load.
  const startAt = Date.now() + 1000;
  const script = `
    const { fsyncTimes } = await import(${JSON.stringify(import.meta.url)});
    const [path, samples, startAt] = process.argv.slice(-3);
    while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
    process.stdout.write(JSON.stringify(fsyncTimes(path, Number(samples))));`;
  const runs = Array.from({ length: writers }, (_, i) =>
    childOutput(process.execPath, [
      '-e',
      script,
      join(dir, `fsync-probe-${i}`),
      String(samples),
      String(startAt),
    ]),
  );
  const times = (await Promise.all(runs)).flatMap((out) => JSON.parse(out) as number[]);
  return summarize(times);
}

/** Milliseconds of each of `samples` 128-byte appends + fdatasync to a fresh file at `path`. */
export function fsyncTimes(path: string, samples: number): number[] {
  const fd = openSync(path, 'w');
  try {
    const record = new Uint8Array(128).fill(1);
    writeSync(fd, new Uint8Array(128 * samples));
    fdatasyncSync(fd);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      writeSync(fd, record, 0, record.length, i * record.length);
      fdatasyncSync(fd);
      times.push(performance.now() - started);
    }
    return times;
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

/** Sorts `times` in place (the callers' own arrays) and takes its percentiles. */
function summarize(times: number[]): FsyncLatency {
  times.sort((a, b) => a - b);
  return { samples: times.length, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}

/** What a child process printed; rejects with its stderr if it failed. */
function childOutput(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args[0]}: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Milliseconds this thread takes for a fixed piece of arithmetic, the best of five: whether the
 * CPU itself was slower for a run. Runs on the same VM differ by half at times; when this probe
 * holds still across them (it did on 2026-12-03: 41 to 45 ms while writes slowed), the cause
 * lies elsewhere (the disk under concurrent flushes, wake-ups), not in a throttled CPU.
 */
export function measureCpuSpeed(): number {
  let best = Number.POSITIVE_INFINITY;
  let state = 1;
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = performance.now();
    for (let i = 0; i < 20_000_000; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
    }
    best = Math.min(best, performance.now() - started);
  }
  // The state is used, so the loop cannot be optimized away.
  return state === 0 ? Number.NaN : best;
}
