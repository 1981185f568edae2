/**
 * Remembers the MACs of accepted requests so a captured request cannot be replayed while its
 * timestamp is still inside the acceptance window. A MAC is kept until its timestamp leaves the
 * window (after that the timestamp check refuses a replay on its own), so memory is bounded by the
 * request rate times the window, and capped by `maxEntries`: when full, new requests are refused
 * rather than forgetting a MAC early, which would open a replay hole.
 */
export class ReplayGuard {
  /** MAC -> wall-clock time after which a replay is stale anyway. Insertion order is roughly expiry order. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  /** Records `mac` signed at `timestamp`; returns 'replay' if it was seen, 'full' if no room is left. */
  admit(mac: string, timestamp: number, now: number): 'ok' | 'replay' | 'full' {
    if (this.seen.has(mac)) return 'replay';
    this.evictFront(now);
    if (this.seen.size >= this.maxEntries) {
      // Timestamps from several peers interleave, so expired entries may hide behind a live one.
      for (const [key, expiry] of this.seen) if (expiry < now) this.seen.delete(key);
      if (this.seen.size >= this.maxEntries) return 'full';
    }
    this.seen.set(mac, timestamp + this.windowMs);
    return 'ok';
  }

  get size(): number {
    return this.seen.size;
  }

  private evictFront(now: number): void {
    for (const [key, expiry] of this.seen) {
      if (expiry >= now) return;
      this.seen.delete(key);
    }
  }
}
