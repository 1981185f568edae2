import type {
  InstallSnapshot,
  Message,
  NodeId,
  SendOptions,
  SnapshotMeta,
  Transport,
  TransportHandler,
} from '@raftkit/core';

/** Lets other macrotasks (timers, IO) run between deliveries, like a real network does. */
const later = (fn: () => void) => setTimeout(fn, 0);

/**
 * An in-process network for driver tests. Messages are delivered asynchronously, in order per
 * link, to the handler registered for the group on the destination node; links can be cut in
 * either direction. InstallSnapshot is streamed in small chunks from the sender's storage to the
 * receiver's (the `readSnapshot`/`createSnapshot` hooks), as the HTTP transport does.
 */
export class MemoryNetwork {
  readonly #handlers = new Map<string, TransportHandler>();
  readonly #cut = new Set<string>();
  /** Messages and transfers not yet delivered, so tests can wait for a quiet network. */
  #inFlight = 0;
  readonly snapshotChunkBytes: number;
  /**
   * Drops every message it matches as it is sent (and sees every message sent): a lossy link, or
   * a tap. A dropped message never reaches the sender's queue, so it releases nothing held there.
   */
  drop: (message: Message) => boolean = () => false;
  /**
   * Messages sent with `mayWait` wait until another message goes to the same peer, however long
   * that takes: the most a transport is allowed to hold them (the HTTP one holds for 2 ms).
   */
  holdMayWait = false;

  constructor(options: { snapshotChunkBytes?: number } = {}) {
    this.snapshotChunkBytes = options.snapshotChunkBytes ?? 64;
  }

  transport(self: NodeId): MemoryTransport {
    return new MemoryTransport(self, this);
  }

  /** Cuts `a`'s links to and from every node in `others`. */
  isolate(a: NodeId, others: readonly NodeId[]): void {
    for (const b of others) {
      this.#cut.add(`${a}>${b}`);
      this.#cut.add(`${b}>${a}`);
    }
  }

  healAll(): void {
    this.#cut.clear();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  handlerOf(groupId: string, id: NodeId): TransportHandler | undefined {
    return this.#handlers.get(`${groupId}/${id}`);
  }

  register(groupId: string, id: NodeId, handler: TransportHandler): void {
    this.#handlers.set(`${groupId}/${id}`, handler);
  }

  unregister(groupId: string, id: NodeId): void {
    this.#handlers.delete(`${groupId}/${id}`);
  }

  deliver(groupId: string, message: Message): void {
    if (this.#cut.has(`${message.from}>${message.to}`)) return;
    this.#inFlight++;
    later(() => {
      this.#inFlight--;
      if (this.#cut.has(`${message.from}>${message.to}`)) return;
      if (message.type === 'InstallSnapshot') {
        this.#inFlight++;
        void this.#streamSnapshot(groupId, message).finally(() => this.#inFlight--);
        return;
      }
      this.#handlers.get(`${groupId}/${message.to}`)?.receive([message]);
    });
  }

  async #streamSnapshot(groupId: string, m: InstallSnapshot): Promise<void> {
    const sender = this.#handlers.get(`${groupId}/${m.from}`);
    const receiver = this.#handlers.get(`${groupId}/${m.to}`);
    if (sender === undefined || receiver === undefined) return;
    const meta: SnapshotMeta = m.snapshot.meta;
    let ok = false;
    try {
      const writer = await receiver.createSnapshot({ from: m.from, to: m.to, term: m.term, meta });
      try {
        const chunks = sender.readSnapshot?.(meta, this.snapshotChunkBytes) ?? [m.snapshot.data];
        for await (const chunk of chunks) await writer.write(chunk);
        const snapshot = await writer.commit();
        ok = true;
        if (!this.#cut.has(`${m.from}>${m.to}`)) receiver.receive([{ ...m, snapshot }]);
      } catch (error) {
        await writer.abort();
        throw error;
      }
    } catch {
      // A failed transfer is reported to the sender below; the core sends it again later.
    } finally {
      sender.snapshotDone?.(m.to, meta, ok);
    }
  }
}

export class MemoryTransport implements Transport {
  readonly peers = new Map<NodeId, string>();
  /** Per peer, what `holdMayWait` holds: [groupId, message] in the order sent. */
  readonly #held = new Map<NodeId, [string, Message][]>();
  /** Unlimited unless a test sets it, as a size-limited transport would. */
  maxEntryBytes?: number;

  constructor(
    readonly self: NodeId,
    private readonly network: MemoryNetwork,
  ) {}

  send(groupId: string, messages: readonly Message[], options: SendOptions = {}): void {
    for (const m of messages) {
      if (m.from !== this.self) throw new Error(`${this.self} sent a message from ${m.from}`);
      // Like a real transport, it can only reach peers it was told about.
      if (!this.peers.has(m.to) || this.network.drop(m)) continue;
      const held = this.#held.get(m.to) ?? [];
      if (this.network.holdMayWait && options.mayWait === true) {
        held.push([groupId, m]);
        this.#held.set(m.to, held);
        continue;
      }
      this.#held.delete(m.to);
      for (const [heldGroup, message] of held) this.network.deliver(heldGroup, message);
      this.network.deliver(groupId, m);
    }
  }

  register(groupId: string, handler: TransportHandler): void {
    this.network.register(groupId, this.self, handler);
  }

  unregister(groupId: string): void {
    this.network.unregister(groupId, this.self);
  }

  setPeer(id: NodeId, address: string): void {
    this.peers.set(id, address);
  }

  removePeer(id: NodeId): void {
    this.peers.delete(id);
  }

  async close(): Promise<void> {}
}
