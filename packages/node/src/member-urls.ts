import type { ConfigChange, NodeId } from '@raftkit/core';
import { isUrlMap } from './envelope.ts';

/** Where the directory tells the transport about peers (the subset of `Transport` it needs). */
export interface PeerSink {
  setPeer(id: NodeId, address: string): void;
  removePeer(id: NodeId): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The `context` of a config change that adds members: their URLs as JSON `{id: url}`, keys
 * sorted so that founders given the same map build byte-identical bootstrap entries.
 */
export const encodeUrlContext = (urls: Readonly<Record<string, string>>): Uint8Array =>
  encoder.encode(
    JSON.stringify(Object.fromEntries(Object.entries(urls).sort(([a], [b]) => (a < b ? -1 : 1)))),
  );

/** The URLs a config change carries; none when it has no (or a foreign) context. */
export function decodeUrlContext(context: Uint8Array | undefined): Record<string, string> {
  if (context === undefined || context.byteLength === 0) return {};
  try {
    const parsed: unknown = JSON.parse(decoder.decode(context));
    return isUrlMap(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * Every member's URL. Two layers, because membership takes effect when a config entry is
 * appended (thesis §4.1) but an appended entry may still be overwritten:
 * - `applied` is the map as of the applied index: deterministic, the same on every node, and
 *   what a snapshot taken at that index must carry;
 * - `appended` holds URLs from config entries appended but not yet applied, so the transport can
 *   reach a new member as soon as the leader starts replicating to it.
 * A removed member's URL goes only when its removal is applied: until then the entry could be
 * overwritten and the member still be one.
 */
export class MemberUrls {
  #applied = new Map<NodeId, string>();
  readonly #appended = new Map<NodeId, string>();

  constructor(
    private readonly self: NodeId,
    private readonly peers: PeerSink,
  ) {}

  url(id: NodeId): string | undefined {
    return this.#appended.get(id) ?? this.#applied.get(id);
  }

  /** The applied map, for a snapshot envelope. */
  appliedUrls(): Record<string, string> {
    return Object.fromEntries(this.#applied);
  }

  /** Replaces everything with a snapshot's map (at startup, or when the leader sent one). */
  restore(urls: Readonly<Record<string, string>>): void {
    for (const id of this.#applied.keys()) {
      if (!(id in urls) && id !== this.self) this.peers.removePeer(id);
    }
    this.#applied = new Map(Object.entries(urls) as [NodeId, string][]);
    this.#appended.clear();
    for (const [id, url] of this.#applied) this.#tell(id, url);
  }

  /** A config entry reached the log: start talking to the members it adds. */
  appended(change: ConfigChange): void {
    for (const [id, url] of Object.entries(decodeUrlContext(change.context)) as [NodeId, string][]) {
      if (!change.changes.some((c) => c.id === id && c.kind !== 'remove')) continue;
      this.#appended.set(id, url);
      this.#tell(id, url);
    }
  }

  /** A config entry was applied: its additions and removals are now part of the applied map. */
  applied(change: ConfigChange): void {
    const urls = decodeUrlContext(change.context);
    for (const c of change.changes) {
      if (c.kind === 'remove') {
        this.#applied.delete(c.id);
        this.#appended.delete(c.id);
        if (c.id !== this.self) this.peers.removePeer(c.id);
        continue;
      }
      const url = urls[c.id] ?? this.#appended.get(c.id) ?? this.#applied.get(c.id);
      this.#appended.delete(c.id);
      if (url === undefined) continue; // added without a URL: the application routes to it itself
      this.#applied.set(c.id, url);
      this.#tell(c.id, url);
    }
  }

  #tell(id: NodeId, url: string): void {
    if (id !== this.self) this.peers.setPeer(id, url);
  }
}
