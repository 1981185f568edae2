/**
 * Why a call failed, by the server's error code (`NotFound`, `CasMismatch`, `NoLeader`, ...), or
 * `Network` when no node answered and `Aborted` when the caller's signal fired. Compare `code`,
 * never the message.
 */
export class RaftkitError extends Error {
  override readonly name: string = 'RaftkitError';
  readonly code: string;
  /** The HTTP status, or 0 when no answer came. */
  readonly status: number;
  /** The error body the server sent (it may carry `leader`, `current`, ...). */
  readonly body: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    status: number,
    message: string,
    body: Record<string, unknown> = {},
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.status = status;
    this.body = body;
  }
}

/**
 * A write that may or may not have been applied: the server answered 504, or the connection failed
 * after the request may have reached it. Retrying a plain write could apply it twice; in a
 * session (`client.session()`) the client retries by itself and this surfaces only when every
 * attempt ended so.
 */
export class OutcomeUnknownError extends RaftkitError {
  override readonly name = 'OutcomeUnknownError';

  constructor(message: string, status: number, cause?: unknown) {
    super('OutcomeUnknown', status, message, {}, cause);
  }
}

/** Whether `error` is a `RaftkitError`, optionally with the given `code`; narrows the type. */
export const isRaftkitError = (error: unknown, code?: string): error is RaftkitError =>
  error instanceof RaftkitError && (code === undefined || error.code === code);
