/** Why the receiving side refused a request; each maps to one HTTP status in `REJECT_STATUS`. */
export type RejectReason =
  /** Missing or malformed auth headers, or a MAC that does not verify. */
  | 'unauthenticated'
  /** The timestamp is outside the acceptance window. */
  | 'stale'
  /** A MAC already accepted inside the window. */
  | 'replay'
  /** The body exceeds the size limit (declared or counted). */
  | 'tooLarge'
  /** Not CBOR, or not the expected shape, or a field out of range. */
  | 'malformed'
  /** Addressed to another node id: the sender's peer table is out of date. */
  | 'misdirected'
  /** A stream request from a node that is not (yet) a peer of this one. */
  | 'unknownPeer'
  /** A snapshot for a group this node does not host. */
  | 'unknownGroup'
  /** The replay memory or the snapshot slots are full; retry later. */
  | 'busy'
  /** A snapshot chunk that does not continue the transfer in progress. */
  | 'snapshotConflict'
  /** A complete snapshot whose size or SHA-256 does not match what the sender declared. */
  | 'checksum'
  /** The group's snapshot writer failed (a storage error). */
  | 'sinkError';

/** The one place rejections become HTTP statuses. */
export const REJECT_STATUS: Readonly<Record<RejectReason, 400 | 401 | 404 | 409 | 413 | 421 | 500 | 503>> = {
  unauthenticated: 401,
  stale: 401,
  replay: 401,
  tooLarge: 413,
  malformed: 400,
  misdirected: 421,
  unknownPeer: 404,
  unknownGroup: 404,
  busy: 503,
  snapshotConflict: 409,
  checksum: 400,
  sinkError: 500,
};

/** Why an outgoing message never left. */
export type DropReason =
  /** The peer's queue was full (it is slow or down). */
  | 'queueFull'
  /** Larger than the body limit on its own: it can never be sent. */
  | 'oversize'
  /** No address is known for its `to`. */
  | 'unknownPeer'
  /** Queued when the peer was removed or the transport closed. */
  | 'closed'
  /** An InstallSnapshot for a peer and group that already have a transfer in progress. */
  | 'snapshotBusy';

/** Why a request failed; its messages are lost (Raft resends). */
export type SendErrorKind = 'timeout' | 'network' | 'status';

/** Counters since the transport started, as plain data for a metrics endpoint. */
export interface TransportMetrics {
  messagesSent: number;
  batchesSent: number;
  bytesSent: number;
  /** Times a peer's queue held messages that may wait (`maxHoldMs`) instead of sending them at once. */
  holds: number;
  dropped: Record<DropReason, number>;
  sendErrors: Record<SendErrorKind, number>;
  /** Streams to peers this node wrote into (one per peer's stream request it accepted). */
  streamsServed: number;
  /** Streams from peers this node opened and read. */
  streamsOpened: number;
  messagesReceived: number;
  batchesReceived: number;
  bytesReceived: number;
  rejected: Record<RejectReason, number>;
  /** Received for a group with no registered handler, and dropped (see README). */
  droppedUnknownGroup: number;
  /** A handler's `receive` threw; the other groups of the batch were still delivered. */
  handlerErrors: number;
  snapshots: {
    sent: number;
    failed: number;
    received: number;
    bytesSent: number;
    bytesReceived: number;
  };
}

const zeros = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export function emptyMetrics(): TransportMetrics {
  return {
    messagesSent: 0,
    batchesSent: 0,
    bytesSent: 0,
    holds: 0,
    dropped: zeros(['queueFull', 'oversize', 'unknownPeer', 'closed', 'snapshotBusy']),
    sendErrors: zeros(['timeout', 'network', 'status']),
    streamsServed: 0,
    streamsOpened: 0,
    messagesReceived: 0,
    batchesReceived: 0,
    bytesReceived: 0,
    rejected: zeros(Object.keys(REJECT_STATUS) as RejectReason[]),
    droppedUnknownGroup: 0,
    handlerErrors: 0,
    snapshots: { sent: 0, failed: 0, received: 0, bytesSent: 0, bytesReceived: 0 },
  };
}
