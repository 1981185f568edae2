import { join } from 'node:path';
import { nodeId } from '@raftkit/core';
import { openFsStorage } from '@raftkit/storage-fs';
import { openSqliteStorage } from '@raftkit/storage-sqlite';
import { describe, expect, it } from 'vitest';
import { recoverForceNewCluster } from './recover.ts';
import type { StorageOpener } from './restore.ts';
import { tempDir } from './testing/fixtures.ts';
import { LogStateMachine, startAlone } from './testing/node.ts';

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const identity = { clusterId: 'c1', nodeId: nodeId('n2') };

describe.each([
  ['fs', openFsStorage],
  ['sqlite', openSqliteStorage],
] as [string, StorageOpener][])('recover --force-new-cluster on %s', (_name, open) => {
  it('makes a survivor of a three-member cluster a single-member cluster with all it had', async () => {
    await using dir = await tempDir();
    const dataDir = join(dir.path, 'n2');
    const members = { n1: 'http://127.0.0.1:7001', n2: 'http://127.0.0.1:7002', n3: 'http://127.0.0.1:7003' };
    // A survivor's state, built by hand: founded with three members, a snapshot covering some
    // writes, committed writes after it, and one it holds that was never known committed.
    const { bootstrapState, encodeConfigChange } = await import('@raftkit/core');
    const { wrapSnapshot } = await import('@raftkit/node');
    const storage = await open({ dir: dataDir, identity });
    const founded = bootstrapState(
      { voters: ['n1', 'n2', 'n3'] as never, votersOutgoing: [], learners: [] },
      text(JSON.stringify(members)),
    );
    await storage.saveSnapshot({
      meta: founded.snapshot!.meta,
      data: wrapSnapshot({ urls: {}, state: new Uint8Array(0) }),
    });
    const entry = (index: number, data: string) => ({
      index,
      term: 2,
      type: 'normal' as const,
      data: text(data),
    });
    await storage.save({
      entries: [...founded.entries, entry(2, ''), entry(3, 'a;'), entry(4, 'b;')],
      hardState: { term: 2, votedFor: 'n1', commitIndex: 4 } as never,
    });
    await storage.saveSnapshot({
      meta: {
        index: 4,
        term: 2,
        membership: { voters: ['n1', 'n2', 'n3'], votersOutgoing: [], learners: [] },
      } as never,
      data: wrapSnapshot({ urls: members, state: text('a;b;') }),
    });
    const change = encodeConfigChange({
      changes: [{ kind: 'addLearner', id: 'n4' as never }],
      context: text('{"n4":"http://127.0.0.1:7004"}'),
    });
    await storage.save({
      entries: [
        entry(5, 'c;'),
        { index: 6, term: 2, type: 'config', data: change },
        entry(7, 'd;'),
        { ...entry(8, 'e;'), term: 3 },
      ],
      hardState: { term: 3, votedFor: 'n3', commitIndex: 7 } as never,
    });
    await storage.close();

    const result = await recoverForceNewCluster({
      dataDir,
      open,
      identity,
      stateMachine: new LogStateMachine(),
    });
    expect(result).toEqual({ index: 8, term: 3, replayed: 4, uncommitted: 1, members: { n2: members.n2 } });

    const reopened = await open({ dir: dataDir, identity });
    const loaded = await reopened.load();
    expect(loaded.entries).toEqual([]);
    expect(loaded.hardState).toEqual({ term: 3, votedFor: null, commitIndex: 8 });
    expect(loaded.snapshot?.meta.membership).toEqual({ voters: ['n2'], votersOutgoing: [], learners: [] });
    const stateMachine = new LogStateMachine();
    const node = await startAlone({ id: identity.nodeId, storage: reopened, stateMachine });
    expect(decode(stateMachine.state)).toBe('a;b;c;d;e;');
    await node.propose(text('f;'));
    expect(decode(stateMachine.state)).toBe('a;b;c;d;e;f;');
    expect(node.status().term).toBeGreaterThan(3);
    await node.stop();
  });
});
