/**
 * Export and verify throughput, beside what a shell script doing the same job would run over the
 * same bytes in the same process run: `gzip -c | sha256sum` for export (compress and hash the
 * state), `gzip -dc | sha256sum` over our own archive for verify. Each of the BENCH_RUNS rounds
 * runs ours then the shell's back to back, so a busy machine slows both sides alike; the figures
 * are the medians, in MiB of state per second (verify: of decompressed archive).
 *
 *   BENCH_MB=32 BENCH_RUNS=5 npm run bench -w @raftkit/backup      (defaults 64 and 5)
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Index, NodeId, Term } from '@raftkit/core';
import { GZIP_LEVEL } from '../gzip.ts';
import { verifyBackup, writeBackup } from '../index.ts';

declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string } } | undefined;
const runtime =
  typeof Deno !== 'undefined'
    ? `deno ${Deno.version.deno}`
    : typeof Bun !== 'undefined'
      ? `bun ${Bun.version}`
      : `node ${process.version}`;

const megabytes = Number(process.env.BENCH_MB ?? 64);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const size = megabytes * 1024 * 1024;

/** KV-like state: short ascending keys and values half random, half repeated text. */
function kvLikeState(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const text = new TextEncoder();
  let x = 12345;
  let at = 0;
  for (let i = 0; at < bytes; i++) {
    const key = text.encode(`user:${String(i).padStart(10, '0')}`);
    out.set(key.subarray(0, bytes - at), at);
    at += key.length;
    for (let j = 0; j < 96 && at < bytes; j++, at++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[at] = j < 48 ? x & 0xff : 0x61 + (j % 26);
    }
  }
  return out;
}

/** The state as a store hands it over: 1 MiB reads, exportBackup's default. */
async function* chunks(bytes: Uint8Array, chunk = 1024 * 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
}

async function exportOnce(state: Uint8Array): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const stream = writeBackup(
    {
      clusterId: 'bench',
      nodeId: 'n1',
      meta: {
        index: 1 as Index,
        term: 1 as Term,
        membership: { voters: ['n1' as NodeId], votersOutgoing: [], learners: [] },
      },
      urls: { n1: 'http://127.0.0.1:7001' },
      state: chunks(state),
    },
    { now: () => new Date(0) },
  );
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) parts.push(part);
  return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
}

async function timed(work: () => Promise<unknown> | unknown): Promise<number> {
  const begin = performance.now();
  await work();
  return performance.now() - begin;
}

const shell = (script: string) => () => {
  execFileSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  if (!(megabytes > 0) || !Number.isSafeInteger(runs) || runs < 1) {
    throw new RangeError(`BENCH_MB must be positive and BENCH_RUNS a positive integer`);
  }
  const state = kvLikeState(size);
  const dir = await mkdtemp(join(tmpdir(), 'raftkit-backup-bench-'));
  try {
    const archive = await exportOnce(state);
    const stateFile = join(dir, 'state.bin');
    const archiveFile = join(dir, 'backup.tar.gz');
    await writeFile(stateFile, state);
    await writeFile(archiveFile, archive);
    // gzip's own default is level 6; beside it, gzip at our level when that differs.
    const gzipLevels = GZIP_LEVEL === 6 ? [6] : [GZIP_LEVEL, 6];
    const exportSide = gzipLevels.map((level) => ({
      name: `gzip -${level} -c | sha256sum`,
      run: shell(`gzip -${level} -c '${stateFile}' | sha256sum`),
    }));
    const verifySide = [
      { name: 'gzip -dc | sha256sum', run: shell(`gzip -dc '${archiveFile}' | sha256sum`) },
    ];
    const ours = [
      { name: 'export', run: () => exportOnce(state) },
      { name: 'verify', run: () => verifyBackup(chunks(archive)) },
    ];
    const all = [ours[0]!, ...exportSide, ours[1]!, ...verifySide];
    const times = new Map(all.map((w) => [w.name, [] as number[]]));
    for (let round = 0; round < runs; round++) {
      for (const w of all) times.get(w.name)!.push(await timed(w.run));
    }
    const rate = (name: string) =>
      `${(megabytes / (median(times.get(name)!) / 1000)).toFixed(1).padStart(7)}`;
    const row = (w: { name: string }) => `${w.name} ${rate(w.name)}`;
    const gzipVersion = execFileSync('gzip', ['--version']).toString().split('\n')[0];
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
    const lines = [
      `backup bench on ${runtime}, ${process.platform} ${process.arch}, ${cpus().length}× ${cpus()[0]?.model ?? '?'}, load ${load}, ${gzipVersion}`,
      `${megabytes} MiB of KV-like state, archive ${(archive.length / 1024 / 1024).toFixed(1)} MiB at deflate level ${GZIP_LEVEL}; medians of ${runs} runs, MiB/s`,
      `  ${row(ours[0]!)}   beside ${exportSide.map(row).join('   ')}`,
      `  ${row(ours[1]!)}   beside ${verifySide.map(row).join('   ')}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
