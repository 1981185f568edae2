import type { Entry } from '@raftkit/core';
import type { StateMachine } from '@raftkit/node';

/** A custom state machine: each entry is a UTF-8 name whose count goes up by one. */
export class Tally implements StateMachine {
  readonly counts = new Map<string, number>();

  apply(entry: Entry): number {
    const name = new TextDecoder().decode(entry.data);
    const count = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, count);
    return count;
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.counts]));
  }

  restore(data: Uint8Array): void {
    this.counts.clear();
    if (data.length === 0) return;
    for (const [name, count] of JSON.parse(new TextDecoder().decode(data)) as [string, number][]) {
      this.counts.set(name, count);
    }
  }
}
