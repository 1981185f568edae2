/**
 * A seeded xorshift32 generator of unsigned 32-bit words: the checker's search and the bench's
 * workloads must replay identically from run to run, which `Math.random` cannot promise.
 */
export function xorshift32(seed: number): () => number {
  // Zero is xorshift's one fixed point; any other 32-bit state cycles through all the others.
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}
