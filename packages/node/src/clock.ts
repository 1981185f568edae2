/**
 * The driver's only contact with time. The loop never reads the wall clock or sets a timer by
 * itself, so tests can drive a cluster tick by tick with a manual clock instead of sleeping.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences matter (deadlines). */
  now(): number;
  /** Calls `fn` every `ms` milliseconds until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

/** Real time: `performance.now()` and `setInterval`, shared by Node, Bun and Deno. */
export const systemClock: Clock = {
  now: () => performance.now(),
  every(ms, fn) {
    const handle = setInterval(fn, ms);
    return () => clearInterval(handle);
  },
};
