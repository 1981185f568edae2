import type { Message, NodeId, SendOptions, Transport, TransportHandler } from '@raftkit/core';
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
import type { StreamReaderContext } from './stream-reader.ts';
import { StreamReader } from './stream-reader.ts';
import { OutgoingStream } from './stream-writer.ts';
import { MESSAGES_PATH, SNAPSHOT_PATH, STREAM_PATH } from './wire.ts';

/**
 * Raft peer traffic over HTTP with CBOR bodies, for any number of groups. Requests go through
 * `fetch`; receiving is the Hono app in `app`, which the server mounts at the base URL its peers
 * are given in `setPeer` (`server.route('/', transport.app)`). Messages travel on streams each
 * peer opens to read ours (stream-reader.ts), and as requests while a peer has none open.
 */
export class HttpTransport implements Transport {
  /** The peer routes (`POST /raft/v1/messages`, `POST /raft/v1/snapshot`), to mount on the server. */
  readonly app: Hono;
  private readonly options: ResolvedOptions;
  private readonly counters: TransportMetrics = emptyMetrics();
  private readonly handlers = new Map<string, TransportHandler>();
  private readonly peers = new Map<NodeId, PeerSender>();
  /** The streams we read from each peer (when `streams` is on). */
  private readonly readers = new Map<NodeId, StreamReader>();
  private readonly readerContext: StreamReaderContext;
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
    const auth = new RequestAuthenticator(options.secret);
    const signer = new RequestSigner(
      auth,
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
      (from) => this.heard(from),
      (from, nonce) => this.openStream(auth, from, nonce),
    );
    this.readerContext = {
      options: this.options,
      signer,
      auth,
      metrics: this.counters,
      deliver: (from, payload) => receiver.deliver(from, payload),
      heard: (from) => this.heard(from),
    };
    this.app = new Hono()
      .post(MESSAGES_PATH, (c) => receiver.messages(c.req.raw))
      .post(SNAPSHOT_PATH, (c) => receiver.snapshot(c.req.raw));
    if (this.options.streams) this.app.post(STREAM_PATH, (c) => receiver.stream(c.req.raw));
  }

  /**
   * Throws only on a caller's bug (an invalid group id, or a message not from this node), which
   * would otherwise get the whole batch, with other groups' messages, refused by the peer.
   */
  send(groupId: string, messages: readonly Message[], options: SendOptions = {}): void {
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
        peer.enqueue(groupId, encodeCbor(message), options.mayWait === true);
      }
    }
  }

  /**
   * The first group to register makes this transport start delivering, so it opens a stream from
   * every peer it knows, or without streams greets each (`PeerSender.greet`): either way a
   * restarted node's peers stop backing off towards it now.
   */
  register(groupId: string, handler: TransportHandler): void {
    parseIdentifier(groupId, 'groupId');
    if (this.handlers.has(groupId)) throw new Error(`group ${groupId} already has a handler`);
    this.handlers.set(groupId, handler);
    if (this.handlers.size === 1 && !this.closed) for (const id of this.peers.keys()) this.reachOut(id);
  }

  private reachOut(id: NodeId): void {
    if (this.options.streams) this.readers.get(id)?.start();
    else this.peers.get(id)?.greet();
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
    if (peer !== undefined) {
      peer.url = base;
      this.readers.get(id)?.setUrl(base);
      return;
    }
    this.peers.set(id, new PeerSender(id, base, this.sender));
    if (!this.options.streams) return;
    const reader = new StreamReader(id, base, this.readerContext);
    this.readers.set(id, reader);
    if (this.handlers.size > 0 && !this.closed) reader.start();
  }

  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    peer.close();
    const reader = this.readers.get(id);
    this.readers.delete(id);
    const idle: Promise<void> = Promise.all([peer.idle(), reader?.close()]).then(() => {
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
    await Promise.all([this.flush(), ...[...this.readers.values()].map((r) => r.close())]);
    this.peers.clear();
    this.readers.clear();
    await this.incomingSnapshots.close();
  }

  /** `from` reached us: both directions stop backing off towards it. */
  private heard(from: NodeId): void {
    this.peers.get(from)?.heard();
    this.readers.get(from)?.heard();
  }

  /** Answers a peer's stream request with the stream our messages to it take from now on. */
  private openStream(auth: RequestAuthenticator, from: NodeId, nonce: string): Response | null {
    const peer = this.closed ? undefined : this.peers.get(from);
    if (peer === undefined) return null;
    const stream = new OutgoingStream(auth, this.options.id, nonce);
    peer.attach(stream);
    return stream.response;
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
