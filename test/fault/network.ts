import type { Random } from '@raftkit/testkit';

/** A delay range in milliseconds, both ends inclusive. */
export interface DelayRange {
  readonly min: number;
  readonly max: number;
}

/**
 * What the peer proxies do to traffic between nodes: which directed links are cut, and how much
 * of the rest is dropped or delayed. One object shared by every proxy, changed by the nemesis.
 * Links are directed because an HTTP request carries one peer's messages to another (the
 * response only acknowledges them), and a message stream carries them the other way (the
 * response is the messages), so cutting `a → b` is a one-way partition.
 */
export class Network {
  readonly #cut = new Set<string>();
  #dropRate = 0;
  #delay: DelayRange = { min: 0, max: 0 };

  constructor(readonly random: Random) {}

  /** Cuts every link between different groups, both ways (nodes in no group keep every link). */
  partition(groups: readonly (readonly string[])[]): void {
    for (const [i, group] of groups.entries())
      for (const [j, other] of groups.entries())
        if (i !== j) for (const from of group) for (const to of other) this.#cut.add(link(from, to));
  }

  /** Cuts `from → to` only: `to` still reaches `from`. */
  cut(from: string, to: string): void {
    this.#cut.add(link(from, to));
  }

  /** Drops a fraction of the requests on every link and delays the others. */
  degrade(dropRate: number, delay: DelayRange): void {
    this.#dropRate = dropRate;
    this.#delay = delay;
  }

  heal(): void {
    this.#cut.clear();
    this.#dropRate = 0;
    this.#delay = { min: 0, max: 0 };
  }

  /** Decides one request's fate: dropped, or forwarded after the returned delay. */
  route(
    from: string,
    to: string,
  ): { readonly drop: true } | { readonly drop: false; readonly delayMs: number } {
    if (this.#cut.has(link(from, to)) || this.random.float() < this.#dropRate) return { drop: true };
    return { drop: false, delayMs: this.random.int(this.#delay.min, this.#delay.max) };
  }

  /**
   * Decides the fate of the next piece of a long-lived stream carrying `from → to` traffic. A
   * cut link breaks the connection; a lossy one cannot lose part of a TCP stream, so a piece that
   * would have been dropped arrives a retransmission timeout late instead.
   */
  streamRoute(
    from: string,
    to: string,
  ): { readonly cut: true } | { readonly cut: false; readonly delayMs: number } {
    if (this.#cut.has(link(from, to))) return { cut: true };
    const delayMs = this.random.int(this.#delay.min, this.#delay.max);
    return { cut: false, delayMs: this.random.float() < this.#dropRate ? delayMs + RETRANSMIT_MS : delayMs };
  }

  describe(): string {
    const parts = [...this.#cut].sort();
    if (this.#dropRate > 0) parts.push(`drop ${this.#dropRate}`);
    if (this.#delay.max > 0) parts.push(`delay ${this.#delay.min}-${this.#delay.max} ms`);
    return parts.length === 0 ? 'healed' : parts.join(', ');
  }
}

const link = (from: string, to: string) => `${from}→${to}`;

/** What a lost TCP segment costs: Linux's minimum retransmission timeout. */
const RETRANSMIT_MS = 200;
