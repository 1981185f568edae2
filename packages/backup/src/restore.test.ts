import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type NodeId, nodeId, type Storage } from '@raftkit/core';
import { openFsStorage } from '@raftkit/storage-fs';
import { openSqliteStorage } from '@raftkit/storage-sqlite';
import { describe, expect, it } from 'vitest';
import { isBackupError } from './errors.ts';
import { exportBackup } from './export.ts';
import { restoreBackup, type StorageOpener } from './restore.ts';
import { backupBytes, collect, once, patternBytes, tempDir } from './testing/fixtures.ts';
import { LogStateMachine, startAlone } from './testing/node.ts';

const backends: [string, StorageOpener][] = [
  ['fs', openFsStorage],
  ['sqlite', openSqliteStorage],
];
const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** A node that founded a cluster alone, applied `commands` and took a snapshot of them. */
async function backupOfNode(dir: string, open: StorageOpener, commands: string[]): Promise<Uint8Array> {
  const id = nodeId('n1');
  const storage = await open({ dir, identity: { clusterId: 'c1', nodeId: id } });
  const node = await startAlone({
    id,
    storage,
    stateMachine: new LogStateMachine(),
    bootstrap: { members: { n1: 'http://127.0.0.1:7001' } },
    snapshotEvery: { entries: 1 },
  });
  for (const c of commands) await node.propose(text(c));
  await waitFor(() => node.status().snapshotIndex === node.status().appliedIndex);
  await node.stop(); // closes the storage too
  const reopened = await open({ dir, identity: { clusterId: 'c1', nodeId: id } });
  const bytes = await collect(exportBackup(reopened, { stateMachine: new LogStateMachine() }));
  await reopened.close();
  return bytes;
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

describe.each(backends)('restore into %s', (_name, open) => {
  it('boots as a new single-member cluster serving the backup state, and keeps taking writes', async () => {
    await using dir = await tempDir();
    const commands = Array.from({ length: 20 }, (_, i) => `k${i};`);
    const bytes = await backupOfNode(join(dir.path, 'source'), open, commands);
    const target = join(dir.path, 'restored');
    const { manifest, members } = await restoreBackup({
      source: () => once(bytes),
      dataDir: target,
      open,
      nodeId: 'r1',
      url: 'http://127.0.0.1:7101',
    });
    expect(members).toEqual({ r1: 'http://127.0.0.1:7101' });
    expect((await readdir(dir.path)).sort()).toEqual(['restored', 'source']);

    const storage = await open({ dir: target, identity: { clusterId: 'c1', nodeId: nodeId('r1') } });
    const loaded = await storage.load();
    expect(loaded.entries).toEqual([]);
    expect(loaded.hardState).toEqual({
      term: manifest.snapshot.term,
      votedFor: null,
      commitIndex: manifest.snapshot.index,
    });
    expect(loaded.snapshot?.meta).toEqual({
      index: manifest.snapshot.index,
      term: manifest.snapshot.term,
      membership: { voters: ['r1'], votersOutgoing: [], learners: [] },
    });
    const stateMachine = new LogStateMachine();
    const node = await startAlone({ id: nodeId('r1'), storage, stateMachine });
    expect(decode(stateMachine.state)).toBe(commands.join(''));
    await node.propose(text('after;'));
    expect(decode(stateMachine.state)).toBe(`${commands.join('')}after;`);
    expect(node.status().members).toMatchObject([{ id: 'r1', url: 'http://127.0.0.1:7101', role: 'voter' }]);
    await node.stop();
    await storage.close();
  });

  it('restores with an explicit member list', async () => {
    await using dir = await tempDir();
    const bytes = await backupBytes(patternBytes(1000));
    const members = { a: 'http://127.0.0.1:7201', b: 'http://127.0.0.1:7202', c: 'http://127.0.0.1:7203' };
    const target = join(dir.path, 'b');
    await restoreBackup({ source: () => once(bytes), dataDir: target, open, nodeId: 'b', members });
    const storage: Storage = await open({ dir: target, identity: { clusterId: 'c1', nodeId: nodeId('b') } });
    expect((await storage.load()).snapshot?.meta.membership.voters).toEqual(['a', 'b', 'c'] as NodeId[]);
    await storage.close();
    const error = await restoreBackup({
      source: () => once(bytes),
      dataDir: join(dir.path, 'x'),
      open,
      nodeId: 'z',
      members,
    }).catch((e: unknown) => e);
    expect(isBackupError(error, 'InvalidArgument')).toBe(true);
  });

  it('refuses a non-empty directory unless forced, and then leaves nothing of the old state', async () => {
    await using dir = await tempDir();
    const old = join(dir.path, 'data');
    await backupOfNode(old, open, ['old;', 'older;']);
    const before = (await readdir(old)).sort();
    const bytes = await backupBytes(patternBytes(100), 4096, { nodeId: 'n1' });
    const refused = await restoreBackup({ source: () => once(bytes), dataDir: old, open }).catch(
      (e: unknown) => e,
    );
    expect(isBackupError(refused, 'TargetNotEmpty')).toBe(true);
    expect((await readdir(old)).sort()).toEqual(before);

    await writeFile(join(old, 'stray-file'), 'x');
    await restoreBackup({ source: () => once(bytes), dataDir: old, open, force: true });
    expect(await readdir(old)).not.toContain('stray-file');
    expect(await readdir(dir.path)).toEqual(['data']);
    const storage = await open({ dir: old, identity: { clusterId: 'c1', nodeId: nodeId('n1') } });
    const loaded = await storage.load();
    expect(loaded.entries).toEqual([]);
    expect(loaded.snapshot?.meta.index).toBe(120);
    expect(loaded.hardState.votedFor).toBeNull();
    await storage.close();
  });

  it('refuses, even when forced, a directory a running node holds', async () => {
    await using dir = await tempDir();
    const held = join(dir.path, 'held');
    const running = await open({ dir: held, identity: { clusterId: 'c1', nodeId: nodeId('n1') } });
    try {
      const before = (await readdir(held)).sort();
      const bytes = await backupBytes(patternBytes(100));
      const error = await restoreBackup({
        source: () => once(bytes),
        dataDir: held,
        open,
        force: true,
      }).catch((e: unknown) => e);
      expect(isBackupError(error, 'TargetNotEmpty')).toBe(true);
      expect((await readdir(held)).sort()).toEqual(before);
      expect(await readdir(dir.path)).toEqual(['held']);
    } finally {
      await running.close();
    }
  });

  it('restores into an existing empty directory', async () => {
    await using dir = await tempDir();
    const target = join(dir.path, 'empty');
    await mkdir(target);
    const bytes = await backupBytes(patternBytes(10));
    await restoreBackup({ source: () => once(bytes), dataDir: target, open });
    expect((await readdir(target)).length).toBeGreaterThan(0);
  });

  it('writes nothing when the archive is bad, wherever it is bad', async () => {
    await using dir = await tempDir();
    const bytes = await backupBytes(patternBytes(20_000), 4096);
    const target = join(dir.path, 'target');
    for (const at of [20, Math.floor(bytes.length / 2), bytes.length - 30, bytes.length - 3]) {
      const bad = bytes.slice();
      bad[at]! ^= 0x10;
      const error = await restoreBackup({ source: () => once(bad), dataDir: target, open }).catch(
        (e: unknown) => e,
      );
      expect(isBackupError(error)).toBe(true);
      expect(await readdir(dir.path)).toEqual([]);
    }
  });

  it('abandons the restore when the archive changes between the two passes', async () => {
    await using dir = await tempDir();
    const first = await backupBytes(patternBytes(20_000), 4096);
    const second = await backupBytes(patternBytes(20_001), 4096);
    let calls = 0;
    const target = join(dir.path, 'target');
    const error = await restoreBackup({
      source: () => once(calls++ === 0 ? first : second),
      dataDir: target,
      open,
    }).catch((e: unknown) => e);
    expect(isBackupError(error, 'ManifestInvalid')).toBe(true);
    expect(await readdir(dir.path)).toEqual([]);
  });
});
