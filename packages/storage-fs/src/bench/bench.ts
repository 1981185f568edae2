/**
 * Storage-fs benchmark: durable appends per second at batch sizes 1, 64 and 1024 (128-byte
 * entries, fsync on), range reads, and the time to reopen a 1,000,000-entry log. Each figure is
 * the median of several runs and is also given as a ratio to the disk's own limit, measured in
 * the same run: a loop of 4-KiB write + fsync on a file in the same directory, taken just before
 * each run (the disk may be shared, so each run is compared with the disk as it was then).
 *
 * Run: `npm run bench -w packages/storage-fs` (builds, then runs dist/bench/bench.js under node).
 * `BENCH_DIR` chooses where the files go (default: the OS temp directory).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { arch, cpus, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import type { Entry } from '@raftkit/core';
import { index, nodeId, term } from '@raftkit/core';
import { openFsStorage } from '../index.ts';

const identity = { clusterId: 'bench', nodeId: nodeId('n1') };
const ENTRY_BYTES = 128;
const RUNS = 7;

declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string } } | undefined;

function runtime(): string {
  if (typeof Deno !== 'undefined') return `deno ${Deno.version.deno}`;
  if (typeof Bun !== 'undefined') return `bun ${Bun.version}`;
  return `node ${process.version}`;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const payload = new Uint8Array(ENTRY_BYTES).map((_, k) => k);
const batchOf = (first: number, count: number): Entry[] =>
  Array.from({ length: count }, (_, k) => ({
    index: index(first + k),
    term: term(1),
    type: 'normal',
    data: payload,
  }));

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

/** The disk's own durable-write rate: 4-KiB write + fsync, over and over, on a fresh file. */
async function fsyncsPerSecond(path: string, count: number): Promise<number> {
  const file = await open(path, 'w');
  const block = new Uint8Array(4096).fill(1);
  try {
    const start = performance.now();
    for (let k = 0; k < count; k++) {
      await file.write(block, 0, block.byteLength, k * 4096);
      await file.sync();
    }
    return count / ((performance.now() - start) / 1000);
  } finally {
    await file.close();
  }
}

interface Paired {
  readonly rate: number;
  readonly limit: number;
  /** Median of the per-run ratios: each run's appends against the fsync probe taken just before. */
  readonly ratio: number;
}

/**
 * Durable entries per second when each `save()` carries `batch` entries. Every run is paired with
 * a probe of the disk just before it, so a disk shared with other work is compared with itself.
 */
async function appendsPerSecond(
  dir: string,
  batch: number,
  saves: number,
  probes: number[],
): Promise<Paired> {
  const rates: number[] = [];
  const limits: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const limit = await fsyncsPerSecond(join(dir, `probe-${batch}-${r}`), 100);
    const store = await openFsStorage({ dir: join(dir, `append-${batch}-${r}`), identity });
    await store.save({ entries: batchOf(1, 1) }); // the segment exists before timing starts
    let next = 2;
    const start = performance.now();
    for (let s = 0; s < saves; s++) {
      await store.save({ entries: batchOf(next, batch) });
      next += batch;
    }
    const rate = (saves * batch) / ((performance.now() - start) / 1000);
    await store.close();
    rates.push(rate);
    limits.push(limit);
    probes.push(limit);
    ratios.push(rate / limit);
  }
  return { rate: median(rates), limit: median(limits), ratio: median(ratios) };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'raftkit-bench-'));
  const cpu = cpus();
  console.log('storage-fs bench');
  console.log(`  runtime   ${runtime()} on ${platform()} ${release()} ${arch()}`);
  console.log(`  cpu       ${cpu[0]?.model ?? 'unknown'} x ${cpu.length}`);
  console.log(`  directory ${dir}`);
  console.log(`  entries   ${ENTRY_BYTES} bytes; every figure is the median of ${RUNS} runs\n`);
  try {
    console.log('durable appends (one fsync per save), each run paired with a disk probe just before it:');
    const probes: number[] = [];
    let ratioAt64 = 0;
    for (const [batch, saves] of [
      [1, 200],
      [64, 200],
      [1024, 30],
    ] as const) {
      const { rate, limit, ratio } = await appendsPerSecond(dir, batch, saves, probes);
      if (batch === 64) ratioAt64 = ratio;
      console.log(
        `  batch ${String(batch).padStart(4)}: ${fmt(rate).padStart(10)} entries/s; disk ${fmt(limit).padStart(6)} fsyncs/s ` +
          `(4-KiB write + fsync); ratio ${fmt(ratio, 1).padStart(7)}x`,
      );
    }
    const limit = median(probes);
    console.log(`  disk limit over all probes: ${fmt(limit)} fsyncs/s, ${fmt(1000 / limit, 2)} ms per fsync`);
    console.log(`  target at batch 64 (>= 50x the fsync rate): ${ratioAt64 >= 50 ? 'met' : 'NOT met'}`);

    // Build a 1,000,000-entry log once (also the data for range reads).
    const total = 1_000_000;
    const bigDir = join(dir, 'big');
    let store = await openFsStorage({ dir: bigDir, identity });
    const buildStart = performance.now();
    for (let next = 1; next <= total; next += 4096) {
      await store.save({ entries: batchOf(next, Math.min(4096, total - next + 1)) });
    }
    const buildSeconds = (performance.now() - buildStart) / 1000;
    console.log(`\nbuilt a ${fmt(total)}-entry log in ${fmt(buildSeconds, 1)} s (batches of 4096)`);

    const readRates: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const span = 100;
      const reads = 2000;
      let seed = 12345 + r;
      const start = performance.now();
      for (let k = 0; k < reads; k++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const low = 1 + (seed % (total - span));
        await store.entries(index(low), index(low + span));
      }
      readRates.push((reads * span) / ((performance.now() - start) / 1000));
    }
    const readRate = median(readRates);
    console.log(
      `range reads: ${fmt(readRate)} entries/s = ${fmt(readRate / limit, 1)}x the fsync rate ` +
        '(random 100-entry ranges, page cache warm)',
    );
    await store.close();

    const opens: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const start = performance.now();
      store = await openFsStorage({ dir: bigDir, identity });
      opens.push(performance.now() - start);
      if (store.lastIndex() !== total) throw new Error(`reopened with ${store.lastIndex()} entries`);
      await store.close();
    }
    const reopenMs = median(opens);
    console.log(
      `reopen of ${fmt(total)} entries: ${fmt(reopenMs)} ms = ${fmt(reopenMs / (1000 / limit))} fsync latencies ` +
        `(read, checksum and replay the WAL); target < 2 s: ${reopenMs < 2000 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
