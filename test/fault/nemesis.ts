import type { Random } from '@raftkit/testkit';
import type { Runtime } from '../support/harness.ts';
import { adminRequest, currentLeader, statusOf } from './cluster-view.ts';
import { breakDisk, fillDisk, freeDisk, healDisk } from './disk.ts';
import type { Network } from './network.ts';
import type { SupervisedNode, Supervisor } from './supervisor.ts';

export const FAULT_KINDS = [
  'kill-leader',
  'kill',
  'pause-leader',
  'pause',
  'partition',
  'bridge',
  'one-way',
  'lossy',
  'transfer',
  'membership',
  'disk-full',
  'disk-eio',
  'power-loss',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Every fault this machine and store can inject: the disk-full fault mounts a tmpfs per node,
 * which needs root; power loss and EIO need the store's test modes (durable image, failing IO),
 * which only storage-fs has. Elsewhere they are left out (and the caller says so).
 */
export function availableFaults(storage: 'fs' | 'sqlite'): FaultKind[] {
  return FAULT_KINDS.filter(
    (kind) =>
      (kind !== 'disk-full' || process.getuid?.() === 0) &&
      ((kind !== 'power-loss' && kind !== 'disk-eio') || storage === 'fs'),
  );
}

/** One fault on the run's timeline: what, to whom, from when to when (ms since the start). */
export interface FaultEvent {
  readonly kind: FaultKind;
  readonly targets: readonly string[];
  readonly startAt: number;
  endAt: number;
  detail: string;
  /**
   * The leader just before the fault, where the fault needs it or takes nodes down (the
   * availability probes tell a restarted leader from a restarted follower by it).
   */
  readonly leader: string | undefined;
  /**
   * Set when the cluster did not do what the fault demands of it (a node that kept running on a
   * disk that fails): the verdict reports it as a failure.
   */
  problem: string | null;
}

/** The faults that look up the leader first: those aimed at it, and those that take nodes down. */
const LOOKS_UP_LEADER: ReadonlySet<FaultKind> = new Set([
  'kill-leader',
  'pause-leader',
  'transfer',
  'kill',
  'power-loss',
  'disk-full',
  'disk-eio',
]);

export interface NemesisOptions {
  readonly kinds: readonly FaultKind[];
  /** Calm between faults and how long each lasts, in ms. */
  readonly calmMs: { readonly min: number; readonly max: number };
  readonly faultMs: { readonly min: number; readonly max: number };
  /** Pauses outlast this (the longest election timeout) so the cluster elects around the paused node. */
  readonly electionTimeoutMs: number;
  /** The runtimes a replacement node may run on, for membership changes. */
  readonly runtimes: readonly Runtime[];
  readonly clock: () => number;
  /** Called as each fault begins: the availability probes watch leader deaths. */
  readonly onFault?: (event: FaultEvent) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long after a process exits its last output is looked for. */
const STOP_OUTPUT_MS = 200;

function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/**
 * The seeded nemesis: one fault at a time, drawn from `kinds` by the seed, each held for a while
 * and then healed, with calm in between. Only which fault, whom and how long come from the seed;
 * the cluster's timing does not, so a seed replays the same plan, not the same interleaving.
 */
export class Nemesis {
  readonly events: FaultEvent[] = [];
  #nextId: number;
  /** The founding cluster size, which membership changes keep. */
  readonly #size: number;

  constructor(
    readonly options: NemesisOptions,
    readonly supervisor: Supervisor,
    readonly network: Network,
    readonly random: Random,
  ) {
    this.#nextId = supervisor.nodes.size + 1;
    this.#size = supervisor.nodes.size;
  }

  async run(stop: { stopped: boolean }): Promise<void> {
    while (!stop.stopped) {
      await sleep(this.random.int(this.options.calmMs.min, this.options.calmMs.max));
      if (stop.stopped) break;
      await this.#inject(this.random.pick(this.options.kinds));
    }
  }

  /** Heals everything: links restored, paused nodes continued (killed ones the supervisor restarts). */
  heal(): void {
    this.network.heal();
    for (const node of this.supervisor.live()) this.supervisor.resume(node.id);
  }

  async #inject(kind: FaultKind): Promise<void> {
    const { supervisor, network, random } = this;
    const hold = random.int(this.options.faultMs.min, this.options.faultMs.max);
    const live = supervisor.live().map((node) => node.id);
    const leader = LOOKS_UP_LEADER.has(kind) ? await currentLeader(supervisor) : undefined;
    const begin = (targets: readonly string[], detail = ''): FaultEvent => {
      const event: FaultEvent = {
        kind,
        targets,
        startAt: this.options.clock(),
        endAt: Number.NaN,
        detail,
        leader: leader?.id,
        problem: null,
      };
      this.events.push(event);
      this.options.onFault?.(event);
      return event;
    };
    const end = (event: FaultEvent) => {
      event.endAt = this.options.clock();
    };
    switch (kind) {
      case 'kill-leader':
      case 'kill': {
        const target = kind === 'kill-leader' ? leader?.id : random.pick(live);
        if (target === undefined) return;
        const event = begin([target]);
        await supervisor.kill(target);
        // The supervisor restarts it; the fault lasts until it listens again, so at most one
        // node is down at a time and a 3-node cluster keeps its quorum.
        await supervisor.back(target, 30_000);
        end(event);
        return;
      }
      case 'pause-leader':
      case 'pause': {
        const target = kind === 'pause-leader' ? leader?.id : random.pick(live);
        if (target === undefined) return;
        const { electionTimeoutMs } = this.options;
        const ms = random.int(Math.round(1.2 * electionTimeoutMs), Math.round(2.5 * electionTimeoutMs));
        const event = begin([target], `SIGSTOP for ${ms} ms`);
        supervisor.pause(target);
        await sleep(ms);
        supervisor.resume(target);
        end(event);
        return;
      }
      case 'partition': {
        const shuffled = shuffle(random, live);
        const minority = shuffled.slice(0, Math.floor((live.length - 1) / 2) || 1);
        const majority = shuffled.filter((id) => !minority.includes(id));
        const event = begin(minority, `${minority.join(',')} | ${majority.join(',')}`);
        network.partition([minority, majority]);
        await sleep(hold);
        network.heal();
        end(event);
        return;
      }
      case 'bridge': {
        // Two sides that only the bridge node hears both of: each side alone is a minority.
        const [bridge, ...rest] = shuffle(random, live);
        const half = Math.ceil(rest.length / 2);
        const sides = [rest.slice(0, half), rest.slice(half)];
        const event = begin(
          [bridge!],
          `${sides[0]!.join(',')} | ${sides[1]!.join(',')} bridged by ${bridge}`,
        );
        network.partition(sides);
        await sleep(hold);
        network.heal();
        end(event);
        return;
      }
      case 'one-way': {
        // The leader's messages stop reaching the others, theirs still reach it.
        const target = (await currentLeader(supervisor))?.id ?? random.pick(live);
        const event = begin([target], `${target} → others cut`);
        for (const other of live) if (other !== target) network.cut(target, other);
        await sleep(hold);
        network.heal();
        end(event);
        return;
      }
      case 'lossy': {
        const dropRate = random.int(10, 40) / 100;
        const delay = { min: 0, max: random.int(20, 150) };
        const event = begin(live, `drop ${dropRate}, delay ${delay.min}-${delay.max} ms`);
        network.degrade(dropRate, delay);
        await sleep(hold);
        network.heal();
        end(event);
        return;
      }
      case 'transfer': {
        if (leader === undefined) return;
        const to = random.pick(live.filter((id) => id !== leader.id));
        const event = begin([to], `from ${leader.id}`);
        const answer = await adminRequest(supervisor, 'POST', '/v1/leader/transfer', { to }, 5000);
        event.detail += answer.ok ? '' : `, refused: ${answer.detail.slice(0, 120)}`;
        end(event);
        return;
      }
      case 'membership':
        await this.#replace(begin, end);
        return;
      case 'power-loss': {
        // A minority loses power at once: their unsynced writes are gone when they come back.
        const targets = shuffle(random, live).slice(
          0,
          random.int(1, Math.max(1, Math.floor((live.length - 1) / 2))),
        );
        const event = begin(targets);
        await Promise.all(targets.map((id) => supervisor.powerLoss(id)));
        await Promise.all(targets.map((id) => supervisor.back(id, 30_000)));
        end(event);
        return;
      }
      case 'disk-eio':
        await this.#failDisk(supervisor.nodes.get(random.pick(live))!, hold, begin, end);
        return;
      case 'disk-full': {
        // The node must stop on its first failed write (a failed write or fsync is fatal) and
        // come back once there is room again, with nothing lost.
        const node = supervisor.nodes.get(random.pick(live))!;
        const event = begin([node.id], `ENOSPC for ${hold} ms`);
        node.exitExpected = true;
        await fillDisk(node.dataDir);
        await sleep(hold);
        await freeDisk(node.dataDir);
        await supervisor.back(node.id, 30_000);
        node.exitExpected = false;
        end(event);
        return;
      }
    }
  }

  /**
   * A disk that fails with EIO under one node: the node must stop at its first write or sync
   * after it breaks (a failed fsync is never retried), name the error in its log, stay down while
   * the disk fails (each restart stops again at its first write), and come back once it is healed
   * with nothing acknowledged lost, which the verdict checks as for every fault.
   */
  async #failDisk(
    node: SupervisedNode,
    hold: number,
    begin: (targets: readonly string[], detail?: string) => FaultEvent,
    end: (event: FaultEvent) => void,
  ): Promise<void> {
    const controlFile = node.ioFaultFile;
    if (controlFile === null)
      throw new Error('the disk-eio fault needs the supervisor started with ioFaults');
    if (!node.process.running) return;
    const lastStop = () =>
      node.process.output
        .join('')
        .split('\n')
        .findLast((line) => line.includes('node stopped'));
    const earlier = lastStop();
    const event = begin([node.id], `EIO for ${hold} ms`);
    node.exitExpected = true;
    const started = this.options.clock();
    const exited = node.process.exited;
    await breakDisk(controlFile);
    const stopped = await Promise.race([exited.then(() => true), sleep(hold).then(() => false)]);
    if (stopped) {
      // The exit can be reported before the last of its output is read.
      await sleep(STOP_OUTPUT_MS);
      const fatal = lastStop();
      event.detail += `; stopped after ${Math.round(this.options.clock() - started)} ms`;
      if (fatal === undefined || fatal === earlier || !fatal.includes('EIO'))
        event.problem = `its log does not name EIO when it stops: ${fatal === earlier ? 'no new line says it stopped' : fatal!.slice(0, 400)}`;
      await sleep(Math.max(0, hold - (this.options.clock() - started)));
    } else {
      event.problem = `it kept running for ${hold} ms on a disk that fails every write with EIO`;
    }
    await healDisk(controlFile);
    await this.supervisor.back(node.id, 30_000);
    node.exitExpected = false;
    end(event);
  }

  /**
   * A rolling replacement: a new node joins (as a learner, promoted once caught up), then a
   * random old member is removed and stopped. The cluster keeps its size; ids are never reused,
   * since a removed member coming back with its old log is not a case Raft promises anything for.
   */
  async #replace(
    begin: (targets: readonly string[], detail?: string) => FaultEvent,
    end: (event: FaultEvent) => void,
  ) {
    const { supervisor, random } = this;
    const old = random.pick(supervisor.live().map((node) => node.id));
    // A removal that failed earlier left the cluster larger than it started: only remove now.
    if (supervisor.live().length > this.#size) {
      const event = begin([old], `${old} leaves (the cluster has ${supervisor.live().length} members)`);
      await this.#remove(old, event);
      end(event);
      return;
    }
    const id = `n${this.#nextId++}`;
    const event = begin([id, old], `${id} joins, then ${old} leaves`);
    const via = random.pick(supervisor.live().filter((node) => node.process.running && !node.paused));
    try {
      await supervisor.join(id, random.pick(this.options.runtimes), via.process.url);
    } catch (error) {
      event.detail += `; join failed: ${String(error).slice(0, 200)}`;
      // Whatever it got to, it does not stay: stopped, and removed if it was added.
      await supervisor.retire(id);
      await adminRequest(supervisor, 'DELETE', `/v1/members/${id}`, undefined, 5_000);
      end(event);
      return;
    }
    const joined = supervisor.nodes.get(id)!;
    const deadline = this.options.clock() + 30_000;
    while (this.options.clock() < deadline) {
      const status = await statusOf(joined);
      if (status?.members.some((member) => member.id === id && member.role === 'voter')) break;
      await sleep(200);
    }
    await this.#remove(old, event);
    end(event);
  }

  async #remove(id: string, event: FaultEvent): Promise<void> {
    const removed = await adminRequest(this.supervisor, 'DELETE', `/v1/members/${id}`, undefined, 15_000);
    if (removed.ok) await this.supervisor.retire(id);
    else event.detail += `; removal of ${id} failed: ${removed.detail.slice(0, 200)}`;
  }
}
