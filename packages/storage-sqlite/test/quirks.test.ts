/**
 * What this store does beyond the shared Storage contract: its file format, its refusals on open,
 * its reaction to a failing write, and how snapshots sit in chunks.
 */
import { writeFile } from 'node:fs/promises';
import { type Index, isStorageError, type NodeId, type Storage, type Term } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import { openSqliteStorage } from '../src/index.ts';
import { SNAPSHOT_CHUNK_BYTES } from '../src/schema.ts';
import { entry, IDENTITY, payload, snapshotData } from './child/payload.ts';
import {
  dbPath,
  digest,
  expectStorageError,
  fileDigest,
  membership,
  tempDir,
  withRawConnection,
} from './fixtures.ts';

const open = (dir: string) => openSqliteStorage({ dir, identity: IDENTITY });

async function storeWithLog(dir: string, last: number): Promise<Storage> {
  const storage = await open(dir);
  const entries = Array.from({ length: last }, (_, k) => entry(k + 1, 1, 100));
  await storage.save({ entries, hardState: { term: 1 as Term, votedFor: null, commitIndex: 0 as Index } });
  return storage;
}

describe('persistence', () => {
  it('reopens with the log, hard state and snapshot it closed with', async () => {
    const dir = await tempDir();
    const storage = await storeWithLog(dir, 20);
    await storage.save({
      hardState: { term: 2 as Term, votedFor: 'n2' as NodeId, commitIndex: 12 as Index },
    });
    const data = snapshotData(1, 3 * SNAPSHOT_CHUNK_BYTES + 5);
    await storage.saveSnapshot({ meta: { index: 10 as Index, term: 1 as Term, membership }, data });
    await storage.close();

    const reopened = await open(dir);
    const state = await reopened.load();
    expect(state.hardState).toEqual({ term: 2, votedFor: 'n2', commitIndex: 12 });
    expect(state.snapshot?.meta).toEqual({ index: 10, term: 1, membership });
    expect(digest(state.snapshot?.data)).toBe(digest(data));
    expect(state.entries.map((e) => e.index)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(state.entries[0]?.data).toEqual(payload(11, 100));
    await reopened.close();
  });

  it('stores the bytes of a view, not the buffer behind it', async () => {
    const dir = await tempDir();
    const storage = await open(dir);
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9, 9]);
    const view = backing.subarray(2, 5);
    await storage.save({ entries: [{ index: 1 as Index, term: 1 as Term, type: 'config', data: view }] });
    await storage.close();
    const [stored] = (await (await open(dir)).load()).entries;
    expect(stored).toEqual({ index: 1, term: 1, type: 'config', data: new Uint8Array([1, 2, 3]) });
  });

  it('keeps snapshot data in chunk rows of at most the chunk size', async () => {
    const dir = await tempDir();
    const storage = await open(dir);
    const data = snapshotData(2, 2 * SNAPSHOT_CHUNK_BYTES + 1);
    const writer = await storage.createSnapshot({ index: 0 as Index, term: 0 as Term, membership });
    // Small, unaligned writes: gathered into full chunks, not one row each.
    for (let offset = 0; offset < data.byteLength; offset += 100_003) {
      await writer.write(data.subarray(offset, offset + 100_003));
    }
    await writer.commit();
    const pieces: Uint8Array[] = [];
    for await (const piece of storage.readSnapshot(700_000)) pieces.push(piece);
    expect(pieces.every((piece) => piece.byteLength <= 700_000)).toBe(true);
    expect(digest(Buffer.concat(pieces))).toBe(digest(data));
    await storage.close();
    const sizes = await withRawConnection(dbPath(dir), (conn) =>
      conn
        .prepare('SELECT length(data) AS n FROM snapshot_chunks ORDER BY seq')
        .all()
        .map((row) => row.n),
    );
    expect(sizes).toEqual([SNAPSHOT_CHUNK_BYTES, SNAPSHOT_CHUNK_BYTES, 1]);
  });

  it('drops a stream that was never committed when it next opens', async () => {
    const dir = await tempDir();
    const storage = await open(dir);
    await storage.saveSnapshot({
      meta: { index: 0 as Index, term: 0 as Term, membership },
      data: snapshotData(3, 10),
    });
    const writer = await storage.createSnapshot({ index: 0 as Index, term: 0 as Term, membership });
    await writer.write(snapshotData(4, SNAPSHOT_CHUNK_BYTES + 1));
    await storage.close();
    const reopened = await open(dir);
    expect((await reopened.loadSnapshot())?.data).toEqual(snapshotData(3, 10));
    await reopened.close();
    const rows = await withRawConnection(dbPath(dir), (conn) => ({
      snapshots: conn.prepare('SELECT count(*) AS n FROM snapshots').get()?.n,
      chunks: conn.prepare('SELECT count(*) AS n FROM snapshot_chunks').get()?.n,
    }));
    expect(rows).toEqual({ snapshots: 1, chunks: 1 });
  });
});

