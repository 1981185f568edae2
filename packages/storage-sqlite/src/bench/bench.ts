/**
 * Durable throughput and open cost of the SQLite store, each figure also as a ratio to this disk's
 * own fsync latency measured in the same directory, so runs on different machines compare.
 *
 *   node dist/bench/bench.js      (built JS; Node runs no TypeScript)
 *   bun src/bench/bench.ts
 *
 * Set BENCH_DIR to measure another disk (default: the OS temp directory).
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry, Index, NodeId, Storage, Term } from '@raftkit/core';
import { sqliteDriver } from '../driver/select.ts';
import { DATABASE_FILE } from '../schema.ts';
import { openSqliteStorage } from '../sqlite-storage.ts';

const ENTRY_BYTES = 128;
const RUNS = 5;
const identity = { clusterId: 'bench', nodeId: 'n1' as NodeId };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function entries(from: number, count: number): Entry[] {
  const data = new Uint8Array(ENTRY_BYTES).fill(0x5a);
  return Array.from({ length: count }, (_, k) => ({
    index: (from + k) as Index,
    term: 1 as Term,
    type: 'normal',
    data,
  }));
}

/** Latencies of 4 KiB write + fsync, in ms: the unit every other figure is compared with. */
function fsyncSamples(dir: string): number[] {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const block = new Uint8Array(4096).fill(1);
  const samples: number[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      const start = performance.now();
      writeSync(fd, block, 0, block.byteLength, (i % 16) * 4096);
      fsyncSync(fd);
      samples.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
  }
  return samples;
}

async function withStore<T>(root: string, body: (storage: Storage, dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(root, 'store-'));
  const storage = await openSqliteStorage({ dir, identity });
  try {
    return await body(storage, dir);
  } finally {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Median time of one durable `save()` of `batch` entries (synchronous=FULL), in ms. */
async function appendLatency(root: string, batch: number, saves: number): Promise<number> {
  const perRun: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    perRun.push(
      await withStore(root, async (storage) => {
        const start = performance.now();
        for (let i = 0; i < saves; i++) await storage.save({ entries: entries(i * batch + 1, batch) });
        return (performance.now() - start) / saves;
      }),
    );
  }
  return median(perRun);
}

/** Median time of `entries(i, i + 100)` at random places in a 100,000-entry log, in ms. */
async function rangeReadLatency(root: string): Promise<number> {
  return withStore(root, async (storage) => {
    for (let i = 0; i < 100; i++) await storage.save({ entries: entries(i * 1000 + 1, 1000) });
    let seed = 1;
    const perRun: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const start = performance.now();
      for (let i = 0; i < 2000; i++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const low = 1 + (seed % 99_900);
        await storage.entries(low as Index, (low + 100) as Index);
      }
      perRun.push((performance.now() - start) / 2000);
    }
    return median(perRun);
  });
}

interface ReopenFigures {
  open: number;
  load: number;
  quickCheck: number;
}

/** Open (with its consistency scan), load() and, for comparison, PRAGMA quick_check on 1,000,000 entries, in ms. */
async function reopenCost(root: string): Promise<ReopenFigures> {
  const dir = await mkdtemp(join(root, 'reopen-'));
  try {
    const storage = await openSqliteStorage({ dir, identity });
    for (let i = 0; i < 100; i++) await storage.save({ entries: entries(i * 10_000 + 1, 10_000) });
    await storage.close();
    const open: number[] = [];
    const load: number[] = [];
    // Opens and loads are timed apart, and no loaded log outlives its run: a million live entries
    // would otherwise put the next open under garbage-collection pressure.
    for (let run = 0; run < 3; run++) {
      const start = performance.now();
      await (await openSqliteStorage({ dir, identity })).close();
      open.push(performance.now() - start);
    }
    for (let run = 0; run < 3; run++) {
      const reopened = await openSqliteStorage({ dir, identity });
      const start = performance.now();
      const count = (await reopened.load()).entries.length;
      load.push(performance.now() - start);
      await reopened.close();
      if (count !== 1_000_000) throw new Error(`loaded ${count} entries`);
    }
    const conn = (await sqliteDriver()).open(join(dir, DATABASE_FILE), { readonly: false });
    const start = performance.now();
    conn.prepare('PRAGMA quick_check').all();
    const quickCheck = performance.now() - start;
    conn.close();
    return { open: median(open), load: median(load), quickCheck };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun !== undefined) return `bun ${versions.bun}`;
  if (versions.deno !== undefined) return `deno ${versions.deno}`;
  return `node ${process.version}`;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'raftkit-sqlite-bench-'));
  try {
    const driver = await sqliteDriver();
    const probe = driver.open(':memory:', { readonly: false });
    const sqliteVersion = String(probe.prepare('SELECT sqlite_version() AS v').get()?.v);
    probe.close();
    console.log(`runtime ${runtimeName()}, driver ${driver.name}, SQLite ${sqliteVersion}`);
    // The load average says how much of the machine the figures had: other work skews them.
    console.log(
      `cpu     ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}, load average ${loadavg()[0]?.toFixed(2)}`,
    );
    console.log(`dir     ${root}`);
    // Other load on the disk moves fsync latency around: it is sampled before and after the figures
    // (the lines are printed at the end, once the unit is known).
    const before = fsyncSamples(root);
    const figures: [label: string, ms: number, extra: string][] = [];
    for (const [batch, saves] of [
      [1, 300],
      [64, 150],
      [1024, 40],
    ] as const) {
      const ms = await appendLatency(root, batch, saves);
      figures.push([
        `save() of ${batch} x ${ENTRY_BYTES} B`,
        ms,
        `  ${Math.round((batch * 1000) / ms)} entries/s`,
      ]);
    }
    const read = await rangeReadLatency(root);
    figures.push(['entries() of 100, random', read, `  ${Math.round((100 * 1000) / read)} entries/s`]);
    const reopen = await reopenCost(root);
    figures.push(['open 1,000,000 entries (with scan)', reopen.open, '']);
    figures.push(['load() 1,000,000 entries', reopen.load, '']);
    figures.push(['PRAGMA quick_check, same db', reopen.quickCheck, '  (once; not run on open)']);
    const after = fsyncSamples(root);
    const fsync = median([...before, ...after]);
    const line = (label: string, ms: number, extra = '') =>
      console.log(
        `${label.padEnd(34)} ${ms.toFixed(3).padStart(10)} ms  ${(ms / fsync).toFixed(2).padStart(7)} x fsync${extra}`,
      );
    line(
      'fsync (4 KiB write + fsync)',
      fsync,
      `  (median of 400; ${median(before).toFixed(3)} before, ${median(after).toFixed(3)} after)`,
    );
    for (const [label, ms, extra] of figures) line(label, ms, extra);
    console.log(`medians of ${RUNS} runs unless noted; synchronous=FULL; ${ENTRY_BYTES}-byte entries`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
