export type { Clock } from './clock.ts';
export { systemClock } from './clock.ts';
export { type SnapshotEnvelope, SnapshotEnvelopeError, unwrapSnapshot, wrapSnapshot } from './envelope.ts';
export { isRaftNodeError, RaftNodeError, type RaftNodeErrorCode } from './errors.ts';
export type { RaftNodeEvent, RaftNodeEvents } from './events.ts';
export { type Histogram, LatencyHistogram, type RaftNodeMetrics } from './metrics.ts';
export type { RaftNodeOptions, StateMachine } from './options.ts';
export type { Applied } from './proposals.ts';
export { type MemberStatus, type NodeStatus, RaftNode, type ReadConsistency } from './raft-node.ts';
