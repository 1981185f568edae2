/**
 * The simulator's only source of randomness: a small seeded generator (sfc32, "small fast
 * counting" by Chris Doty-Humphrey), so that one seed replays one run exactly on every runtime.
 * `Math.random` is never used: it cannot be seeded.
 */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #counter: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    // Spread the seed over the state with splitmix-style mixing so that nearby seeds diverge.
    this.#a = mix32(seed);
    this.#b = mix32(Math.floor(seed / 2 ** 32) ^ 0x9e3779b9);
    this.#c = mix32(this.#a ^ 0x85ebca6b);
    this.#counter = 1;
    for (let i = 0; i < 12; i++) this.next32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  next32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#counter) | 0;
    this.#counter = (this.#counter + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next32() / 2 ** 32;
  }

  /** An integer in [low, high], both inclusive. */
  int(low: number, high: number): number {
    return low + Math.floor(this.float() * (high - low + 1));
  }

  /** True with probability `p`. Draws nothing when `p` is 0, so disabled faults cost nothing. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** One of `items`, uniformly. Throws RangeError for an empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }
}

function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}
