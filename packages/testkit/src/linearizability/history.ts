/**
 * What a client saw of one operation: when it asked, what it asked, and what (if anything) came
 * back. This is all a linearizability checker may use; the system's internal order is unknown.
 */
export interface HistoryEvent<Op, Result> {
  readonly clientId: number;
  readonly op: Op;
  /** Logical time at which the client sent the request. */
  readonly invokedAt: number;
  /**
   * Logical time at which the client received the response, or null when no response ever came
   * (timeout, crash, 504). Such an operation may have taken effect at any point after
   * `invokedAt`, even after the client gave up, or never; the checker treats its response time as
   * +infinity and is free to leave it out.
   */
  readonly respondedAt: number | null;
  /** What the client was told; for an unknown outcome, the model's "unknown" value. */
  readonly result: Result;
}

declare const handleBrand: unique symbol;
/** Identifies one invoked operation inside the {@link HistoryRecorder} that issued it. */
export type OperationHandle = number & { readonly [handleBrand]: true };

interface Pending<Op, Result> {
  readonly clientId: number;
  readonly op: Op;
  readonly invokedAt: number;
  completion: { readonly respondedAt: number | null; readonly result: Result } | null;
}

/**
 * Records a history as a test runs. Times come from the caller's clock (the simulator's logical
 * clock, never `Date.now()`), so a replayed seed records the same history.
 */
export class HistoryRecorder<Op, Result> {
  readonly #clock: () => number;
  readonly #unknownResult: Result;
  readonly #operations: Pending<Op, Result>[] = [];

  /** `unknownResult` is what an operation without a response reports, e.g. `{ kind: 'unknown' }`. */
  constructor(clock: () => number, unknownResult: Result) {
    this.#clock = clock;
    this.#unknownResult = unknownResult;
  }

  /**
   * Records that `clientId` started `op` now; pass the handle to `complete` when it answers. An operation
   * never completed counts as outcome unknown.
   */
  invoke(clientId: number, op: Op): OperationHandle {
    this.#operations.push({ clientId, op, invokedAt: this.#clock(), completion: null });
    return (this.#operations.length - 1) as OperationHandle;
  }

  /** The client received `result` now. */
  respond(handle: OperationHandle, result: Result): void {
    const pending = this.#pending(handle);
    const respondedAt = this.#clock();
    if (respondedAt < pending.invokedAt) {
      throw new RangeError(
        `clock went backwards: response at ${respondedAt} before invocation at ${pending.invokedAt}`,
      );
    }
    pending.completion = { respondedAt, result };
  }

  /** The client gave up (timeout, its node crashed): the operation may or may not take effect. */
  unknown(handle: OperationHandle): void {
    this.#pending(handle).completion = { respondedAt: null, result: this.#unknownResult };
  }

  /** Every operation in invocation order; those still waiting for a response count as unknown. */
  events(): HistoryEvent<Op, Result>[] {
    return this.#operations.map(({ clientId, op, invokedAt, completion }) => ({
      clientId,
      op,
      invokedAt,
      respondedAt: completion?.respondedAt ?? null,
      result: completion === null ? this.#unknownResult : completion.result,
    }));
  }

  #pending(handle: OperationHandle): Pending<Op, Result> {
    const pending = this.#operations[handle];
    if (pending === undefined) throw new RangeError(`handle ${handle} was not issued by this recorder`);
    if (pending.completion !== null) throw new Error(`operation ${handle} already completed`);
    return pending;
  }
}
