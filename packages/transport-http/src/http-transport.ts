import type { Message, NodeId, Transport, TransportHandler } from '@raftkit/core';
import { parseIdentifier } from '@raftkit/core';
import { Hono } from 'hono';
import { RequestAuthenticator, RequestSigner } from './auth.ts';
import { encodeCbor } from './codec.ts';
import type { TransportMetrics } from './metrics.ts';
import { emptyMetrics } from './metrics.ts';
import type { HttpTransportOptions, ResolvedOptions } from './options.ts';
import { maxEntryBytesFor, resolveOptions } from './options.ts';
import type { SenderContext } from './peer-sender.ts';
import { PeerSender } from './peer-sender.ts';
import { RequestPoster } from './poster.ts';
import { PeerReceiver } from './receiver.ts';
import { ReplayGuard } from './replay-guard.ts';
import { IncomingSnapshots } from './snapshot-receiver.ts';
import { sendSnapshot } from './snapshot-sender.ts';
import { MESSAGES_PATH, SNAPSHOT_PATH } from './wire.ts';

/**
 * Raft peer traffic over HTTP with CBOR bodies, for any number of groups. Sending goes through
 * `fetch`; receiving is the Hono app in `app`, which the server mounts at the base URL its peers
 * are given in `setPeer` (`server.route('/', transport.app)`).
 */
export class HttpTransport implements Transport {
  /** The peer routes (`POST /raft/v1/messages`, `POST /raft/v1/snapshot`), to mount on the server. */
  readonly app: Hono;
  private readonly options: ResolvedOptions;
  private readonly counters: TransportMetrics = emptyMetrics();
  private readonly handlers = new Map<string, TransportHandler>();
  private readonly peers = new Map<NodeId, PeerSender>();
  /** Outgoing transfers by peer and group: at most one each, a second InstallSnapshot is dropped. */
  private readonly outgoingSnapshots = new Map<string, Promise<void>>();
  /** Removed peers whose aborted request has not settled yet, so `flush` still waits for them. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly sender: SenderContext;
  private readonly incomingSnapshots: IncomingSnapshots;
  private closed = false;

  /** See `Transport.maxEntryBytes`: what fits one request of at most `maxBodyBytes`. */
  readonly maxEntryBytes: number;

  constructor(options: HttpTransportOptions) {
    this.options = resolveOptions(options);
    this.maxEntryBytes = maxEntryBytesFor(this.options.maxBodyBytes);
    const signer = new RequestSigner(
      new RequestAuthenticator(options.secret),
      new ReplayGuard(this.options.authWindowMs, this.options.maxReplayEntries),
      this.options.authWindowMs,
      this.options.now,
    );
    this.sender = {
      options: this.options,
      poster: new RequestPoster(this.options, signer),
      metrics: this.counters,
    };
    this.incomingSnapshots = new IncomingSnapshots(this.options, this.handlers, this.counters);
    const receiver = new PeerReceiver(
      this.options,
      signer,
      this.handlers,
      this.incomingSnapshots,
      this.counters,
      (from) => this.peers.get(from)?.heard(),
    );
    this.app = new Hono()
      .post(MESSAGES_PATH, (c) => receiver.messages(c.req.raw))
      .post(SNAPSHOT_PATH, (c) => receiver.snapshot(c.req.raw));
  }

  /**
   * Throws only on a caller's bug (an invalid group id, or a message not from this node), which
   * would otherwise get the whole batch, with other groups' messages, refused by the peer.
   */
  send(groupId: string, messages: readonly Message[]): void {
    parseIdentifier(groupId, 'groupId');
    for (const message of messages) {
      if (message.from !== this.options.id) {
        throw new RangeError(`message from ${message.from} sent through the transport of ${this.options.id}`);
      }
      const peer = this.closed ? undefined : this.peers.get(message.to);
      if (peer === undefined) {
        this.counters.dropped[this.closed ? 'closed' : 'unknownPeer']++;
      } else if (message.type === 'InstallSnapshot') {
        this.startSnapshot(peer, groupId, message);
      } else {
        peer.enqueue(groupId, encodeCbor(message));
      }
    }
  }

  /**
   * The first group to register makes this transport start delivering, so it greets every peer
   * it knows (`PeerSender.greet`): a restarted node's peers stop backing off towards it now.
   */
  register(groupId: string, handler: TransportHandler): void {
    parseIdentifier(groupId, 'groupId');
    if (this.handlers.has(groupId)) throw new Error(`group ${groupId} already has a handler`);
    this.handlers.set(groupId, handler);
    if (this.handlers.size === 1 && !this.closed) for (const peer of this.peers.values()) peer.greet();
  }

  unregister(groupId: string): void {
    this.handlers.delete(groupId);
  }

  setPeer(id: NodeId, address: string): void {
    parseIdentifier(id, 'id');
    const url = new URL(address);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new RangeError(`peer address must be an http or https URL, got ${address}`);
    }
    const base = url.href.replace(/\/+$/, '');
    const peer = this.peers.get(id);
    if (peer === undefined) this.peers.set(id, new PeerSender(id, base, this.sender));
    else peer.url = base;
  }

  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    peer.close();
    const idle: Promise<void> = peer.idle().then(() => {
      this.retiring.delete(idle);
    });
    this.retiring.add(idle);
  }

  /** A copy of the counters, as plain data. */
  metrics(): TransportMetrics {
    return structuredClone(this.counters);
  }

  /** Resolves once every queue is empty and every request and outgoing snapshot has ended. */
  async flush(): Promise<void> {
    await Promise.all([
      ...[...this.peers.values()].map((p) => p.idle()),
      ...this.retiring,
      ...this.outgoingSnapshots.values(),
    ]);
  }

  /** Stops sending and delivering: later incoming messages are dropped, snapshots refused (404). */
  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    for (const peer of this.peers.values()) peer.close();
    await this.flush();
    this.peers.clear();
    await this.incomingSnapshots.close();
  }

  private startSnapshot(
    peer: PeerSender,
    groupId: string,
    message: Message & { type: 'InstallSnapshot' },
  ): void {
    const key = `${peer.id}\u0000${groupId}`;
    if (this.outgoingSnapshots.has(key)) {
      this.counters.dropped.snapshotBusy++;
      return;
    }
    const handler = this.handlers.get(groupId);
    const transfer = sendSnapshot(this.sender, peer, groupId, message, handler).then((ok) => {
      this.outgoingSnapshots.delete(key);
      try {
        handler?.snapshotDone?.(peer.id, message.snapshot.meta, ok);
      } catch (error) {
        this.counters.handlerErrors++;
        this.options.logger.warn('snapshotDone failed', { to: peer.id, groupId, error: String(error) });
      }
    });
    this.outgoingSnapshots.set(key, transfer);
  }
}
