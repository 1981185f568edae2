import type { Entry } from '@raftkit/core';
import type { StateMachine } from '@raftkit/node';

/**
 * The replicated state: one integer. A command is the amount to add, as decimal text, so a log
 * entry reads as what it does. Every node applies the same committed commands in the same order,
 * so every node's `value` passes through the same sequence.
 */
export class Counter implements StateMachine {
  value = 0;

  /** Encodes an increment by `by`, a safe integer (RangeError otherwise). */
  static encode(by: number): Uint8Array {
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment: ${by} is not a safe integer`);
    return new TextEncoder().encode(String(by));
  }

  /** Decodes a command, throwing for anything `encode` could not have made. */
  static decode(data: Uint8Array): number {
    const text = new TextDecoder().decode(data);
    const by = Number(text);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(by)) throw new RangeError('not a counter command');
    return by;
  }

  /** The leader drops a forwarded proposal this throws for (see `StateMachine.validate`). */
  validate(data: Uint8Array): void {
    Counter.decode(data);
  }

  // apply must be deterministic and must not throw, since the entry is already committed on a
  // majority: every command is checked with decode before it is proposed, so here it parses.
  apply(entry: Entry): number {
    this.value += Counter.decode(entry.data);
    return this.value;
  }

  // Snapshots let the log be compacted and bring a lagging or new node up to date in one step.
  snapshot(): Uint8Array {
    return new TextEncoder().encode(String(this.value));
  }

  restore(data: Uint8Array): void {
    this.value = data.length === 0 ? 0 : Number(new TextDecoder().decode(data));
  }
}
