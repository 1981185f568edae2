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

/**
 * What was measured. `leader-down`: a leader's death (kill or pause) to the first acknowledged
 * write. A restart to that node's first linearizable read, apart by what the node was when it
 * went down: `follower-restart` (the bar: served within 1 s of listening) or `leader-restart`
 * (a killed leader comes back to a cluster that must first elect a new leader, which takes an
 * election timeout, so its wait is mostly that election's).
 */
export type RecoveryKind = 'leader-down' | 'follower-restart' | 'leader-restart';

/** The faults that take a node down; the supervisor restarts it. */
const DOWNING: ReadonlySet<FaultEvent['kind']> = new Set([
  'kill',
  'kill-leader',
  'power-loss',
  'disk-full',
  'disk-eio',
]);

export interface Recovery {
  readonly kind: RecoveryKind;
  readonly node: string;
  readonly at: number;
  /** ms from the fault (or from listening) to the first acknowledged write (or served read); null if none came. */
  ms: number | null;
  /**
   * The restarted process exited before it served a read (a node restarted onto a disk still
   * full stops again): its probe ends, since the next process's reads are another restart's.
   */
  died: boolean;
  /** Another fault began while this was still being measured: its time may include that fault. */
  overlapped: boolean;
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
  /** What each node was when a fault last took it down, which decides its restart's kind. */
  readonly #downAs = new Map<string, 'follower-restart' | 'leader-restart'>();
  /** Recoveries whose probe is still running: only these can still overlap a fault or end with their process. */
  readonly #measuring = new Set<Recovery>();
  #writes = 0;
  #reads = 0;

  constructor(
    readonly history: History,
    readonly targets: Targets,
  ) {}

  onFault(event: FaultEvent): void {
    for (const recovery of this.#measuring) recovery.overlapped = true;
    if (DOWNING.has(event.kind))
      for (const target of event.targets)
        this.#downAs.set(target, target === event.leader ? 'leader-restart' : 'follower-restart');
    if (event.kind !== 'kill-leader' && event.kind !== 'pause-leader') return;
    const recovery = this.#record('leader-down', event.targets[0]!, event.startAt);
    this.#running.push(
      this.#until(recovery, () => {
        const others = this.targets().filter((target) => target.id !== recovery.node);
        const target = others[this.#writes % others.length]!;
        const op = { kind: 'put', key: PROBE_KEY, value: `probe-${this.#writes++}` } as const;
        return perform(this.history, WRITE_PROBE_CLIENT + this.#writes, target, op, null, PROBE_TIMEOUT_MS);
      }),
    );
  }

  /**
   * A node restarted by the supervisor listens. A restart no fault explains (the node stopped on
   * its own, which the verdict reports as a failure) counts as a follower's: the stricter bar.
   */
  onListening(node: SupervisedNode, at: number): void {
    const recovery = this.#record(this.#downAs.get(node.id) ?? 'follower-restart', node.id, at);
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

  /** A node's process exited: a restart still waiting for its first read there will get none. */
  onExited(node: string): void {
    for (const recovery of this.#measuring)
      if (recovery.node === node && recovery.kind !== 'leader-down') recovery.died = true;
  }

  #record(kind: RecoveryKind, node: string, at: number): Recovery {
    const recovery: Recovery = { kind, node, at, ms: null, died: false, overlapped: false };
    this.recoveries.push(recovery);
    return recovery;
  }

  /** Waits for the probes still running. */
  async settle(): Promise<void> {
    await Promise.all(this.#running);
  }

  async #until(recovery: Recovery, attempt: () => Promise<OperationRecord>): Promise<void> {
    const { clock } = this.history;
    const inFlight = new Set<Promise<void>>();
    this.#measuring.add(recovery);
    while (recovery.ms === null && !recovery.died && clock() - recovery.at < PROBE_LIMIT_MS) {
      if (inFlight.size < PROBE_IN_FLIGHT) {
        const running = attempt().then((record) => {
          inFlight.delete(running);
          if (record.outcome !== 'ok' || record.completedAt === null || recovery.died) return;
          const ms = Math.round(record.completedAt - recovery.at);
          if (recovery.ms === null || ms < recovery.ms) recovery.ms = ms;
        });
        inFlight.add(running);
      }
      await sleep(PROBE_INTERVAL_MS);
    }
    this.#measuring.delete(recovery);
    await Promise.all(inFlight);
  }
}

/**
 * Median and max of the measured recoveries of one kind; how many never recovered in time, how
 * many ended with their process, and how many overlapped the next fault (counted in, not left out).
 */
export function summarize(recoveries: readonly Recovery[], kind: RecoveryKind) {
  const ofKind = recoveries.filter((recovery) => recovery.kind === kind);
  const measured = ofKind.filter((recovery) => recovery.ms !== null);
  const times = measured.map((recovery) => recovery.ms!).sort((a, b) => a - b);
  return {
    count: times.length,
    missing: ofKind.filter((recovery) => recovery.ms === null && !recovery.died).length,
    died: ofKind.filter((recovery) => recovery.died).length,
    overlapped: measured.filter((recovery) => recovery.overlapped).length,
    medianMs: times.length === 0 ? null : times[Math.floor(times.length / 2)]!,
    maxMs: times.length === 0 ? null : times[times.length - 1]!,
  };
}
