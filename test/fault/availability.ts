import { perform, type Targets } from './clients.ts';
import type { History, OperationRecord } from './history.ts';
import type { FaultEvent } from './nemesis.ts';
import type { SupervisedNode } from './supervisor.ts';

/**
 * Probes start an attempt this often without waiting for the last one (a request sent into a
 * partition or to a node still catching up may hang for seconds), so recovery times are known to
 * within a few tens of ms; at most this many are in flight.
 */
const PROBE_INTERVAL_MS = 25;
const PROBE_IN_FLIGHT = 80;
/** A probe attempt gives up sooner than a client: its answer only matters while it is quick. */
const PROBE_TIMEOUT_MS = 2_000;
/** A probe gives up after this long; the report then shows the recovery as missing. */
const PROBE_LIMIT_MS = 15_000;
/**
 * Client ids of the probes, apart from the workload's: each attempt is its own client, since
 * attempts overlap and a client has one operation at a time.
 */
const WRITE_PROBE_CLIENT = 100_000;
const READ_PROBE_CLIENT = 200_000;
const PROBE_KEY = 'probe';

export interface Recovery {
  /** What was measured: a leader's death (kill or pause) or a node's restart. */
  readonly kind: 'leader-down' | 'restart';
  readonly node: string;
  readonly at: number;
  /** ms from the fault (or from listening) to the first acknowledged write (or served read); null if none came. */
  ms: number | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Measures how long the cluster stays unavailable: after a leader dies, writes through random
 * other nodes until one is acknowledged; after a node restarts, linearizable reads through that
 * node until one is served. Probe operations go into the history like any other, so they are
 * checked too.
 */
export class AvailabilityProbes {
  readonly recoveries: Recovery[] = [];
  readonly #running: Promise<void>[] = [];
  #writes = 0;
  #reads = 0;

  constructor(
    readonly history: History,
    readonly targets: Targets,
  ) {}

  onFault(event: FaultEvent): void {
    if (event.kind !== 'kill-leader' && event.kind !== 'pause-leader') return;
    const recovery: Recovery = { kind: 'leader-down', node: event.targets[0]!, at: event.startAt, ms: null };
    this.recoveries.push(recovery);
    this.#running.push(
      this.#until(recovery, () => {
        const others = this.targets().filter((target) => target.id !== recovery.node);
        const target = others[this.#writes % others.length]!;
        const op = { kind: 'put', key: PROBE_KEY, value: `probe-${this.#writes++}` } as const;
        return perform(this.history, WRITE_PROBE_CLIENT + this.#writes, target, op, null, PROBE_TIMEOUT_MS);
      }),
    );
  }

  onListening(node: SupervisedNode, at: number): void {
    const recovery: Recovery = { kind: 'restart', node: node.id, at, ms: null };
    this.recoveries.push(recovery);
    const target = { id: node.id, url: node.process.url };
    this.#running.push(
      this.#until(recovery, () =>
        perform(
          this.history,
          READ_PROBE_CLIENT + this.#reads++,
          target,
          { kind: 'get', key: PROBE_KEY },
          'linearizable',
          PROBE_TIMEOUT_MS,
        ),
      ),
    );
  }

  /** Waits for the probes still running. */
  async settle(): Promise<void> {
    await Promise.all(this.#running);
  }

  async #until(recovery: Recovery, attempt: () => Promise<OperationRecord>): Promise<void> {
    const { clock } = this.history;
    const inFlight = new Set<Promise<void>>();
    while (recovery.ms === null && clock() - recovery.at < PROBE_LIMIT_MS) {
      if (inFlight.size < PROBE_IN_FLIGHT) {
        const running = attempt().then((record) => {
          inFlight.delete(running);
          if (record.outcome !== 'ok' || record.completedAt === null) return;
          const ms = Math.round(record.completedAt - recovery.at);
          if (recovery.ms === null || ms < recovery.ms) recovery.ms = ms;
        });
        inFlight.add(running);
      }
      await sleep(PROBE_INTERVAL_MS);
    }
    await Promise.all(inFlight);
  }
}

/** Median and max of the measured recoveries of one kind, and how many never recovered in time. */
export function summarize(recoveries: readonly Recovery[], kind: Recovery['kind']) {
  const times = recoveries
    .filter((recovery) => recovery.kind === kind && recovery.ms !== null)
    .map((recovery) => recovery.ms!)
    .sort((a, b) => a - b);
  const missing = recoveries.filter((recovery) => recovery.kind === kind && recovery.ms === null).length;
  return {
    count: times.length,
    missing,
    medianMs: times.length === 0 ? null : times[Math.floor(times.length / 2)]!,
    maxMs: times.length === 0 ? null : times[times.length - 1]!,
  };
}
