import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkFsDataDir, openFsStorage, renderFsCheckReport } from './index.ts';
import { scanSegment } from './segment-scan.ts';
import { SNAPSHOT_FILE } from './snapshot-file.ts';
import { listDir, tempDirs } from './test-support/dirs.ts';
import { hard, identity, run, snapshot } from './test-support/fixtures.ts';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

/** A stopped node's directory: two segments, a snapshot, two terms in the log. */
async function stoppedNode(): Promise<string> {
  const dir = await dirs.make();
  const store = await openFsStorage({ dir, identity, segmentBytes: 4096 });
  for (let i = 1; i <= 20; i += 4)
    await store.save({ entries: run(i, i + 3, 1, 300), hardState: hard(1, i) });
  await store.saveSnapshot(snapshot(6, 1, 2000));
  await store.save({ entries: run(21, 25, 2, 10), hardState: hard(2, 22, 'n2') });
  await store.close();
  return dir;
}

async function snapshotOfDir(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of await listDir(dir))
    files.set(name, (await readFile(join(dir, name))).toString('base64'));
  return files;
}

describe('checkFsDataDir', () => {
  it('summarises a healthy directory and changes nothing', async () => {
    const dir = await stoppedNode();
    const before = await snapshotOfDir(dir);
    const report = await checkFsDataDir(dir);
    expect(report).toMatchObject({
      ok: true,
      identity,
      hardState: hard(2, 22, 'n2'),
      snapshot: { index: 6, term: 1, dataBytes: 2000 },
      entries: 19,
      firstIndex: 7,
      lastIndex: 25,
      terms: [
        { term: 1, firstIndex: 7, lastIndex: 20 },
        { term: 2, firstIndex: 21, lastIndex: 25 },
      ],
      problems: [],
      tornTail: null,
      lock: null,
    });
    const total = [...before.values()].reduce((n, b64) => n + Buffer.from(b64, 'base64').byteLength, 0);
    expect(report.bytesOnDisk).toBe(total);
    expect(renderFsCheckReport(report)).toContain('OK');
    expect(await snapshotOfDir(dir)).toEqual(before);
  });

  it('finds a damaged snapshot payload that opening does not read', async () => {
    const dir = await stoppedNode();
    const path = join(dir, SNAPSHOT_FILE);
    const bytes = await readFile(path);
    bytes[bytes.byteLength - 100]! ^= 0x01;
    await writeFile(path, bytes);
    const report = await checkFsDataDir(dir);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'Corrupt', file: path })]);
    expect(renderFsCheckReport(report)).toMatch(
      /PROBLEM\s+Corrupt: .*snapshot at offset \d+: snapshot data checksum mismatch/,
    );
  });

  it('lists damage in each segment with file and offset, and a torn tail as a note', async () => {
    const dir = await stoppedNode();
    const segments = (await listDir(dir)).filter((n) => n.startsWith('wal-'));
    expect(segments.length).toBeGreaterThan(1);
    const first = join(dir, segments[0]!);
    const bytes = await readFile(first);
    bytes[60]! ^= 0x40;
    await writeFile(first, bytes);
    const last = join(dir, segments.at(-1)!);
    const lastBytes = await readFile(last);
    const { used } = scanSegment(lastBytes, true);
    lastBytes.set([9, 9], used);
    await writeFile(last, lastBytes);
    const before = await snapshotOfDir(dir);
    const report = await checkFsDataDir(dir);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'Corrupt', file: first, offset: expect.any(Number) }),
    ]);
    expect(report.tornTail).toMatchObject({ file: last, offset: used, bytes: lastBytes.byteLength - used });
    expect(renderFsCheckReport(report)).toContain('torn tail');
    expect(await snapshotOfDir(dir)).toEqual(before);
  });
});
