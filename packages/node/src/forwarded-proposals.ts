import type { ForwardedProposal, Index, ProposalRefusal, Term } from '@raftkit/core';
import { RaftNodeError } from './errors.ts';
import type { Applied } from './proposals.ts';
import { RequestIds } from './request-ids.ts';

interface Waiting {
  readonly data: Uint8Array;
  readonly deadline: number;
  readonly resolve: (applied: Applied | Promise<Applied>) => void;
  readonly reject: (error: unknown) => void;
}

/** What the node does with the leader's answer. */
export interface ForwardHost {
  /** Waits for the entry at (`index`, `term`) to apply here, as for a local proposal. */
  track(index: Index, term: Term, deadline: number): Promise<Applied>;
  /** The index the state machine has applied. */
  applied(): Index;
  /** The error for a refusal. */
  refused(code: ProposalRefusal): RaftNodeError;
  onFailed(): void;
}

/**
 * A follower's proposals on their way to the leader (`RawNode.forward`). Proposals made while the
 * Ready loop is busy wait in `unsent` and leave together, one Propose per `maxBatchBytes`. Once
 * the leader says where it appended them, each is tracked like a local proposal: it resolves with
 * the result of applying it here (so a client of this node reads its own write), or fails if
 * another leader overwrote it. A Propose or its answer may be lost: unanswered proposals fail as
 * `Timeout` (outcome unknown) at their deadline, or as soon as the leader changes.
 */
export class ForwardedProposals {
  /** Unique across this node's restarts: an answer meant for an earlier process must match nothing. */
  readonly #ids = new RequestIds();
  #unsent: Waiting[] = [];
  readonly #asked = new Map<number, readonly Waiting[]>();

  constructor(
    private readonly host: ForwardHost,
    private readonly maxBatchBytes: number,
  ) {}

  /** Proposals not yet answered by the leader. */
  get size(): number {
    let asked = 0;
    for (const batch of this.#asked.values()) asked += batch.length;
    return this.#unsent.length + asked;
  }

  hasUnsent(): boolean {
    return this.#unsent.length > 0;
  }

  add(data: Uint8Array, deadline: number): Promise<Applied> {
    return new Promise((resolve, reject) => {
      this.#unsent.push({ data, deadline, resolve, reject });
    });
  }

  /** Hands every unsent proposal to `forward`, in batches of at most `maxBatchBytes` (or one proposal). */
  flush(forward: (requestId: number, entries: readonly Uint8Array[]) => void): void {
    const unsent = this.#unsent;
    this.#unsent = [];
    let start = 0;
    while (start < unsent.length) {
      let end = start + 1;
      let bytes = unsent[start]!.data.byteLength;
      while (end < unsent.length && bytes + unsent[end]!.data.byteLength <= this.maxBatchBytes) {
        bytes += unsent[end]!.data.byteLength;
        end++;
      }
      const batch = unsent.slice(start, end);
      const requestId = this.#ids.next();
      this.#asked.set(requestId, batch);
      forward(
        requestId,
        batch.map((w) => w.data),
      );
      start = end;
    }
  }

  /** The leader answered. Call before applying the same Ready's committed entries. */
  answered(outcome: ForwardedProposal): void {
    const batch = this.#asked.get(outcome.requestId);
    if (batch === undefined) return; // timed out meanwhile, or meant for an earlier process
    this.#asked.delete(outcome.requestId);
    if ('refused' in outcome) {
      this.#failAll(batch, this.host.refused(outcome.refused));
      return;
    }
    for (const [i, waiting] of batch.entries()) {
      const index = (outcome.index + i) as Index;
      if (index <= this.host.applied()) {
        // Only a snapshot installed before the answer arrived gets here: what it holds is unknown.
        this.host.onFailed();
        waiting.reject(unknownOutcome(`entry ${index} was applied before the leader's answer arrived`));
      } else {
        waiting.resolve(this.host.track(index, outcome.term, waiting.deadline));
      }
    }
  }

  /** The leader changed: answers from the old one may never come, so stop waiting for them. */
  leaderChanged(): void {
    for (const batch of this.#asked.values()) {
      this.#failAll(batch, unknownOutcome('the leader changed before it answered'));
    }
    this.#asked.clear();
  }

  /** Fails the proposals past their deadline that the leader has not answered. */
  expire(now: number): void {
    for (const [requestId, batch] of this.#asked) {
      if (batch[0]!.deadline > now) continue;
      this.#asked.delete(requestId);
      this.#failAll(batch, unknownOutcome('the leader did not answer in time'));
    }
  }

  rejectAll(error: unknown): void {
    this.#failAll(this.#unsent, error);
    this.#unsent = [];
    for (const batch of this.#asked.values()) this.#failAll(batch, error);
    this.#asked.clear();
  }

  #failAll(batch: readonly Waiting[], error: unknown): void {
    for (const waiting of batch) {
      this.host.onFailed();
      waiting.reject(error);
    }
  }
}

const unknownOutcome = (why: string) =>
  new RaftNodeError('Timeout', `forwarded to the leader, but ${why}: the proposal may still apply`);
