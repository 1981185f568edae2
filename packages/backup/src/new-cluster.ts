import { type Index, type NodeId, parseMembership, type Storage, type Term } from '@raftkit/core';
import { wrapSnapshot } from '@raftkit/node';
import { BackupError } from './errors.ts';

export interface NewClusterState {
  /** The index and term the state is at; the new cluster's log continues after it. */
  readonly index: number;
  readonly term: number;
  /** The founding members, id → URL. */
  readonly members: Readonly<Record<string, string>>;
}

/**
 * Makes `storage` (empty, or holding an older state of this node) the state of a node in a new
 * cluster: one snapshot at `index` whose membership is exactly `members`, and a hard state with
 * no vote, committed up to `index`. Nothing of an old log or vote remains: the snapshot
 * replaces the whole log (storage discards entries up to its index, and there are none after).
 *
 * Why not the core's `bootstrapState`: it founds a cluster at index 0 with an empty state and
 * the membership in a config entry at index 1. A restored cluster starts from a state at a
 * later index, so its membership must travel where that state is: in the snapshot's metadata,
 * which is how a node restarted after a compaction learns its configuration too. The member
 * URLs go in the driver's snapshot envelope, as the driver writes them at every snapshot.
 *
 * `writeState` streams the state machine's bytes into the snapshot; the snapshot is committed
 * only if it resolves.
 */
export async function writeNewClusterState(
  storage: Storage,
  state: NewClusterState,
  writeState: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  const voters = Object.keys(state.members).sort() as NodeId[];
  const membership = { voters, votersOutgoing: [], learners: [] };
  try {
    parseMembership(membership);
  } catch (cause) {
    throw new BackupError('InvalidArgument', 'the member ids are not valid node ids', { cause });
  }
  if (voters.length === 0)
    throw new BackupError('InvalidArgument', 'a new cluster needs at least one member');
  if (!voters.includes(storage.identity.nodeId)) {
    throw new BackupError(
      'InvalidArgument',
      `the members ${voters.join(', ')} do not include this node, ${storage.identity.nodeId}`,
    );
  }
  const index = state.index as Index;
  const term = state.term as Term;
  const writer = await storage.createSnapshot({ index, term, membership });
  try {
    // The envelope is the URL map, then the state: its header is the envelope of an empty state.
    await writer.write(wrapSnapshot({ urls: state.members, state: new Uint8Array(0) }));
    await writeState((chunk) => writer.write(chunk));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const hard = (await storage.load()).hardState;
  // The term never goes down (a node may have voted in a later term than the state's).
  await storage.save({
    hardState: { term: Math.max(hard.term, term) as Term, votedFor: null, commitIndex: index },
  });
}
