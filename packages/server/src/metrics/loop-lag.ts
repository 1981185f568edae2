import { LatencyHistogram } from '@raftkit/node';
import type { MetricsRegistry } from './registry.ts';

/** How often the probe asks to run. */
const INTERVAL_MS = 100;

/**
 * How late the event loop runs a timer: everything on this node, clients' requests, peers'
 * messages and the completions of its fsyncs, waits that long for the loop behind work already
 * queued (a long synchronous task, a garbage collection). The probe sets a timer every 100 ms
 * and records by how much each one fired late. With plain timers, not `monitorEventLoopDelay`,
 * so it reads the same on Node, Bun and Deno.
 */
export class LoopLagProbe {
  readonly #lag = new LatencyHistogram();
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly intervalMs = INTERVAL_MS) {}

  start(): void {
    if (this.#timer !== null) return;
    const arm = () => {
      const due = performance.now() + this.intervalMs;
      this.#timer = setTimeout(() => {
        this.#lag.observe(Math.max(0, performance.now() - due) / 1000);
        arm();
      }, this.intervalMs);
    };
    arm();
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  register(registry: MetricsRegistry): void {
    registry.histogram(
      {
        name: 'raftkit_event_loop_lag_seconds',
        help: 'How late the event loop ran a timer set every 100 ms: the wait any work here had for the loop.',
      },
      () => [[{}, this.#lag.snapshot()]],
    );
  }
}
