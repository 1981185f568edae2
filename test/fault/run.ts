import { join } from 'node:path';
import { Random } from '@raftkit/testkit';
import { ROOT, type Runtime } from '../support/harness.ts';
import { AvailabilityProbes, summarize } from './availability.ts';
import { runClients } from './clients.ts';
import { History } from './history.ts';
import { type FaultKind, Nemesis } from './nemesis.ts';
import { Network } from './network.ts';
import { Supervisor, type SupervisorEvent } from './supervisor.ts';
import { type CheckReport, checkRun, renderFault } from './verdict.ts';

/** A deliberately broken server, to prove the suite catches what it claims to (see broken-server.ts). */
export type Breakage = 'local-linearizable-reads' | 'early-write-ack';

export interface RunOptions {
  readonly seed: number;
  readonly durationMs: number;
  /** One runtime per founding node: its length is the cluster size. */
  readonly runtimes: readonly Runtime[];
  readonly storage: 'fs' | 'sqlite';
  readonly clients: number;
  readonly faults: readonly FaultKind[];
  readonly tickMs: number;
  readonly breakage?: Breakage;
  readonly log: (line: string) => void;
}

export interface RunReport {
  readonly ok: boolean;
  readonly failures: readonly string[];
  readonly summary: string;
  readonly check: CheckReport | null;
}

const KEYS = ['a', 'b', 'c', 'd'];

/** How each node's processes ended during the run: `n1 SIGKILL 2, n2 exit code 1 1`. */
const exits = (events: readonly SupervisorEvent[]) => {
  const counts = new Map<string, number>();
  for (const event of events)
    if (event.kind === 'exited')
      counts.set(`${event.node} ${event.status}`, (counts.get(`${event.node} ${event.status}`) ?? 0) + 1);
  return render(counts);
};

/** What a run that broke off shows: how nodes ended or failed to start, and the output of those not running. */
function postMortem(supervisor: Supervisor): string[] {
  const events = supervisor.events
    .filter((event) => event.kind !== 'listening')
    .slice(-20)
    .map(
      (event) =>
        `${(event.at / 1000).toFixed(3)} s ${event.node} ${event.kind}: ${'error' in event ? event.error.slice(0, 1500) : event.status}`,
    );
  const down = supervisor
    .live()
    .filter((node) => !node.process.running)
    .map(
      (node) =>
        `${node.id} (${node.runtime}) is not running; its last output:\n${node.process.output.join('').slice(-3000)}`,
    );
  return [...events, ...down];
}

