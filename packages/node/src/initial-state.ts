import type { Membership, NodeId, PersistedState, Snapshot, Storage } from '@raftkit/core';
import { bootstrapState, joiningState } from '@raftkit/core';
import { type SnapshotEnvelope, unwrapSnapshot, wrapSnapshot } from './envelope.ts';
import { encodeUrlContext } from './member-urls.ts';
import type { RaftNodeOptions, StateMachine } from './options.ts';
import { snapshotBytes } from './snapshot-stream.ts';

export interface InitialState {
  readonly persisted: PersistedState;
  /** The snapshot's envelope: member URLs and the state the state machine was restored to. */
  readonly envelope: SnapshotEnvelope;
}

/**
 * Loads the node's durable state, or creates it on empty storage, then restores the state
 * machine from the snapshot.
 *
 * A new node stores an empty snapshot at index 0 first (the core cannot start without one), and
 * a founder then the core's bootstrap config entry at index 1, carrying the founders' URLs as
 * its context: the entry travels with the log, so a node that joins later
 * learns every founder's URL from it. A crash between the two writes leaves only the index-0
 * snapshot, which the next start completes.
 */
export async function loadInitialState(
  id: NodeId,
  storage: Storage,
  stateMachine: StateMachine,
  bootstrap: RaftNodeOptions['bootstrap'],
): Promise<InitialState> {
  let persisted = await storage.load();
  const blank =
    persisted.entries.length === 0 &&
    persisted.hardState.term === 0 &&
    (persisted.snapshot === null || persisted.snapshot.meta.index === 0);
  if (persisted.snapshot === null && !blank) {
    throw new Error(`storage of ${id} holds a log but no snapshot: it was not written by this driver`);
  }
  if (blank && bootstrap !== undefined && bootstrap !== 'join') {
    persisted = await found(storage, stateMachine, persisted.snapshot, bootstrap.members);
  } else if (persisted.snapshot === null) {
    if (bootstrap === undefined) {
      throw new RangeError(`storage of ${id} is empty: pass options.bootstrap to found or join a cluster`);
    }
    const snapshot = await initialSnapshot(storage, stateMachine, joiningState().snapshot as Snapshot);
    persisted = { ...persisted, snapshot };
  }
  const envelope = unwrapSnapshot((persisted.snapshot as Snapshot).data);
  await stateMachine.restore(envelope.state);
  return { persisted, envelope };
}

async function found(
  storage: Storage,
  stateMachine: StateMachine,
  stored: Snapshot | null,
  urls: Readonly<Record<string, string>>,
): Promise<PersistedState> {
  const membership: Membership = { voters: Object.keys(urls) as NodeId[], votersOutgoing: [], learners: [] };
  const initial = bootstrapState(membership, encodeUrlContext(urls));
  const snapshot = stored ?? (await initialSnapshot(storage, stateMachine, initial.snapshot as Snapshot));
  await storage.save({ entries: initial.entries, hardState: initial.hardState });
  return { hardState: initial.hardState, snapshot, entries: initial.entries };
}

async function initialSnapshot(
  storage: Storage,
  stateMachine: StateMachine,
  empty: Snapshot,
): Promise<Snapshot> {
  const snapshot: Snapshot = {
    meta: empty.meta,
    data: wrapSnapshot({ urls: {}, state: await snapshotBytes(stateMachine.snapshot()) }),
  };
  await storage.saveSnapshot(snapshot);
  return snapshot;
}
