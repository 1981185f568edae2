import type { NodeId, Role, Term } from '@raftkit/core';
import type { RaftNodeError } from './errors.ts';

/** What a `RaftNode` reports as it happens. Listeners run synchronously inside the loop: keep them short. */
export interface RaftNodeEvents {
  /** This node's role changed (also at every new term it enters as a follower or candidate). */
  role: { readonly role: Role; readonly term: Term };
  /** The leader this node knows of changed; null while none is known. */
  leader: { readonly leader: NodeId | null; readonly term: Term };
  /** Entries up to `index` are applied to the state machine (after each batch, not per entry). */
  applied: { readonly index: number };
  /** The node stopped on a storage or state-machine failure; it will not restart by itself. */
  fatal: { readonly error: RaftNodeError };
}

/** The name of an event `RaftNode.on` can listen to. */
export type RaftNodeEvent = keyof RaftNodeEvents;
type Listener<E extends RaftNodeEvent> = (payload: RaftNodeEvents[E]) => void;

/** A tiny typed emitter: the same code on every runtime, and a listener that throws cannot stop the loop. */
export class Emitter {
  readonly #listeners = new Map<RaftNodeEvent, Set<Listener<never>>>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<E extends RaftNodeEvent>(event: E, listener: Listener<E>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<E extends RaftNodeEvent>(event: E, payload: RaftNodeEvents[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<E>)(payload);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}