describe('refusals on open', () => {
  it('refuses another node or another cluster', async () => {
    const dir = await tempDir();
    await (await open(dir)).close();
    for (const identity of [
      { clusterId: IDENTITY.clusterId, nodeId: 'n2' as NodeId },
      { clusterId: 'another', nodeId: IDENTITY.nodeId },
    ]) {
      await expectStorageError(openSqliteStorage({ dir, identity }), 'IdentityMismatch');
    }
    await (await open(dir)).close();
  });

  it('refuses a second open while the first holds the database', async () => {
    const dir = await tempDir();
    const first = await open(dir);
    await expectStorageError(open(dir), 'Locked');
    await first.close();
    await (await open(dir)).close();
  });

  it('refuses a file that is not a database, and leaves it as it was', async () => {
    const dir = await tempDir();
    await writeFile(
      dbPath(dir),
      'these bytes are no SQLite header, whatever SQLite makes of them '.repeat(100),
    );
    const before = await fileDigest(dbPath(dir));
    const error = await expectStorageError(open(dir), 'Corrupt');
    expect(error.file).toBe(dbPath(dir));
    expect(await fileDigest(dbPath(dir))).toBe(before);
  });

  it('refuses an SQLite database of another application', async () => {
    const dir = await tempDir();
    await withRawConnection(dbPath(dir), (conn) => conn.exec('CREATE TABLE notes (body TEXT)'));
    const before = await fileDigest(dbPath(dir));
    await expectStorageError(open(dir), 'Corrupt');
    expect(await fileDigest(dbPath(dir))).toBe(before);
  });

  it('refuses another schema version', async () => {
    const dir = await tempDir();
    await (await open(dir)).close();
    await withRawConnection(dbPath(dir), (conn) => conn.exec('PRAGMA user_version = 99'));
    await expectStorageError(open(dir), 'UnsupportedVersion');
  });

  it.each([
    ['gap', 'DELETE FROM entries WHERE idx = 5'],
    ['term-decrease', 'UPDATE entries SET term = 0 WHERE idx = 7'],
    ['commit-beyond-last', 'UPDATE hard_state SET commit_index = 11'],
    [
      'snapshot-boundary',
      `INSERT INTO snapshots (state, idx, term, membership, size, sha256) VALUES ('current', 3, 1, '{"voters":[],"votersOutgoing":[],"learners":[]}', 0, x'')`,
    ],
  ])('refuses a log that breaks a consistency rule (%s)', async (rule, damage) => {
    const dir = await tempDir();
    await (await storeWithLog(dir, 10)).close();
    await withRawConnection(dbPath(dir), (conn) => conn.exec(damage));
    const error = await expectStorageError(open(dir), 'Corrupt');
    expect(error.message).toContain(`(${rule})`);
  });
});

