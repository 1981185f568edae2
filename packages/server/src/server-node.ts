import type { RaftNode } from '@raftkit/node';

export type { MemberStatus, NodeStatus, ReadConsistency } from '@raftkit/node';
/** A member's role: voters elect and make up quorums, learners only receive the log. */
export type MemberRole = 'voter' | 'learner';

/**
 * What the HTTP layer uses of the driver. A `Pick`, so the routes name exactly the behaviour they
 * depend on (and a test may hand them anything with that shape).
 */
export type ServerNode = Pick<
  RaftNode,
  | 'propose'
  | 'read'
  | 'readNow'
  | 'addMember'
  | 'promote'
  | 'removeMember'
  | 'transferLeadership'
  | 'status'
  | 'metrics'
  | 'on'
>;
