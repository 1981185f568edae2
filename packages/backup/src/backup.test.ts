import { execFileSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { wrapSnapshot } from '@raftkit/node';
import { openFsStorage } from '@raftkit/storage-fs';
import { describe, expect, it } from 'vitest';
import { captureSnapshot } from './capture.ts';
import { isBackupError } from './errors.ts';
import { exportBackup } from './export.ts';
import { inspectBackup } from './inspect.ts';
import {
  backupBytes,
  collect,
  meta,
  nodeIdentity,
  once,
  patternBytes,
  tempDir,
  urls,
} from './testing/fixtures.ts';
import { verifyBackup } from './verify.ts';

describe('export and verify', () => {
  it('round-trips state of every size around the chunk and block boundaries', async () => {
    for (const size of [0, 1, 511, 512, 513, 4095, 4096, 4097, 3 * 4096 + 100]) {
      const state = patternBytes(size, size + 1);
      const received: Uint8Array[] = [];
      const manifest = await verifyBackup(once(await backupBytes(state)), {});
      expect(manifest.files.reduce((n, f) => n + f.size, 0)).toBe(size);
      expect(manifest.files.length).toBe(Math.ceil(size / 4096));
      // A restore reads the state through `onState`; the bytes must come back in order.
      const { readBackup } = await import('./read-backup.ts');
      await readBackup(once(await backupBytes(state), 333), {
        onState: (c) => void received.push(c.slice()),
      });
      expect(
        await collect(once(new Uint8Array(await new Blob(received as BlobPart[]).arrayBuffer()))),
      ).toEqual(state);
    }
  });

  it('records the snapshot, configuration and URLs in the manifest', async () => {
    const manifest = await verifyBackup(once(await backupBytes(patternBytes(100))));
    expect(manifest).toMatchObject({
      version: 1,
      clusterId: 'c1',
      nodeId: 'n1',
      createdAt: '2026-01-02T03:04:05.000Z',
      snapshot: { index: 120, term: 3 },
      configuration: {
        voters: [
          { id: 'n1', url: urls.n1 },
          { id: 'n2', url: urls.n2 },
          { id: 'n3', url: urls.n3 },
        ],
        learners: [],
      },
      stateMachine: null,
    });
  });

  it('writes an archive that tar and sha256sum accept', async () => {
    await using dir = await tempDir();
    const file = join(dir.path, 'b.tar.gz');
    await writeFile(file, await backupBytes(patternBytes(10_000)));
    execFileSync('tar', ['-xzf', file, '-C', dir.path]);
    const folder = join(dir.path, 'raftkit-backup-c1-120');
    expect(execFileSync('sha256sum', ['-c', 'manifest.sha256'], { cwd: folder, encoding: 'utf8' })).toContain(
      'OK',
    );
    const listing = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toEqual([
      'raftkit-backup-c1-120/state/00000000.bin',
      'raftkit-backup-c1-120/state/00000001.bin',
      'raftkit-backup-c1-120/state/00000002.bin',
      'raftkit-backup-c1-120/manifest.json',
      'raftkit-backup-c1-120/manifest.sha256',
    ]);
  });

  it('uses a PAX header for a folder name longer than ustar holds', async () => {
    await using dir = await tempDir();
    const clusterId = 'c'.repeat(120);
    const file = join(dir.path, 'b.tar.gz');
    await writeFile(file, await backupBytes(patternBytes(10), 4096, { clusterId }));
    const manifest = await verifyBackup(once(await backupBytes(patternBytes(10), 4096, { clusterId })));
    expect(manifest.clusterId).toBe(clusterId);
    const listing = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' });
    expect(listing).toContain(`raftkit-backup-${clusterId}-120/manifest.json`);
  });

  it('exports the latest snapshot of a storage, envelope stripped, with state machine metadata', async () => {
    await using dir = await tempDir();
    const storage = await openFsStorage({ dir: dir.path, identity: nodeIdentity('n2') });
    const state = patternBytes(50_000);
    await storage.saveSnapshot({
      meta: meta(0, 0),
      data: wrapSnapshot({ urls: {}, state: new Uint8Array(0) }),
    });
    await storage.save({ entries: [], hardState: { term: 2, votedFor: null, commitIndex: 0 } as never });
    await storage.saveSnapshot({ meta: meta(40, 2), data: wrapSnapshot({ urls, state }) });
    let counted = 0;
    const stateMachine = {
      backupMetadata: () => ({
        update: (c: Uint8Array) => {
          counted += c.length;
        },
        digest: () => ({ bytes: counted }),
      }),
    };
    const bytes = await collect(exportBackup(storage, { stateMachine, readBytes: 4096 }));
    await storage.close();
    const manifest = await verifyBackup(once(bytes));
    expect(manifest).toMatchObject({
      clusterId: 'c1',
      nodeId: 'n2',
      snapshot: { index: 40, term: 2 },
      stateMachine: { bytes: 50_000 },
    });
    expect(manifest.configuration.voters.map((v) => v.url)).toEqual([urls.n1, urls.n2, urls.n3]);
    const received: Uint8Array[] = [];
    const { readBackup } = await import('./read-backup.ts');
    await readBackup(once(bytes), { onState: (c) => void received.push(c.slice()) });
    expect(new Uint8Array(await new Blob(received as BlobPart[]).arrayBuffer())).toEqual(state);
  });

  it('refuses a storage without a snapshot', async () => {
    await using dir = await tempDir();
    const storage = await openFsStorage({ dir: dir.path, identity: nodeIdentity('n1') });
    try {
      expect(() => exportBackup(storage)).toThrow(expect.objectContaining({ code: 'NoSnapshot' }));
    } finally {
      await storage.close();
    }
  });

  it('inspects in human and JSON form', async () => {
    const bytes = await backupBytes(patternBytes(100));
    const human = await inspectBackup(once(bytes));
    expect(human).toContain('snapshot    index 120, term 3');
    expect(human).toContain(`n2  ${urls.n2}`);
    expect(JSON.parse(await inspectBackup(once(bytes), { format: 'json' })).snapshot).toEqual({
      index: 120,
      term: 3,
    });
  });

  it('gives typed errors', async () => {
    const error = await verifyBackup(once(new Uint8Array([1, 2, 3]))).catch((e: unknown) => e);
    expect(isBackupError(error, 'Gzip')).toBe(true);
  });
});

describe('captureSnapshot', () => {
  it('copies the state aside, retrying when a newer snapshot replaces the one being read', async () => {
    await using dir = await tempDir();
    const storage = await openFsStorage({ dir: join(dir.path, 'store'), identity: nodeIdentity('n1') });
    await storage.saveSnapshot({
      meta: meta(10, 1),
      data: wrapSnapshot({ urls, state: patternBytes(9000, 1) }),
    });
    let replaced = 0;
    // The node stores a newer snapshot while the first read is under way.
    const racing = Object.create(storage, {
      readSnapshot: {
        value: async function* (chunkBytes: number) {
          let first = true;
          for await (const chunk of storage.readSnapshot(chunkBytes)) {
            yield chunk;
            if (first && replaced++ === 0) {
              await storage.saveSnapshot({
                meta: meta(20, 2),
                data: wrapSnapshot({ urls, state: patternBytes(7000, 2) }),
              });
            }
            first = false;
          }
        },
      },
    }) as typeof storage;
    const spool = join(dir.path, 'spool');
    const failed = await captureSnapshot(racing, spool, 1).catch((e: unknown) => e);
    expect(isBackupError(failed, 'SnapshotChanged')).toBe(true);

    replaced = 0;
    const captured = await captureSnapshot(racing, spool, 2);
    expect(captured.meta.index).toBe(20);
    expect(captured.urls).toEqual(urls);
    expect(await collect(captured.state)).toEqual(patternBytes(7000, 2));
    await captured.remove();
    expect(await readdir(dir.path)).toEqual(['store']);
    await storage.close();
  });
});