describe('failures', () => {
  /** An SQL trigger stands in for the disk: it fails the write that stores entry 13. */
  async function storeFailingAt13(dir: string): Promise<Storage> {
    await (await storeWithLog(dir, 12)).close();
    await withRawConnection(dbPath(dir), (conn) =>
      conn.exec(`CREATE TRIGGER fail_13 BEFORE INSERT ON entries WHEN NEW.idx = 13
                 BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END`),
    );
    return open(dir);
  }

  it('closes after a failed write and rejects every later call with Closed', async () => {
    const dir = await tempDir();
    const storage = await storeFailingAt13(dir);
    await expectStorageError(
      storage.save({
        entries: [entry(13, 1, 100)],
        hardState: { term: 5 as Term, votedFor: null, commitIndex: 0 as Index },
      }),
      'Io',
    );
    await expectStorageError(storage.save({}), 'Closed');
    await expectStorageError(storage.entries(1 as Index, 2 as Index), 'Closed');
    await expectStorageError(storage.load(), 'Closed');
    expect(() => storage.term(1 as Index)).toThrow(expect.objectContaining({ kind: 'Closed' }));
    expect(() => storage.lastIndex()).toThrow(expect.objectContaining({ kind: 'Closed' }));
    await storage.close();

    // Nothing of the failed transaction reached the file: not the entry, not the hard state.
    await withRawConnection(dbPath(dir), (conn) => conn.exec('DROP TRIGGER fail_13'));
    const reopened = await open(dir);
    expect(reopened.lastIndex()).toBe(12);
    expect((await reopened.load()).hardState.term).toBe(1);
    await reopened.close();
  });

  it('rejects a snapshot whose chunks no longer match their SHA-256, after streaming what came before', async () => {
    const dir = await tempDir();
    const storage = await open(dir);
    const data = snapshotData(5, 2 * SNAPSHOT_CHUNK_BYTES);
    await storage.saveSnapshot({ meta: { index: 0 as Index, term: 0 as Term, membership }, data });
    await storage.close();
    await withRawConnection(dbPath(dir), (conn) =>
      conn.exec('UPDATE snapshot_chunks SET data = zeroblob(length(data)) WHERE seq = 1'),
    );
    const reopened = await open(dir);
    await expectStorageError(reopened.loadSnapshot(), 'Corrupt');
    const seen: number[] = [];
    const streamed = (async () => {
      for await (const chunk of reopened.readSnapshot(SNAPSHOT_CHUNK_BYTES)) seen.push(chunk.byteLength);
    })();
    const error = await expectStorageError(streamed, 'Corrupt');
    expect(error.file).toBe(dbPath(dir));
    expect(seen).toEqual([SNAPSHOT_CHUNK_BYTES, SNAPSHOT_CHUNK_BYTES]);
    await reopened.close();
  });

  it('rejects an entry whose bytes changed at rest, naming the file and the entry', async () => {
    const dir = await tempDir();
    await (await storeWithLog(dir, 10)).close();
    // A flipped bit inside a payload: SQLite's pages carry no checksum, so only the entry's CRC sees it.
    await withRawConnection(dbPath(dir), (conn) => {
      const data = Uint8Array.from(
        conn.prepare('SELECT data FROM entries WHERE idx = 6').get()?.data as Uint8Array,
      );
      data[50]! ^= 0x10;
      conn.prepare('UPDATE entries SET data = ? WHERE idx = 6').run(data);
    });
    const storage = await open(dir);
    const error = await expectStorageError(storage.load(), 'Corrupt');
    expect(error.file).toBe(dbPath(dir));
    expect(error.message).toContain('entry 6');
    await expectStorageError(storage.entries(6 as Index, 7 as Index), 'Corrupt');
    expect((await storage.entries(1 as Index, 6 as Index)).map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    await storage.close();
  });

  it('refuses bad writes with InvalidArgument and stays open', async () => {
    const dir = await tempDir();
    const storage = await storeWithLog(dir, 3);
    const error = await storage.save({ entries: [entry(5, 1, 8)] }).catch((e: unknown) => e);
    expect(isStorageError(error, 'InvalidArgument')).toBe(true);
    await storage.save({ entries: [entry(4, 1, 8)] });
    expect(storage.lastIndex()).toBe(4);
    await storage.close();
  });
});
