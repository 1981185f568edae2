import { describe, expect, it } from 'vitest';
import { LoopLagProbe } from './loop-lag.ts';
import { MetricsRegistry } from './registry.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The `le="…"` bucket's count and the `_count` of `raftkit_event_loop_lag_seconds`. */
function scrape(registry: MetricsRegistry, le: string): { inBucket: number; count: number } {
  const text = registry.render();
  const value = (pattern: RegExp) => Number(text.match(pattern)?.[1] ?? Number.NaN);
  return {
    inBucket: value(new RegExp(`raftkit_event_loop_lag_seconds_bucket\\{le="${le}"\\} (\\d+)`)),
    count: value(/raftkit_event_loop_lag_seconds_count (\d+)/),
  };
}

describe('LoopLagProbe', () => {
  it('records how late its timer ran while the loop was blocked, and nothing once stopped', async () => {
    const probe = new LoopLagProbe(10);
    const registry = new MetricsRegistry();
    probe.register(registry);
    probe.start();
    await sleep(15);
    // The timer due within 10 ms cannot run before this returns: it fires at least 50 ms late.
    const blockedUntil = performance.now() + 60;
    while (performance.now() < blockedUntil) {}
    await sleep(15);
    probe.stop();
    const seen = scrape(registry, '0.025');
    expect(seen.count).toBeGreaterThanOrEqual(2);
    // Cumulative buckets: at least one observation was above 25 ms.
    expect(seen.inBucket).toBeLessThan(seen.count);
    await sleep(30);
    expect(scrape(registry, '0.025').count).toBe(seen.count);
  });
});
