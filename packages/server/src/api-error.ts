import type { RaftNodeErrorCode } from '@raftkit/node';

/**
 * Every error the API answers with, and the one table that maps each to its HTTP status. Errors
 * from the driver are translated by their `code` in {@link toApiError}; nothing else in the
 * server picks a status for a failure.
 */
export type ApiErrorCode =
  | 'BadRequest'
  | 'Unauthorized'
  | 'NotFound'
  | 'PayloadTooLarge'
  /** A compare-and-swap found another value. */
  | 'CasMismatch'
  /** Another membership change is still in progress. */
  | 'ConfigChangeInProgress'
  /** The learner to promote has not caught up yet; retry after `Retry-After`. */
  | 'LearnerCatchingUp'
  | 'InvalidConfigChange'
  /** A backup job is running; one runs at a time. */
  | 'BackupInProgress'
  /** A backup was asked for before the node took its first snapshot. */
  | 'NoSnapshot'
  /** No leader is known (election under way, partition); retry after `Retry-After`. */
  | 'NoLeader'
  /** A read was not served in time (no quorum confirmed it): nothing happened; retry after `Retry-After`. */
  | 'ReadUnavailable'
  /** A bounded queue is full, or leadership is being handed over; retry after `Retry-After`. */
  | 'Busy'
  /** The node is stopping or stopped after a fatal error. */
  | 'Unavailable'
  /** No answer in time: the write may or may not have been applied. */
  | 'Timeout'
  /** The client session named by a write expired (or never existed): nothing was applied. */
  | 'SessionExpired'
  /** A session write whose number was acknowledged already, or is too old to recognize: nothing was applied. */
  | 'StaleRequest'
  | 'Internal';

const STATUS: Readonly<Record<ApiErrorCode, 400 | 401 | 404 | 409 | 410 | 413 | 500 | 503 | 504>> = {
  BadRequest: 400,
  Unauthorized: 401,
  NotFound: 404,
  PayloadTooLarge: 413,
  CasMismatch: 409,
  ConfigChangeInProgress: 409,
  LearnerCatchingUp: 409,
  InvalidConfigChange: 400,
  BackupInProgress: 409,
  NoSnapshot: 409,
  NoLeader: 503,
  ReadUnavailable: 503,
  Busy: 503,
  Unavailable: 503,
  Timeout: 504,
  SessionExpired: 410,
  StaleRequest: 409,
  Internal: 500,
};

/** Seconds a client should wait before retrying a 503 that is expected to clear on its own. */
const RETRY_AFTER_SECONDS: Partial<Record<ApiErrorCode, number>> = {
  NoLeader: 1,
  ReadUnavailable: 1,
  Busy: 1,
  Unavailable: 5,
  LearnerCatchingUp: 1,
};

/**
 * An API failure by `code`: `errorResponse` turns it into the JSON error body with the status the code maps
 * to (one table, above), so routes never pick statuses themselves.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ApiErrorCode;
  /** Extra top-level fields of the JSON body (e.g. `current` for a failed compare-and-swap). */
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(code: ApiErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.extra = extra;
  }

  get status(): number {
    return STATUS[this.code];
  }
}

/** Driver error codes to API codes; typed over the whole union, so a new driver code fails the build here. */
const FROM_DRIVER: Readonly<Record<RaftNodeErrorCode, ApiErrorCode>> = {
  NotLeader: 'NoLeader',
  Timeout: 'Timeout',
  Busy: 'Busy',
  TransferInProgress: 'Busy',
  // An entry overwritten by a new leader never applies; the client may safely retry.
  Dropped: 'NoLeader',
  Stopped: 'Unavailable',
  Fatal: 'Unavailable',
  ConfigChangeInProgress: 'ConfigChangeInProgress',
  LearnerCatchingUp: 'LearnerCatchingUp',
  InvalidConfigChange: 'InvalidConfigChange',
  InvalidTransferTarget: 'BadRequest',
  EntryTooLarge: 'PayloadTooLarge',
  ReadUnavailable: 'ReadUnavailable',
};

/** Any thrown value as an `ApiError`: typed errors by their code, anything else is a 500. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  const mapped =
    typeof code === 'string' && Object.hasOwn(FROM_DRIVER, code)
      ? FROM_DRIVER[code as RaftNodeErrorCode]
      : undefined;
  if (mapped !== undefined) {
    // A NotLeader names the leader it knows of: clients may retry there at once.
    const { leader, leaderUrl } = error as { leader?: unknown; leaderUrl?: unknown };
    const hint = {
      ...(typeof leader === 'string' ? { leader } : {}),
      ...(typeof leaderUrl === 'string' ? { leaderUrl } : {}),
    };
    return new ApiError(mapped, (error as Error).message, hint);
  }
  return new ApiError('Internal', 'internal error');
}

/** The JSON response for an error: `{"error":{"code","message"}, ...extra}` with its status. */
export function errorResponse(error: ApiError): Response {
  const headers = new Headers({ 'content-type': 'application/json' });
  const retryAfter = RETRY_AFTER_SECONDS[error.code];
  if (retryAfter !== undefined) headers.set('retry-after', String(retryAfter));
  if (error.code === 'Unauthorized') headers.set('www-authenticate', 'Bearer');
  const body = { error: { code: error.code, message: error.message }, ...error.extra };
  return new Response(JSON.stringify(body), { status: error.status, headers });
}

/** Every status the API documents for errors, for the OpenAPI description. */
export const ERROR_STATUSES: readonly number[] = [...new Set(Object.values(STATUS))];
