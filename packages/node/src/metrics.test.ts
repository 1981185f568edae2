import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './metrics.ts';

describe('latency histogram', () => {
  it('counts cumulatively per bound, like Prometheus buckets', () => {
    const h = new LatencyHistogram();
    for (const s of [0.00005, 0.003, 0.003, 20]) h.observe(s);
    const snap = h.snapshot();
    const at = (bound: number) => snap.counts[snap.bounds.indexOf(bound)];
    expect(at(0.0001)).toBe(1);
    expect(at(0.0025)).toBe(1);
    expect(at(0.005)).toBe(3);
    expect(at(10)).toBe(3);
    expect(snap.count).toBe(4);
    expect(snap.sum).toBeCloseTo(20.00605);
  });
});
