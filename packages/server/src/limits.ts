/** Size limits the API enforces before a request reaches Raft. */
export interface Limits {
  /** UTF-8 bytes of a key. Default 1 KiB. */
  readonly maxKeyBytes: number;
  /**
   * Bytes of a value. Default 1 MiB: a value travels in one log entry, which must fit in one
   * peer message (the HTTP transport's body limit defaults to 8 MiB).
   */
  readonly maxValueBytes: number;
  /** Bytes of a JSON request body on the membership routes. */
  readonly maxJsonBytes: number;
}

/**
 * The largest command a client route can build: a cas with a full key and two full values, in a
 * client session (33 bytes of session header), and the cas framing (10 bytes), rounded up.
 */
export const maxCommandBytes = (limits: Pick<Limits, 'maxKeyBytes' | 'maxValueBytes'>): number =>
  64 + limits.maxKeyBytes + 2 * limits.maxValueBytes;

/** The limits `raftkit serve` uses unless told otherwise. */
export const DEFAULT_LIMITS: Limits = {
  maxKeyBytes: 1024,
  maxValueBytes: 1024 * 1024,
  maxJsonBytes: 64 * 1024,
};
