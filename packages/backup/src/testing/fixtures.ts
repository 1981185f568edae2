import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Index, NodeId, SnapshotMeta, Term } from '@raftkit/core';
import type { BackupSource } from '../export.ts';
import { writeBackup } from '../export.ts';
import type { ByteSource } from '../streams.ts';

/** Helpers the tests share; not exported by the package. */

export const meta = (index: number, term: number, voters: string[] = ['n1', 'n2', 'n3']): SnapshotMeta => ({
  index: index as Index,
  term: term as Term,
  membership: { voters: voters as NodeId[], votersOutgoing: [], learners: [] },
});

export const urls = { n1: 'http://127.0.0.1:7001', n2: 'http://127.0.0.1:7002', n3: 'http://127.0.0.1:7003' };

/** Deterministic pseudo-random bytes (xorshift), so a failing case can be rebuilt. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

export async function collect(stream: ByteSource): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream as AsyncIterable<Uint8Array>) parts.push(chunk);
  return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
}

export function source(state: Uint8Array, overrides: Partial<BackupSource> = {}): BackupSource {
  return {
    clusterId: 'c1',
    nodeId: 'n1',
    meta: meta(120, 3),
    urls,
    state: chunksOf(state, 1000),
    ...overrides,
  };
}

/** A whole backup in memory, with a fixed clock so two calls give the same bytes. */
export const backupBytes = (state: Uint8Array, chunkBytes = 4096, overrides: Partial<BackupSource> = {}) =>
  collect(writeBackup(source(state, overrides), { chunkBytes, now: () => new Date('2026-01-02T03:04:05Z') }));

export async function* once(bytes: Uint8Array, chunk = 7919): AsyncGenerator<Uint8Array> {
  yield* chunksOf(bytes, chunk);
}

export async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'raftkit-backup-'));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

export const nodeIdentity = (id: string) => ({ clusterId: 'c1', nodeId: id as NodeId });
