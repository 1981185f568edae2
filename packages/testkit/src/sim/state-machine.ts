import type { Entry } from '@raftkit/core';

/**
 * The application state a simulated node applies committed entries to. It must be
 * deterministic: the same entries in the same order give the same state and the same snapshot
 * bytes on every node, which is what the simulator checks.
 */
export interface SimStateMachine {
  /** Called for every committed entry in index order, including empty no-ops and config entries. */
  apply(entry: Entry): void;
  /** Serializes the whole state; the same state gives the same bytes on every node. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot taken by `snapshot()` (possibly on another node). */
  restore(data: Uint8Array): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A command the simulator's clients propose: `key=value` stores value; `key?expected=value`
 * stores it only if the key holds `expected` (`key?=value`: only if absent), a compare-and-set.
 * Values name the operation that wrote them, so they are never empty.
 */
export interface KvCommand {
  readonly key: string;
  readonly value: string;
  /** Absent for a plain write; null for "only if the key is absent". */
  readonly expected?: string | null;
}

/** What applying one command did. */
export interface KvApplied {
  readonly index: number;
  readonly key: string;
  /** False for a compare-and-set that found another value and changed nothing. */
  readonly stored: boolean;
  /** The key's value after the command. */
  readonly current: string | undefined;
}

/** Commands in UTF-8 text: readable in traces, parsed by one split at `=` (and `?`). */
export function encodeCommand(command: KvCommand): Uint8Array {
  const condition = command.expected === undefined ? '' : `?${command.expected ?? ''}`;
  return encoder.encode(`${command.key}${condition}=${command.value}`);
}

function decodeCommand(data: Uint8Array): KvCommand | null {
  const text = decoder.decode(data);
  const eq = text.indexOf('=');
  if (eq < 0) return null;
  const target = text.slice(0, eq);
  const value = text.slice(eq + 1);
  const q = target.indexOf('?');
  if (q < 0) return { key: target, value };
  return { key: target.slice(0, q), value, expected: target.slice(q + 1) || null };
}

/** The default state machine: a string map that keeps the last value written per key. */
export class KvStateMachine implements SimStateMachine {
  #data = new Map<string, string>();
  /** The effect of the last command applied, for the client that proposed it to read. */
  lastApplied: KvApplied | null = null;

  apply(entry: Entry): void {
    if (entry.type !== 'normal' || entry.data.length === 0) return;
    const command = decodeCommand(entry.data);
    if (command === null) return;
    const { key, value, expected } = command;
    const stored = expected === undefined || (this.#data.get(key) ?? null) === expected;
    if (stored) this.#data.set(key, value);
    this.lastApplied = { index: entry.index, key, stored, current: this.#data.get(key) };
  }

  /** The value of `key`, or undefined when absent. */
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
