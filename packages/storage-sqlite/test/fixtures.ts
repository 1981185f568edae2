import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { type Membership, type NodeId, StorageError, type StorageErrorKind } from '@raftkit/core';
import { afterEach, expect } from 'vitest';
import type { SqliteConnection } from '../src/driver/driver.ts';
import { sqliteDriver } from '../src/driver/select.ts';
import { DATABASE_FILE } from '../src/schema.ts';

export const membership: Membership = { voters: ['n1' as NodeId], votersOutgoing: [], learners: [] };

const created: string[] = [];
afterEach(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temporary directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'raftkit-sqlite-'));
  created.push(dir);
  return dir;
}

export const dbPath = (dir: string) => join(dir, DATABASE_FILE);

/** A plain connection, to set up damage the store itself would never write. */
export async function withRawConnection<T>(path: string, body: (conn: SqliteConnection) => T): Promise<T> {
  const conn = (await sqliteDriver()).open(path, { readonly: false });
  try {
    return body(conn);
  } finally {
    conn.close();
  }
}

/** Large byte arrays are compared by digest: vitest's deep equality walks them element by element. */
export const digest = (data: Uint8Array | undefined): string =>
  data === undefined ? '-' : bytesToHex(sha256(data));

export async function fileDigest(path: string): Promise<string> {
  return digest(await readFile(path));
}

/** Asserts that `promise` rejects with a StorageError of `kind`. */
export async function expectStorageError(
  promise: Promise<unknown>,
  kind: StorageErrorKind,
): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).kind).toBe(kind);
  return error as StorageError;
}
