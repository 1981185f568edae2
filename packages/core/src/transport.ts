import type { Message } from './messages.ts';
import type { NodeId, Snapshot, SnapshotMeta, Term } from './types.ts';

/**
 * Carries messages between peers for any number of Raft groups (one per shard). Every call names
 * the group, so one process and one transport host many groups and can batch a peer's traffic
 * across them.
 *
 * Delivery is best effort: Raft tolerates loss, duplication and reordering of messages (it
 * retries on its own timers), so a transport drops rather than blocks or throws when a peer is
 * down or slow. What it must never do is deliver a message it did not validate.
 */
export interface Transport {
  /**
   * Queues `messages` for their `to` peers and returns at once. Never blocks and never throws for
   * a down, slow or unknown peer: a message that cannot be queued is dropped and counted.
   * An `InstallSnapshot` is streamed apart from the other messages (see {@link TransportHandler}).
   * Messages to one peer leave in the order they were sent, whatever `options` say.
   */
  send(groupId: string, messages: readonly Message[], options?: SendOptions): void;
  /** Routes incoming traffic for `groupId` to `handler`. A group has at most one handler. */
  register(groupId: string, handler: TransportHandler): void;
  /** Stops delivering to the group; its incoming messages are dropped from then on. */
  unregister(groupId: string): void;
  /** Where peer `id` listens. Called again when its address changes (membership, restarts). */
  setPeer(id: NodeId, address: string): void;
  /** Forgets the peer and drops whatever is queued for it. */
  removePeer(id: NodeId): void;
  /** Drops queued messages, aborts requests and snapshot transfers in progress. Idempotent. */
  close(): Promise<void>;
  /**
   * The largest entry (its data, in bytes) one message can carry, where the transport has a limit.
   * An entry past it could be appended but never replicated, and would stall the log behind it:
   * the driver refuses such proposals.
   */
  readonly maxEntryBytes?: number;
}

/** How urgent a `Transport.send` is. */
export interface SendOptions {
  /**
   * Nothing in these messages is waited for (a commit index no one on the peer is blocked on):
   * the transport may hold them back, briefly and within a bound of its own, to send them with
   * the peer's next messages rather than alone. A transport may also ignore this and send at once.
   */
  readonly mayWait?: boolean;
}

/**
 * One group's end of the transport; the driver implements it and wires it to its core and its
 * `Storage`.
 */
export interface TransportHandler {
  /**
   * Messages for this group, already validated, in the order the peer sent them. Called
   * synchronously while the request is handled; the driver steps them into its core.
   */
  receive(messages: readonly Message[]): void;
  /**
   * Sender side: the data of the snapshot an outgoing `InstallSnapshot` describes, in chunks of
   * at most `chunkBytes` (the driver typically returns `storage.readSnapshot(chunkBytes)` after
   * checking that `storage.snapshotMeta()` is `meta`). When absent, the transport slices the
   * message's in-memory `snapshot.data`. Throwing or yielding other data aborts the transfer.
   */
  readSnapshot?(meta: SnapshotMeta, chunkBytes: number): AsyncIterable<Uint8Array>;
  /**
   * Receiver side: somewhere to write an incoming snapshot while it streams in (typically
   * `storage.createSnapshot(offer.meta)`). The transport verifies the size and the checksum
   * before it calls `commit`, and hands the core the snapshot `commit` returns as an
   * `InstallSnapshot` message from `offer.from`.
   */
  createSnapshot(offer: SnapshotOffer): Promise<IncomingSnapshotWriter>;
  /**
   * Sender side: how a snapshot transfer to `to` ended, so the driver can tell its core to stop
   * waiting for it (etcd-io/raft's ReportSnapshot). Optional: the core also recovers on its own
   * timers.
   */
  snapshotDone?(to: NodeId, meta: SnapshotMeta, ok: boolean): void;
}

/** An incoming `InstallSnapshot` before its data: what the receiver knows at the first chunk. */
export interface SnapshotOffer {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
  readonly meta: SnapshotMeta;
}

/** Streams an incoming snapshot into storage; the shape of `Storage.createSnapshot`'s writer. */
export interface IncomingSnapshotWriter {
  /** Appends the next chunk of the snapshot's data, in order. Not durable until `commit` resolves. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * The data is complete and verified: make it durable, and return the snapshot to hand to the
   * core (its data may be read back from storage).
   */
  commit(): Promise<Snapshot>;
  /** The transfer failed or was superseded: discard what was written. */
  abort(): Promise<void>;
}
