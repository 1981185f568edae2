import { decodeConfigChange, type Index, type StorageIdentity } from '@raftkit/core';
import { type StateMachine, snapshotBytes, unwrapSnapshot } from '@raftkit/node';
import { BackupError } from './errors.ts';
import { writeNewClusterState } from './new-cluster.ts';
import type { StorageOpener } from './restore.ts';

/** What `recoverForceNewCluster` works on: a stopped survivor's data directory. */
export interface RecoverOptions {
  /** The survivor's data directory; its node must be stopped. */
  readonly dataDir: string;
  readonly open: StorageOpener;
  readonly identity: StorageIdentity;
  /** A fresh instance of the application's state machine, to replay the log into. */
  readonly stateMachine: StateMachine;
  /** This node's URL. Default: the one its snapshot or log records. */
  readonly url?: string;
}

/** The single-member cluster a recovery left. */
export interface RecoverResult {
  /** Where the new cluster's state is: the survivor's last log entry. */
  readonly index: number;
  readonly term: number;
  /** Entries replayed on top of the survivor's snapshot, committed or not. */
  readonly replayed: number;
  /** Of those, the ones the survivor did not know to be committed. */
  readonly uncommitted: number;
  readonly members: Readonly<Record<string, string>>;
}

/**
 * Disaster recovery (`raftkit recover --force-new-cluster`): turns one survivor's data directory
 * into the state of a single-member cluster that keeps everything the survivor had, like etcd's
 * `--force-new-cluster` or a hashicorp/raft `peers.json`. For when a majority is lost for good.
 *
 * The survivor's snapshot is restored into `stateMachine`, every log entry after it is applied
 * (those not yet known to be committed too: they may have been acknowledged to clients by a
 * leader that had them on a majority), and the result becomes a snapshot at the last index whose
 * membership is this node alone. Its vote is cleared; its term is kept.
 *
 * Risks, which the operator takes on:
 * - Writes the lost majority committed but this survivor never received are gone for good.
 *   Pick the survivor with the highest last index (`raftkit check` shows it).
 * - Entries this survivor had but the cluster never committed become committed: a client that
 *   saw a timeout for them may find them applied.
 * - The other members, if they ever come back, must not rejoin with their old data: wipe them
 *   and add them as new members, or they would form a second cluster with a diverging history.
 */
export async function recoverForceNewCluster(options: RecoverOptions): Promise<RecoverResult> {
  const storage = await options.open({ dir: options.dataDir, identity: options.identity });
  try {
    const persisted = await storage.load();
    const snapshot = await storage.loadSnapshot();
    if (snapshot === null) {
      throw new BackupError(
        'InvalidArgument',
        `${options.dataDir} holds no snapshot: it is not a node's data directory`,
      );
    }
    let envelope: ReturnType<typeof unwrapSnapshot>;
    try {
      envelope = unwrapSnapshot(snapshot.data);
    } catch (cause) {
      throw new BackupError('NotDriverSnapshot', 'the snapshot data does not carry the driver envelope', {
        cause,
      });
    }
    await options.stateMachine.restore(envelope.state);
    const self = options.identity.nodeId;
    let url: string | undefined = options.url ?? envelope.urls[self];
    let last: { index: number; term: number } = snapshot.meta;
    for (const entry of persisted.entries) {
      if (entry.type === 'config') url = options.url ?? contextUrl(entry.data, self) ?? url;
      else if (entry.data.byteLength > 0) options.stateMachine.apply(entry);
      last = entry;
    }
    if (url === undefined) {
      throw new BackupError(
        'InvalidArgument',
        `neither the snapshot nor the log records a URL for ${self}: pass url`,
      );
    }
    const state = await snapshotBytes(options.stateMachine.snapshot());
    const members = { [self]: url };
    await writeNewClusterState(storage, { index: last.index, term: last.term, members }, (write) =>
      write(state),
    );
    return {
      index: last.index,
      term: last.term,
      replayed: persisted.entries.length,
      uncommitted: Math.max(
        0,
        last.index - Math.max(persisted.hardState.commitIndex, snapshot.meta.index as Index),
      ),
      members,
    };
  } finally {
    await storage.close();
  }
}

/** The URL a config change's context gives `id` (the driver's `{id: url}` JSON), if any. */
function contextUrl(data: Uint8Array, id: string): string | undefined {
  const { context } = decodeConfigChange(data);
  if (context === undefined || context.byteLength === 0) return undefined;
  try {
    const urls: unknown = JSON.parse(new TextDecoder().decode(context));
    const url = (urls as Record<string, unknown> | null)?.[id];
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}
