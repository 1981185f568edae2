/**
 * A fault mix: how hostile the simulated world is while faults are on. Every probability is per
 * tick (or per message for the network ones) and drawn from the run's one seeded generator.
 * Mixes are plain data so that a new one is a new object, not new code.
 */
export interface FaultMix {
  readonly name: string;
  /** Message delay in ticks, uniform in [min, max]; different delays reorder messages. */
  readonly minDelay: number;
  readonly maxDelay: number;
  /** Probability that a message is lost. */
  readonly loss: number;
  /** Probability that a message is delivered twice (the copy gets its own delay). */
  readonly duplication: number;
  /** Simulated fsync time in ticks, uniform in [0, max]; a crash during it loses the write. */
  readonly maxFsyncDelay: number;
  /** Per tick: probability that a new partition starts (when none is in force). */
  readonly partition: number;
  /** Probability that a new partition puts the current leader on the smaller side. */
  readonly partitionLeader: number;
  /** How long a partition lasts, in ticks, uniform in [min, max]. */
  readonly partitionTicks: readonly [number, number];
  /** Per tick: probability that an up node crashes. */
  readonly crash: number;
  /** Per tick: probability that a leader crashes, on top of `crash`: leader churn. */
  readonly crashLeader: number;
  /** How long a crashed node stays down, in ticks, uniform in [min, max]. */
  readonly downTicks: readonly [number, number];
  /** Take a snapshot and compact the log every this many applied entries (0: never). */
  readonly snapshotEvery: number;
  /** Payload bytes per AppendEntries: small values split catch-up into many messages. */
  readonly maxMessageBytes: number;
  /** Per tick: probability that a client proposes a write. */
  readonly writeRate: number;
  /** Per tick: probability that a client issues a read (on any node: followers forward it). */
  readonly readRate: number;
  /** Fraction of reads served by the leader's lease instead of a quorum round (thesis §6.4.1). */
  readonly leaseReads: number;
  /** Fraction of reads served from the node's own state at once: fast, not linearizable. */
  readonly staleReads: number;
  /** Per tick: probability that a client issues a compare-and-set. */
  readonly casRate: number;
  /**
   * Fraction of the writes sent to a follower that it forwards to the leader (`RawNode.forward`);
   * the others are refused and retried at the leader the refusal names.
   */
  readonly forwardedWrites: number;
  /**
   * Nodes that exist from the start outside the cluster (`joiningState()`), for the operator to
   * add as learners or voters; removed members keep running beside them.
   */
  readonly joiningNodes: number;
  /** Per tick: probability that the operator proposes a membership change to a leader. */
  readonly reconfigure: number;
  /** Per tick: probability that the operator asks a leader to hand leadership to another voter. */
  readonly transfer: number;
}

const calm: FaultMix = {
  name: 'calm',
  minDelay: 1,
  maxDelay: 2,
  loss: 0,
  duplication: 0,
  maxFsyncDelay: 1,
  partition: 0,
  partitionLeader: 0,
  partitionTicks: [0, 0],
  crash: 0,
  crashLeader: 0,
  downTicks: [0, 0],
  snapshotEvery: 0,
  maxMessageBytes: 1024 * 1024,
  writeRate: 0.3,
  readRate: 0,
  leaseReads: 0,
  staleReads: 0,
  casRate: 0,
  forwardedWrites: 0,
  joiningNodes: 0,
  reconfigure: 0,
  transfer: 0,
};

/** Every partition shape the network knows: split, isolate one node, one-way links, flapping. */
const partitions: FaultMix = {
  ...calm,
  name: 'partitions',
  maxDelay: 3,
  partition: 0.02,
  partitionTicks: [10, 60],
};

const lossy: FaultMix = { ...calm, name: 'lossy', maxDelay: 6, loss: 0.15, duplication: 0.1 };

const crashes: FaultMix = {
  ...calm,
  name: 'crashes',
  maxFsyncDelay: 3,
  crash: 0.01,
  downTicks: [1, 40],
};

/** Snapshots and compaction under load, with enough loss and crashes that followers need them. */
const snapshots: FaultMix = {
  ...calm,
  name: 'snapshots',
  maxDelay: 3,
  loss: 0.05,
  crash: 0.006,
  downTicks: [20, 80],
  snapshotEvery: 5,
  writeRate: 0.6,
};

