import type { Entry } from '@raftkit/core';

/**
 * The application state a simulated node applies committed entries to. It must be
 * deterministic: the same entries in the same order give the same state and the same snapshot
 * bytes on every node, which is what the simulator checks.
 */
export interface SimStateMachine {
  /** Called for every committed entry in index order, including empty no-ops and config entries. */
  apply(entry: Entry): void;
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot taken by `snapshot()` (possibly on another node). */
  restore(data: Uint8Array): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A write the simulator's clients propose: `key = value`, where value names the operation. */
interface KvWrite {
  readonly key: string;
  readonly value: string;
}

/** Commands are `key=value` in UTF-8: readable in traces, and one `=` split parses them. */
export const encodeWrite = (write: KvWrite): Uint8Array => encoder.encode(`${write.key}=${write.value}`);

function decodeWrite(data: Uint8Array): KvWrite | null {
  const text = decoder.decode(data);
  const eq = text.indexOf('=');
  return eq < 0 ? null : { key: text.slice(0, eq), value: text.slice(eq + 1) };
}

/** The default state machine: a string map that keeps the last value written per key. */
export class KvStateMachine implements SimStateMachine {
  #data = new Map<string, string>();

  apply(entry: Entry): void {
    if (entry.type !== 'normal' || entry.data.length === 0) return;
    const write = decodeWrite(entry.data);
    if (write !== null) this.#data.set(write.key, write.value);
  }

  get(key: string): string | undefined {
    return this.#data.get(key);
  }

  snapshot(): Uint8Array {
    // Sorted, so that equal states give equal bytes whatever order the keys were first written in.
    const pairs = [...this.#data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return encoder.encode(JSON.stringify(pairs));
  }

  restore(data: Uint8Array): void {
    this.#data = new Map(JSON.parse(decoder.decode(data)) as [string, string][]);
  }
}
