import { type Message, nodeId, type Transport } from '@raftkit/core';
import { RaftNode, type RaftNodeOptions } from '@raftkit/node';
import { MemoryStorage } from '@raftkit/testkit';
import type { Hono } from 'hono';
import { createServerApp, type ServerAppOptions } from '../src/app.ts';
import { BackupJobs } from '../src/backup-jobs.ts';
import { KvStateMachine } from '../src/kv/kv-state-machine.ts';

/** A one-node group needs no peers: this transport only counts what it was asked to send. */
class NoPeers implements Transport {
  sent: Message[] = [];
  send(_groupId: string, messages: readonly Message[]): void {
    this.sent.push(...messages);
  }
  register(): void {}
  unregister(): void {}
  setPeer(): void {}
  removePeer(): void {}
  async close(): Promise<void> {}
}

export interface SingleNode {
  readonly app: Hono;
  readonly node: RaftNode;
  readonly kv: KvStateMachine;
  readonly storage: MemoryStorage;
  /** The backup jobs the app serves, with `backupDir`. */
  readonly backups: BackupJobs | undefined;
  stop(): Promise<void>;
}

/**
 * A real driver over in-memory storage, elected leader, served by the app under test; with
 * `backupDir`, the app serves the backup routes too, its jobs writing there.
 */
export async function startSingleNode(
  options: Omit<ServerAppOptions, 'node' | 'kv' | 'backups'> = {},
  { backupDir, snapshotEvery }: { backupDir?: string; snapshotEvery?: RaftNodeOptions['snapshotEvery'] } = {},
): Promise<SingleNode> {
  const id = nodeId('n1');
  const kv = new KvStateMachine();
  const storage = MemoryStorage.create({ clusterId: 'test', nodeId: id });
  const node = await RaftNode.start({
    id,
    storage,
    transport: new NoPeers(),
    stateMachine: kv,
    bootstrap: { members: { n1: 'http://127.0.0.1:1' } },
    tickMs: 5,
    ...(snapshotEvery === undefined ? {} : { snapshotEvery }),
  });
  await new Promise<void>((resolve) => {
    if (node.status().role === 'leader') return resolve();
    const off = node.on('role', ({ role }) => {
      if (role === 'leader') {
        off();
        resolve();
      }
    });
  });
  const backups =
    backupDir === undefined
      ? undefined
      : new BackupJobs({ storage, stateMachine: kv, dir: backupDir, snapshotNow: () => node.snapshotNow() });
  return {
    app: createServerApp({ node, kv, ...options, ...(backups === undefined ? {} : { backups }) }),
    node,
    kv,
    storage,
    backups,
    stop: async () => {
      await backups?.close();
      await node.stop();
    },
  };
}