const chaos: FaultMix = {
  name: 'chaos',
  minDelay: 1,
  maxDelay: 5,
  loss: 0.08,
  duplication: 0.05,
  maxFsyncDelay: 3,
  partition: 0.015,
  partitionLeader: 0.3,
  partitionTicks: [5, 50],
  crash: 0.008,
  crashLeader: 0.005,
  downTicks: [1, 50],
  snapshotEvery: 8,
  maxMessageBytes: 16,
  writeRate: 0.5,
  readRate: 0.2,
  leaseReads: 0.3,
  staleReads: 0.1,
  casRate: 0.1,
  forwardedWrites: 0,
  joiningNodes: 2,
  reconfigure: 0.02,
  transfer: 0.01,
};

/**
 * Short-lived leaders leaving entries on some followers but not others: crashes and partitions
 * every few dozen ticks, one entry per AppendEntries so that followers acknowledge prefixes of
 * a new leader's log. The setting of Raft Figure 8, where committing an earlier term's entry by
 * counting replicas loses it.
 */
const churn: FaultMix = {
  ...chaos,
  name: 'churn',
  loss: 0.1,
  duplication: 0,
  partition: 0.05,
  partitionLeader: 0.8,
  partitionTicks: [3, 25],
  crash: 0.005,
  crashLeader: 0.05,
  downTicks: [1, 25],
  snapshotEvery: 0,
  maxMessageBytes: 1,
  writeRate: 0.8,
  readRate: 0,
  staleReads: 0,
  casRate: 0,
  joiningNodes: 0,
  reconfigure: 0,
  transfer: 0,
};

/** Reads interleaved with partitions that strand leaders: the setting stale reads show up in. */
const reads: FaultMix = { ...partitions, name: 'reads', readRate: 0.5, partition: 0.04 };

/**
 * An operator adding learners, promoting them, adding and removing voters (several at once
 * through joint consensus, the leader itself too) while partitions cut leaders off and nodes
 * crash. Removed nodes keep running: they must not disrupt the cluster that dropped them.
 */
const membership: FaultMix = {
  ...crashes,
  name: 'membership',
  maxDelay: 3,
  partition: 0.015,
  partitionLeader: 0.3,
  partitionTicks: [5, 40],
  crash: 0.006,
  crashLeader: 0.003,
  downTicks: [1, 40],
  snapshotEvery: 10,
  writeRate: 0.4,
  readRate: 0.1,
  joiningNodes: 2,
  reconfigure: 0.05,
};

/** Leadership handed over at random moments, to live targets and to cut-off or crashed ones. */
const transfer: FaultMix = {
  ...partitions,
  name: 'transfer',
  partitionLeader: 0.3,
  crash: 0.004,
  downTicks: [1, 30],
  writeRate: 0.5,
  readRate: 0.2,
  leaseReads: 0.5,
  transfer: 0.04,
};

/**
 * Client histories for the linearizability checker: writes, compare-and-sets and reads in every
 * mode, on every node, while partitions strand leaders, nodes crash and leadership moves.
 */
const linearizable: FaultMix = {
  ...reads,
  name: 'linearizable',
  partitionLeader: 0.4,
  loss: 0.03,
  crash: 0.004,
  crashLeader: 0.004,
  downTicks: [1, 40],
  writeRate: 0.4,
  readRate: 0.6,
  leaseReads: 0.4,
  staleReads: 0.15,
  casRate: 0.3,
  transfer: 0.005,
};

/**
 * Writes and compare-and-sets forwarded by followers (thesis §6.2) under the linearizable mix's
 * faults, with messages duplicated too: a Propose appended twice would apply a write twice.
 */
const forwarding: FaultMix = { ...linearizable, name: 'forwarding', duplication: 0.05, forwardedWrites: 0.5 };

/**
 * The built-in fault mixes by name, from `calm` (no faults) to mixes that partition, crash and reorder at
 * once; the sweep cycles through them.
 */
export const mixes = {
  calm,
  lossy,
  partitions,
  crashes,
  snapshots,
  chaos,
  churn,
  reads,
  membership,
  transfer,
  linearizable,
  forwarding,
} as const;

/** The name of one of the built-in `mixes`. */
export type MixName = keyof typeof mixes;

/** The built-in fault mix called `name`. Throws RangeError, listing the known names, for any other. */
export function mixByName(name: string): FaultMix {
  if (!Object.hasOwn(mixes, name)) {
    throw new RangeError(`unknown fault mix '${name}'; known: ${Object.keys(mixes).join(', ')}`);
  }
  return mixes[name as MixName];
}
