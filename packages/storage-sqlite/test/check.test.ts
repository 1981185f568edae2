/** The offline check: what it reports on a healthy database, and each kind of damage it names. */
import { open as openFile, writeFile } from 'node:fs/promises';
import type { Index, NodeId, Term } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import { checkSqliteDataDir, openSqliteStorage, renderSqliteCheck } from '../src/index.ts';
import { entry, IDENTITY, snapshotData } from './child/payload.ts';
import {
  dbPath,
  digest,
  expectStorageError,
  fileDigest,
  membership,
  tempDir,
  withRawConnection,
} from './fixtures.ts';

/** Entries 1..30 (terms 1 then 2 from 21), a snapshot at 10, commit index 25. */
async function healthyNode(dir: string): Promise<Uint8Array> {
  const storage = await openSqliteStorage({ dir, identity: IDENTITY });
  const entries = Array.from({ length: 30 }, (_, k) => entry(k + 1, k < 20 ? 1 : 2, 64));
  await storage.save({
    entries,
    hardState: { term: 2 as Term, votedFor: 'n2' as NodeId, commitIndex: 25 as Index },
  });
  const data = snapshotData(9, 1_500_000);
  await storage.saveSnapshot({ meta: { index: 10 as Index, term: 1 as Term, membership }, data });
  await storage.close();
  return data;
}

describe('checkSqliteDataDir', () => {
  it('describes a healthy database and finds nothing wrong', async () => {
    const dir = await tempDir();
    const data = await healthyNode(dir);
    const report = await checkSqliteDataDir(dir);
    expect(report.problems).toEqual([]);
    expect(report.identity).toEqual(IDENTITY);
    expect(report.hardState).toEqual({ term: 2, votedFor: 'n2', commitIndex: 25 });
    expect(report.entries).toEqual({
      count: 20,
      firstIndex: 11,
      lastIndex: 30,
      firstTerm: 1,
      lastTerm: 2,
      payloadBytes: 20 * 64,
    });
    expect(report.snapshot).toEqual({ index: 10, term: 1, size: 1_500_000, chunks: 2, sha256: digest(data) });
    expect(report.sizeBytes).toBeGreaterThan(1_500_000);
    // The file path may be given instead of its directory.
    expect((await checkSqliteDataDir(dbPath(dir))).entries).toEqual(report.entries);
    const text = renderSqliteCheck(report);
    expect(text).toContain('20 (11..30, terms 1..2, 1280 payload bytes)');
    expect(text).toContain('result     ok');
  });

  it('changes nothing in the files it reads', async () => {
    const dir = await tempDir();
    await healthyNode(dir);
    const before = await fileDigest(dbPath(dir));
    await checkSqliteDataDir(dir);
    expect(await fileDigest(dbPath(dir))).toBe(before);
    // And the node opens afterwards as usual.
    await (await openSqliteStorage({ dir, identity: IDENTITY })).close();
  });

  it.each([
    ['gap', 'DELETE FROM entries WHERE idx = 20', ['gap']],
    // The term is under the entry's CRC too, so SQL cannot change it unnoticed.
    ['term-decrease', 'UPDATE entries SET term = 1 WHERE idx = 30', ['term-decrease', 'entry-checksum']],
    ['commit-beyond-last', 'UPDATE hard_state SET commit_index = 31', ['commit-beyond-last']],
    ['snapshot-boundary', 'DELETE FROM entries WHERE idx = 11', ['snapshot-boundary']],
    [
      'snapshot-checksum',
      'UPDATE snapshot_chunks SET data = zeroblob(length(data)) WHERE seq = 1',
      ['snapshot-checksum'],
    ],
    // A lost chunk breaks two facts (the sequence and the size), both of one rule.
    [
      'snapshot-checksum',
      'DELETE FROM snapshot_chunks WHERE seq = 0',
      ['snapshot-checksum', 'snapshot-checksum'],
    ],
    ['missing-row', 'DELETE FROM identity', ['missing-row']],
    ['entry-checksum', 'UPDATE entries SET data = zeroblob(64) WHERE idx = 15', ['entry-checksum']],
  ])('names a broken rule (%s)', async (rule, damage, rules) => {
    const dir = await tempDir();
    await healthyNode(dir);
    await withRawConnection(dbPath(dir), (conn) => conn.exec(damage));
    const report = await checkSqliteDataDir(dir);
    expect(report.problems.map((p) => p.rule).sort()).toEqual([...rules].sort());
    expect(renderSqliteCheck(report)).toContain(`[${rule}]`);
  });

  it('reports damaged pages through integrity_check', async () => {
    const dir = await tempDir();
    await healthyNode(dir);
    // Scribble over the middle of a b-tree page of the entries table, past its header.
    const [page, pageSize] = await withRawConnection(dbPath(dir), (conn) => [
      Number(conn.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'entries'").get()?.rootpage),
      Number(conn.prepare('PRAGMA page_size').get()?.page_size),
    ]);
    const file = await openFile(dbPath(dir), 'r+');
    await file.write(new Uint8Array(64).fill(0xa5), 0, 64, (page! - 1) * pageSize! + 8);
    await file.close();
    const report = await checkSqliteDataDir(dir);
    expect(report.problems.length).toBeGreaterThan(0);
    expect(report.problems.every((p) => p.rule === 'integrity')).toBe(true);
  });

  it('reports a file that is not a raftkit database as a format problem', async () => {
    const dir = await tempDir();
    await writeFile(dbPath(dir), 'not SQLite at all '.repeat(300));
    const report = await checkSqliteDataDir(dir);
    expect(report.problems.map((p) => p.rule)).toEqual(['format']);
  });

  it('refuses to check a database a running node holds', async () => {
    const dir = await tempDir();
    const storage = await openSqliteStorage({ dir, identity: IDENTITY });
    await expectStorageError(checkSqliteDataDir(dir), 'Locked');
    await storage.close();
  });
});
