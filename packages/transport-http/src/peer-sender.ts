import type { NodeId } from '@raftkit/core';
import { Backoff } from './backoff.ts';
import type { QueuedMessage } from './batch.ts';
import { batchFramingBound, encodeBatch, groupFramingBound } from './batch.ts';
import type { TransportMetrics } from './metrics.ts';
import type { ResolvedOptions } from './options.ts';
import type { RequestPoster } from './poster.ts';
import type { OutgoingStream } from './stream-writer.ts';

export interface SenderContext {
  readonly options: ResolvedOptions;
  readonly poster: RequestPoster;
  readonly metrics: TransportMetrics;
}

/**
 * Everything outgoing to one peer: a bounded queue and a pump that drains it. While the peer
 * reads a stream from us (see stream-reader.ts) each batch is written into it as a frame at once;
 * otherwise the pump posts batches with at most one request in flight, and new messages gather
 * in the queue meanwhile, so the batch size adapts to the peer's round trip. A full queue drops
 * new messages (counted) rather than slowing the leader down: Raft resends what is lost.
 */
export class PeerSender {
  private queue: QueuedMessage[] = [];
  private queuedBytes = 0;
  private running = false;
  /** A greeting (see `greet`) waits to leave as the pump's next request, even with nothing queued. */
  private greeting = false;
  private idleWaiters: (() => void)[] = [];
  private readonly closing = new AbortController();
  private readonly backoff: Backoff;
  /** The stream the peer reads from us, while it is open. */
  private stream: OutgoingStream | null = null;
  /** Set while the queue holds only messages that may wait (`enqueue`); it sends them when it fires. */
  private holdTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly id: NodeId,
    /** Base URL the peer routes are mounted at; changes apply from the next request. */
    public url: string,
    private readonly context: SenderContext,
  ) {
    this.backoff = new Backoff(context.options, this.closing.signal);
  }

  /** Aborts this peer's requests (its snapshot transfers use it too) when it is removed. */
  get signal(): AbortSignal {
    return this.closing.signal;
  }

  /**
   * The peer opened a stream to read our messages from: it replaces any earlier one (the peer
   * opens a new stream only when it gave up on the old), and carries everything from now on.
   */
  attach(stream: OutgoingStream): void {
    if (this.closing.signal.aborted) {
      stream.close();
      return;
    }
    this.stream?.close();
    this.stream = stream;
    this.context.metrics.streamsServed++;
    void stream.whenClosed().then(() => {
      if (this.stream === stream) this.stream = null;
    });
    // No `heard()` here: the stream request that brought it already counted as hearing from the peer.
    if (this.queue.length > 0) this.start();
  }

  /**
   * Queues one encoded message. One that `mayWait` stays queued for up to `maxHoldMs`, unless
   * something that may not wait is queued behind it first; either way the queue leaves in order.
   */
  enqueue(groupId: string, encoded: Uint8Array, mayWait = false): void {
    const { options, metrics } = this.context;
    if (this.closing.signal.aborted) {
      metrics.dropped.closed++;
      return;
    }
    const framing = batchFramingBound(options.id, this.id) + groupFramingBound(groupId);
    if (framing + encoded.length > options.maxBodyBytes) {
      metrics.dropped.oversize++;
      options.logger.warn('message larger than maxBodyBytes dropped', {
        to: this.id,
        groupId,
        bytes: encoded.length,
      });
      return;
    }
    if (
      this.queue.length >= options.maxQueueMessages ||
      this.queuedBytes + encoded.length > options.maxQueueBytes
    ) {
      metrics.dropped.queueFull++;
      return;
    }
    this.queue.push({ groupId, encoded });
    this.queuedBytes += encoded.length;
    if (mayWait && options.maxHoldMs > 0) this.hold();
    else this.start();
  }

  /** Sends the queue within `maxHoldMs`; a pump already running takes it sooner. */
  private hold(): void {
    if (this.running || this.holdTimer !== null) return;
    this.context.metrics.holds++;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = null;
      this.start();
    }, this.context.options.maxHoldMs);
  }

  /**
   * Tells the peer this node is up: one request with an empty batch, which the peer's receiver
   * takes as proof of life (`heard`). A peer that failed to reach this node while it was down
   * (a crash, a restart) is backing off towards it, up to `maxRetryBackoffMs`; this ends that
   * wait at once instead of leaving the node to hear nothing, and serve no read, until it runs
   * out. Raft itself gives a restarted follower no reason to speak first. Sent once: if it
   * fails, the peer is down too and will hear from us when we next have something to say.
   */
  greet(): void {
    if (this.closing.signal.aborted) return;
    this.greeting = true;
    this.start();
  }

  private cancelHold(): void {
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = null;
  }

  private start(): void {
    this.cancelHold();
    if (this.running) return;
    this.running = true;
    // Start on a microtask, so the messages of every group sent in this turn share a request.
    queueMicrotask(() => void this.pump());
  }

  /** Resolves once the queue is empty and no request is in flight. */
  idle(): Promise<void> {
    // What is held back leaves now: waiting for the queue to drain must not wait out the hold.
    if (this.holdTimer !== null) this.start();
    return this.running ? new Promise((resolve) => this.idleWaiters.push(resolve)) : Promise.resolve();
  }

  /**
   * The peer just reached us, so it is up: a back-off after failed sends to it ends now. A node
   * restarted after a crash would otherwise wait out the leader's longest back-off (a second by
   * default) before it heard anything, and serve nothing until then.
   */
  heard(): void {
    if (this.backoff.failures === 0) return;
    this.recovered();
    this.backoff.wake();
  }

  private recovered(): void {
    if (this.backoff.failures === 0) return;
    this.context.options.logger.info('peer reachable again', {
      peer: this.id,
      failedRequests: this.backoff.failures,
    });
    this.backoff.failures = 0;
  }

  /** Drops what is queued, ends the stream and aborts the request in flight. */
  close(): void {
    this.context.metrics.dropped.closed += this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    this.cancelHold();
    this.closing.abort();
    this.stream?.close();
  }

  private async pump(): Promise<void> {
    const { options, poster, metrics } = this.context;
    try {
      while ((this.queue.length > 0 || this.greeting) && !this.closing.signal.aborted) {
        // Any batch proves we are up, so messages queued meanwhile carry the greeting.
        this.greeting = false;
        const stream = this.stream;
        if (stream?.backedUp) {
          await stream.ready();
          continue;
        }
        const items = this.takeBatch();
        const body = encodeBatch(options.id, this.id, items);
        if (stream?.write(body)) {
          this.sent(items.length, body.length);
          continue;
        }
        const outcome = await poster.post(this.url, 'messages', body, this.closing.signal);
        if (outcome === 'ok') {
          this.sent(items.length, body.length);
          this.recovered();
        } else if (outcome === 'aborted') {
          metrics.dropped.closed += items.length;
        } else {
          metrics.sendErrors[outcome]++;
          if (this.backoff.failures === 0)
            options.logger.warn('peer unreachable', { peer: this.id, error: outcome });
          await this.backoff.failed();
        }
      }
    } finally {
      this.running = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private sent(messages: number, bytes: number): void {
    const { metrics } = this.context;
    metrics.messagesSent += messages;
    metrics.batchesSent++;
    metrics.bytesSent += bytes;
  }

  /**
   * The longest prefix of the queue that fits one body: never empty while anything is queued
   * (`enqueue` refused oversize messages), empty for a greeting alone.
   */
  private takeBatch(): QueuedMessage[] {
    const { options } = this.context;
    let size = batchFramingBound(options.id, this.id);
    const groups = new Set<string>();
    let count = 0;
    for (const item of this.queue) {
      const added = item.encoded.length + (groups.has(item.groupId) ? 0 : groupFramingBound(item.groupId));
      if (size + added > options.maxBodyBytes) break;
      size += added;
      groups.add(item.groupId);
      count++;
    }
    const items = this.queue.splice(0, count);
    for (const item of items) this.queuedBytes -= item.encoded.length;
    return items;
  }
}
