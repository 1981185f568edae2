import type { RaftNodeMetrics } from '@raftkit/node';
import type { ServerNode } from '../server-node.ts';
import type { MetricsRegistry } from './registry.ts';

const ROLES = ['follower', 'preCandidate', 'candidate', 'leader'] as const;

type CounterKey = {
  [K in keyof RaftNodeMetrics]: RaftNodeMetrics[K] extends number ? K : never;
}[keyof RaftNodeMetrics];
type HistogramKey = Exclude<keyof RaftNodeMetrics, CounterKey>;

/**
 * Every driver counter, named and explained. A `Record` over the driver's keys, so a counter
 * added there does not compile until it is described here.
 */
const COUNTERS: Record<CounterKey, { readonly name: string; readonly help: string }> = {
  proposals: { name: 'raftkit_raft_proposals_total', help: 'Proposals this node appended as leader.' },
  proposalsFailed: {
    name: 'raftkit_raft_proposals_failed_total',
    help: 'Proposals that failed (no leader, dropped, timed out, or lost to a new term).',
  },
  proposalsForwarded: {
    name: 'raftkit_raft_proposals_forwarded_total',
    help: 'Proposals this node forwarded to the leader.',
  },
  reads: { name: 'raftkit_raft_reads_total', help: 'Linearizable and lease reads started on this node.' },
  readsFailed: { name: 'raftkit_raft_reads_failed_total', help: 'Reads that failed or timed out.' },
  readys: { name: 'raftkit_raft_readys_total', help: 'Ready batches the driver handled.' },
  saves: {
    name: 'raftkit_storage_saves_total',
    help: 'Writes of entries and hard state to storage (one fsync each).',
  },
  entriesPersisted: {
    name: 'raftkit_storage_entries_persisted_total',
    help: 'Log entries written to storage.',
  },
  entriesApplied: {
    name: 'raftkit_raft_entries_applied_total',
    help: 'Log entries applied to the state machine.',
  },
  messagesSent: { name: 'raftkit_raft_messages_sent_total', help: 'Raft messages handed to the transport.' },
  messagesReceived: {
    name: 'raftkit_raft_messages_received_total',
    help: 'Raft messages received from peers.',
  },
  messagesDropped: {
    name: 'raftkit_raft_messages_dropped_total',
    help: 'Received Raft messages dropped because the per-tick budget was spent (Raft resends them).',
  },
  snapshotsTaken: {
    name: 'raftkit_raft_snapshots_taken_total',
    help: 'Snapshots this node took of its state.',
  },
  snapshotsRestored: {
    name: 'raftkit_raft_snapshots_restored_total',
    help: 'Snapshots restored into the state machine.',
  },
  snapshotsSent: { name: 'raftkit_raft_snapshots_sent_total', help: 'Snapshots sent to followers in full.' },
  snapshotsSendFailed: {
    name: 'raftkit_raft_snapshot_send_failures_total',
    help: 'Snapshot transfers to followers that failed.',
  },
  snapshotsReceived: {
    name: 'raftkit_raft_snapshots_received_total',
    help: 'Snapshots received from the leader in full.',
  },
};

const HISTOGRAMS: Record<HistogramKey, { readonly name: string; readonly help: string }> = {
  fsyncSeconds: {
    name: 'raftkit_storage_fsync_duration_seconds',
    help: 'Time to write and fsync one Ready (entries and hard state).',
  },
  applySeconds: {
    name: 'raftkit_raft_apply_duration_seconds',
    help: "Time to apply one Ready's committed entries to the state machine.",
  },
};

/** The node's Raft state (role, term, indexes, members, the leader's view of each peer) and the driver's counters. */
export function registerRaftMetrics(
  registry: MetricsRegistry,
  node: ServerNode,
  leaderChanges: () => number,
): void {
  const status = () => node.status();
  registry.gauge(
    { name: 'raftkit_raft_role', help: 'This node role (1 for the current one).', labels: ['role'] },
    () => ROLES.map((role) => [{ role }, status().role === role ? 1 : 0]),
  );
  registry.gauge({ name: 'raftkit_raft_term', help: 'Current Raft term.' }, () => [[{}, status().term]]);
  registry.gauge(
    { name: 'raftkit_raft_has_leader', help: '1 when this node knows a leader, else 0.' },
    () => [[{}, status().leader === null ? 0 : 1]],
  );
  registry.counter(
    { name: 'raftkit_raft_leader_changes_total', help: 'Times this node saw a new leader since it started.' },
    () => [[{}, leaderChanges()]],
  );
  registry.gauge({ name: 'raftkit_raft_commit_index', help: 'Highest log index known committed.' }, () => [
    [{}, status().commitIndex],
  ]);
  registry.gauge(
    { name: 'raftkit_raft_applied_index', help: 'Highest log index applied to the state machine.' },
    () => [[{}, status().appliedIndex]],
  );
  registry.gauge({ name: 'raftkit_raft_snapshot_index', help: 'Log index of the latest snapshot.' }, () => [
    [{}, status().snapshotIndex],
  ]);
  registry.gauge({ name: 'raftkit_raft_members', help: 'Members by role.', labels: ['role'] }, () => {
    const { members } = status();
    return (['voter', 'learner'] as const).map((role) => [
      { role },
      members.filter((m) => m.role === role).length,
    ]);
  });
  // The leader's view of each follower; a follower has none, so it reports no samples.
  const peers = () => {
    const { id, members } = status();
    return members.filter((m) => m.id !== id);
  };
  registry.gauge(
    {
      name: 'raftkit_raft_peer_match_index',
      help: 'Leader only: highest log index known replicated to the peer.',
      labels: ['peer'],
    },
    () => peers().flatMap((m) => (m.matchIndex === null ? [] : [[{ peer: m.id }, m.matchIndex] as const])),
  );
  registry.gauge(
    {
      name: 'raftkit_raft_peer_lag_entries',
      help: "Leader only: entries in the leader's log the peer does not have yet.",
      labels: ['peer'],
    },
    () => peers().flatMap((m) => (m.lag === null ? [] : [[{ peer: m.id }, m.lag] as const])),
  );
  registry.gauge(
    {
      name: 'raftkit_raft_peer_last_contact_seconds',
      help: 'Leader only: seconds since a message from the peer last arrived.',
      labels: ['peer'],
    },
    () =>
      peers().flatMap((m) =>
        m.lastContactMs === null ? [] : [[{ peer: m.id }, m.lastContactMs / 1000] as const],
      ),
  );
  for (const [key, { name, help }] of Object.entries(COUNTERS) as [
    CounterKey,
    (typeof COUNTERS)[CounterKey],
  ][]) {
    registry.counter({ name, help }, () => [[{}, node.metrics()[key]]]);
  }
  for (const [key, { name, help }] of Object.entries(HISTOGRAMS) as [
    HistogramKey,
    (typeof HISTOGRAMS)[HistogramKey],
  ][]) {
    registry.histogram({ name, help }, () => [[{}, node.metrics()[key]]]);
  }
}
