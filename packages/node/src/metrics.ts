/**
 * A latency histogram as plain data, cumulative like Prometheus's: `counts[i]` observations took
 * at most `bounds[i]` seconds; `count` includes the ones above the last bound.
 */
export interface Histogram {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly count: number;
  readonly sum: number;
}

/** Counters only ever grow; the server renders them (Prometheus text) and computes rates. */
export interface RaftNodeMetrics {
  readonly proposals: number;
  readonly proposalsFailed: number;
  readonly proposalsForwarded: number;
  readonly reads: number;
  readonly readsFailed: number;
  readonly readys: number;
  readonly saves: number;
  readonly entriesPersisted: number;
  readonly entriesApplied: number;
  readonly messagesSent: number;
  readonly messagesReceived: number;
  /** Incoming messages dropped because the per-tick budget was spent (Raft retries them). */
  readonly messagesDropped: number;
  readonly snapshotsTaken: number;
  readonly snapshotsRestored: number;
  readonly snapshotsSent: number;
  readonly snapshotsSendFailed: number;
  readonly snapshotsReceived: number;
  /** One `storage.save()` (one fsync), per Ready. */
  readonly fsyncSeconds: Histogram;
  /** Applying one Ready's committed entries. */
  readonly applySeconds: Histogram;
}

/** Seconds, from 100µs to 10s: fsyncs on fast NVMe to stalls worth paging about. */
const latencyBounds = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];

/**
 * A latency histogram over the fixed bounds above, kept as Prometheus keeps one: cumulative bucket counts
 * (an observation counts in every bucket whose bound it does not exceed), a count and a sum. Fixed bounds
 * keep every node's histograms summable across the cluster.
 */
export class LatencyHistogram {
  readonly #counts = new Array<number>(latencyBounds.length).fill(0);
  #count = 0;
  #sum = 0;

  /**
   * Records one duration, in seconds; one past the largest bound counts only in `count` and `sum` (the
   * implicit `+Inf` bucket).
   */
  observe(seconds: number): void {
    this.#count++;
    this.#sum += seconds;
    for (let i = latencyBounds.length - 1; i >= 0 && seconds <= (latencyBounds[i] as number); i--) {
      this.#counts[i] = (this.#counts[i] as number) + 1;
    }
  }

  /** The counts so far, as a copy: later observations do not change it. */
  snapshot(): Histogram {
    return { bounds: latencyBounds, counts: [...this.#counts], count: this.#count, sum: this.#sum };
  }
}

type CounterName = Exclude<keyof RaftNodeMetrics, 'fsyncSeconds' | 'applySeconds'>;

export class MetricsRecorder {
  readonly counters: Record<CounterName, number> = {
    proposals: 0,
    proposalsFailed: 0,
    proposalsForwarded: 0,
    reads: 0,
    readsFailed: 0,
    readys: 0,
    saves: 0,
    entriesPersisted: 0,
    entriesApplied: 0,
    messagesSent: 0,
    messagesReceived: 0,
    messagesDropped: 0,
    snapshotsTaken: 0,
    snapshotsRestored: 0,
    snapshotsSent: 0,
    snapshotsSendFailed: 0,
    snapshotsReceived: 0,
  };
  readonly fsync = new LatencyHistogram();
  readonly apply = new LatencyHistogram();

  snapshot(): RaftNodeMetrics {
    return { ...this.counters, fsyncSeconds: this.fsync.snapshot(), applySeconds: this.apply.snapshot() };
  }
}
