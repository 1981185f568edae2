/**
 * Export and verify throughput, beside `gzip -c | sha256sum` over the same bytes in the same run
 * (the work a shell script doing the same job would do). State bytes (MiB) per second throughout.
 *
 *   npm run bench -w @raftkit/backup          (BENCH_MB=64 by default)
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Index, NodeId, Term } from '@raftkit/core';
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

async function* chunks(bytes: Uint8Array, chunk = 1024 * 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
}

const rate = (ms: number) => (megabytes / (ms / 1000)).toFixed(1);

async function main(): Promise<void> {
  const state = kvLikeState(size);
  const dir = await mkdtemp(join(tmpdir(), 'raftkit-backup-bench-'));
  try {
    let started = performance.now();
    const parts: Uint8Array[] = [];
    const stream = writeBackup({
      clusterId: 'bench',
      nodeId: 'n1',
      meta: {
        index: 1 as Index,
        term: 1 as Term,
        membership: { voters: ['n1' as NodeId], votersOutgoing: [], learners: [] },
      },
      urls: { n1: 'http://127.0.0.1:7001' },
      state: chunks(state),
    });
    for await (const part of stream as unknown as AsyncIterable<Uint8Array>) parts.push(part);
    const exportMs = performance.now() - started;
    const archive = new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());

    started = performance.now();
    await verifyBackup(chunks(archive));
    const verifyMs = performance.now() - started;

    const stateFile = join(dir, 'state.bin');
    const archiveFile = join(dir, 'backup.tar.gz');
    await writeFile(stateFile, state);
    await writeFile(archiveFile, archive);
    const shell = (script: string) => {
      const begin = performance.now();
      execFileSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
      return performance.now() - begin;
    };
    const gzipMs = shell(`gzip -c '${stateFile}' | sha256sum`);
    const gunzipMs = shell(`gzip -dc '${archiveFile}' | sha256sum`);

    const lines = [
      `backup bench on ${runtime}: ${megabytes} MiB of KV-like state, archive ${(archive.length / 1024 / 1024).toFixed(1)} MiB`,
      `  export  ${rate(exportMs).padStart(7)} MiB/s  beside gzip -c | sha256sum   ${rate(gzipMs).padStart(7)} MiB/s`,
      `  verify  ${rate(verifyMs).padStart(7)} MiB/s  beside gzip -dc | sha256sum  ${rate(gunzipMs).padStart(7)} MiB/s`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
