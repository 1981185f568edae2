import type { Membership, NodeId, PersistedState, Snapshot, Storage } from '@raftkit/core';
import { bootstrapState, joiningState } from '@raftkit/core';
import { type SnapshotEnvelope, unwrapSnapshot, wrapSnapshot } from './envelope.ts';
import type { RaftNodeOptions, StateMachine } from './options.ts';

export interface InitialState {
  readonly persisted: PersistedState;
  /** The snapshot's envelope: member URLs and the state the state machine was restored to. */
  readonly envelope: SnapshotEnvelope;
}

/**
 * Loads the node's durable state, or creates it on empty storage. A new node's first act is to
 * store a snapshot at index 0 holding its initial membership and member URLs: the core cannot
 * start without one, and after a restart the log alone would not say who the members are.
 * Restores the state machine from the snapshot before returning.
 */
export async function loadInitialState(
  id: NodeId,
  storage: Storage,
  stateMachine: StateMachine,
  bootstrap: RaftNodeOptions['bootstrap'],
): Promise<InitialState> {
  let persisted = await storage.load();
  if (persisted.snapshot === null) {
    const fresh = persisted.entries.length === 0 && persisted.hardState.term === 0;
    if (!fresh) {
      throw new Error(`storage of ${id} holds a log but no snapshot: it was not written by this driver`);
    }
    if (bootstrap === undefined) {
      throw new RangeError(`storage of ${id} is empty: pass options.bootstrap to found or join a cluster`);
    }
    persisted = await createInitialState(storage, stateMachine, bootstrap);
  }
  const envelope = unwrapSnapshot((persisted.snapshot as Snapshot).data);
  await stateMachine.restore(envelope.state);
  return { persisted, envelope };
}

async function createInitialState(
  storage: Storage,
  stateMachine: StateMachine,
  bootstrap: NonNullable<RaftNodeOptions['bootstrap']>,
): Promise<PersistedState> {
  const urls = bootstrap === 'join' ? {} : bootstrap.members;
  const membership: Membership = {
    voters: Object.keys(urls) as NodeId[],
    votersOutgoing: [],
    learners: [],
  };
  const initial = bootstrap === 'join' ? joiningState() : bootstrapState(membership);
  const snapshot: Snapshot = {
    meta: (initial.snapshot as Snapshot).meta,
    data: wrapSnapshot({ urls, state: await stateMachine.snapshot() }),
  };
  await storage.saveSnapshot(snapshot);
  return { ...initial, snapshot };
}