const render = (counts: ReadonlyMap<string, number>) =>
  [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ') || 'none';
/** Each node's tmpfs when the disk-full fault runs: room for a 30-minute run's log. */
const DISK_BYTES = 128 * 1024 * 1024;
/** Raft's election timeout is 10 to 20 ticks; pauses outlast the longest. */
const ELECTION_TICKS = 20;

/**
 * One run of the fault suite: a cluster under its supervisor and peer proxies, the clients and
 * the nemesis for `durationMs`, then healing and the verdict. Everything random derives from
 * `seed`, which every failure message repeats with the command that replays it.
 */
export async function runFaultSuite(options: RunOptions): Promise<RunReport> {
  const started = performance.now();
  // Tenths of a millisecond: a history that reads well, and rounding only ever makes operations concurrent.
  const clock = () => Math.round((performance.now() - started) * 10) / 10;
  const network = new Network(new Random(options.seed + 1));
  const supervisor = new Supervisor({
    name: `fault-${options.seed}`,
    network,
    clock,
    args: ['--storage', options.storage, '--tick-ms', String(options.tickMs)],
    ...(options.faults.includes('disk-full') ? { diskBytes: DISK_BYTES } : {}),
    ...(options.faults.includes('power-loss') ? { durableImages: true } : {}),
    ...(options.faults.includes('disk-eio') ? { ioFaults: true } : {}),
    ...(options.breakage === undefined
      ? {}
      : { script: [join(ROOT, 'test/dist/fault/broken-server.js'), options.breakage] }),
  });
  const history = new History(clock);
  const targets = () => supervisor.live().map((node) => ({ id: node.id, url: node.process.url }));
  const probes = new AvailabilityProbes(history, targets);
  const replay = `npm run torture -- --seed ${options.seed} --seconds ${Math.round(options.durationMs / 1000)} --runtimes ${options.runtimes.join(',')} --storage ${options.storage} --faults ${options.faults.join(',')}${options.breakage === undefined ? '' : ` --break ${options.breakage}`}`;
  options.log(`fault suite: seed ${options.seed}; replay with: ${replay}`);
  try {
    await supervisor.found(options.runtimes);
    let watched = 0;
    const watcher = setInterval(() => {
      for (; watched < supervisor.events.length; watched++) {
        const event = supervisor.events[watched]!;
        if (event.kind === 'listening' && event.restart)
          probes.onListening(supervisor.nodes.get(event.node)!, event.at);
        if (event.kind === 'exited') probes.onExited(event.node);
      }
    }, 10);
    const nemesis = new Nemesis(
      {
        kinds: options.faults,
        calmMs: { min: 1000, max: 3000 },
        faultMs: { min: 1500, max: 4000 },
        electionTimeoutMs: ELECTION_TICKS * options.tickMs,
        runtimes: options.runtimes,
        clock,
        onFault: (event) => {
          options.log(`  fault ${renderFault(event)}`);
          probes.onFault(event);
        },
      },
      supervisor,
      network,
      new Random(options.seed + 2),
    );
    const stop = { stopped: false };
    const clients = runClients(
      { clients: options.clients, keys: KEYS, thinkMs: { min: 5, max: 40 } },
      history,
      targets,
      (client) => new Random(options.seed * 1000 + 10 + client),
      stop,
    );
    const nemesisDone = nemesis.run(stop);
    await new Promise((resolve) => setTimeout(resolve, options.durationMs));
    stop.stopped = true;
    await nemesisDone;
    nemesis.heal();
    await Promise.all(clients);
    const notBack = await supervisor.allBack(30_000);
    await probes.settle();
    clearInterval(watcher);

    // The nodes that are back are still checked, so one node that cannot restart hides nothing else.
    const check = await checkRun({
      history,
      nodes: supervisor.live().filter((node) => node.process.running),
      faults: nemesis.events,
      supervisorEvents: supervisor.events,
      checkerTimeoutMs: 120_000,
    });
    const failures = [...notBack, ...check.failures];
    const counts = history.counts();
    const reasons = history.reasons();
    const faultCounts = new Map<string, number>();
    for (const event of nemesis.events) faultCounts.set(event.kind, (faultCounts.get(event.kind) ?? 0) + 1);
    const leader = summarize(probes.recoveries, 'leader-down');
    const restarts = (kind: 'follower-restart' | 'leader-restart') => {
      const r = summarize(probes.recoveries, kind);
      return `median ${r.medianMs ?? '-'} ms, max ${r.maxMs ?? '-'} ms (${r.count} measured, ${r.overlapped} of them overlapping the next fault; ${r.missing} never, ${r.died} stopped again first)`;
    };
    const summary = [
      `seed ${options.seed}, ${(options.durationMs / 1000).toFixed(0)} s, ${options.runtimes.join('+')} on ${options.storage}${options.breakage === undefined ? '' : `, broken: ${options.breakage}`}`,
      `operations: ${history.records.length} (ok ${counts.ok}, failed ${counts.failed}, unknown ${counts.unknown})`,
      `failed by reason: ${render(reasons.failed)}; unknown by reason: ${render(reasons.unknown)}`,
      `node exits: ${exits(supervisor.events)}`,
      ...nemesis.events
        .filter((event) => /failed|refused/.test(event.detail))
        .map((event) => `fault not carried out as planned: ${renderFault(event)}`),
      `faults: ${[...faultCounts].map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none'}`,
      `leader down → first acknowledged write: median ${leader.medianMs ?? '-'} ms, max ${leader.maxMs ?? '-'} ms (${leader.count} measured, ${leader.missing} never)`,
      `follower restarted, listening → first linearizable read there: ${restarts('follower-restart')}`,
      `leader restarted (a new leader is elected first), listening → first linearizable read there: ${restarts('leader-restart')}`,
      `checker: ${check.checkerMs} ms, ${check.linearizable === true ? 'linearizable' : check.linearizable === false ? 'NOT linearizable' : 'no verdict'}`,
      `verdict: ${failures.length === 0 ? 'ok' : `FAILED (${failures.length} problems); replay with: ${replay}`}`,
    ].join('\n');
    return { ok: failures.length === 0, failures, summary, check };
  } catch (error) {
    return {
      ok: false,
      failures: [`the run itself failed: ${String(error)}`, ...postMortem(supervisor)],
      summary: `seed ${options.seed}: the run failed before its verdict; replay with: ${replay}`,
      check: null,
    };
  } finally {
    await supervisor.close();
  }
}
