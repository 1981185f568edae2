import type { NodeId } from '@raftkit/core';
import type { Random } from './random.ts';

/** The partition shapes a fault mix draws from. */
type PartitionShape = 'split' | 'isolate' | 'oneWay' | 'flapping';

const shapes: readonly PartitionShape[] = ['split', 'isolate', 'oneWay', 'flapping'];

/**
 * Which directed links are cut. A link `a>b` that is cut loses every message from a to b,
 * including those already in flight when it was cut (they are checked again on arrival).
 */
export class Partitions {
  readonly #nodes: readonly NodeId[];
  #cut = new Set<string>();
  /** The cut a flapping partition toggles in and out of. */
  #flapping: Set<string> | null = null;
  #flapEvery = 0;
  #flapStart = 0;
  #endsAt = 0;

  constructor(nodes: readonly NodeId[]) {
    this.#nodes = nodes;
  }

  get active(): boolean {
    return this.#endsAt > 0;
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.#cut.size > 0 && this.#cut.has(`${from}>${to}`);
  }

  /**
   * Starts a random partition lasting until `endsAt`; returns a description for the trace. With
   * `first` given, that node is put on the smaller side (the cut-off or deaf one).
   */
  start(random: Random, now: number, endsAt: number, first: NodeId | null): string {
    const shape = random.pick(shapes);
    const order = shuffle(random, this.#nodes);
    if (first !== null) order.unshift(...order.splice(order.indexOf(first), 1));
    this.#endsAt = endsAt;
    let cut: Set<string>;
    let description: string;
    if (shape === 'oneWay') {
      // Some nodes stop reaching the rest but still hear them: the asymmetric case that
      // CheckQuorum and pre-vote exist for.
      const size = random.int(1, Math.floor(order.length / 2));
      const deaf = order.slice(0, size);
      cut = links(deaf, order.slice(size), false);
      description = `oneWay {${deaf.join(',')}} cannot reach the rest`;
    } else {
      const size = shape === 'isolate' ? 1 : random.int(1, Math.floor(order.length / 2));
      const side = order.slice(0, size);
      cut = links(side, order.slice(size), true);
      description = `${shape} {${side.join(',')}} | {${order.slice(size).join(',')}}`;
    }
    if (shape === 'flapping') {
      this.#flapping = cut;
      this.#flapEvery = random.int(1, 5);
      this.#flapStart = now;
      description += ` every ${this.#flapEvery}`;
    }
    this.#cut = cut;
    return `${description} until t=${endsAt}`;
  }

  /** Advances flapping and ends the partition when due; returns a description of any change. */
  update(now: number): string | null {
    if (!this.active) return null;
    if (now >= this.#endsAt) {
      this.heal();
      return 'healed';
    }
    if (this.#flapping !== null && (now - this.#flapStart) % this.#flapEvery === 0) {
      const on = this.#cut.size === 0;
      this.#cut = on ? this.#flapping : new Set();
      return on ? 'flap: cut' : 'flap: joined';
    }
    return null;
  }

  heal(): void {
    this.#cut = new Set();
    this.#flapping = null;
    this.#endsAt = 0;
  }
}

function links(from: readonly NodeId[], to: readonly NodeId[], bothWays: boolean): Set<string> {
  const cut = new Set<string>();
  for (const a of from) {
    for (const b of to) {
      cut.add(`${a}>${b}`);
      if (bothWays) cut.add(`${b}>${a}`);
    }
  }
  return cut;
}

function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
