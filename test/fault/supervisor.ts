import { join } from 'node:path';
import { restoreDurableImage } from '@raftkit/storage-fs';
import { eventually, freePort, type Runtime, ServerProcess, tempDir } from '../support/harness.ts';
import { mountSmallDisk } from './disk.ts';
import type { Network } from './network.ts';
import { PeerProxy } from './proxy.ts';

/** systemd's `Restart=always` with a backoff: the first restart after this, doubling while a node keeps dying. */
const RESTART_DELAY_MS = 200;
const MAX_RESTART_DELAY_MS = 5_000;
/** A node up this long has recovered: its next death restarts after the first delay again. */
const STABLE_MS = 10_000;
/** /health is polled this often while a node starts, so its listening time is known to ~20 ms. */
const HEALTH_POLL_MS = 20;

export interface SupervisedNode {
  readonly id: string;
  readonly runtime: Runtime;
  readonly process: ServerProcess;
  /** The URL this node's peers use: its proxy. Clients use `process.url`, the node itself. */
  readonly peerUrl: string;
  readonly dataDir: string;
  paused: boolean;
  /** Set by `retire`: the node left the cluster and is not restarted. */
  retired: boolean;
  /** Set while the nemesis breaks its disk: stopping on the storage error is then correct. */
  exitExpected: boolean;
  /** Where the store keeps its durable image (power-loss test mode), or null when off. */
  readonly imageDir: string | null;
  /** The file whose existence makes the node's disk fail with EIO (its store's test mode), or null when off. */
  readonly ioFaultFile: string | null;
  /** Runs once after the process's next exit, before the restart: the power-loss rollback. */
  beforeRestart: (() => void) | null;
}

/** Something the supervisor saw, for the run's timeline. */
export type SupervisorEvent =
  | { readonly kind: 'listening'; readonly node: string; readonly at: number; readonly restart: boolean }
  | {
      readonly kind: 'exited';
      readonly node: string;
      readonly at: number;
      readonly expected: boolean;
      readonly status: string;
    }
  | {
      readonly kind: 'restart-failed';
      readonly node: string;
      readonly at: number;
      readonly expected: boolean;
      readonly error: string;
    };

/** What a node gets before its first start: its port, proxy and directories. */
interface Slot {
  readonly id: string;
  readonly port: number;
  readonly proxy: PeerProxy;
  readonly dataDir: string;
  readonly imageDir: string | null;
  readonly ioFaultFile: string | null;
}

export interface SupervisorOptions {
  readonly name: string;
  readonly network: Network;
  /** Serve flags every node gets (e.g. --storage, --tick-ms). */
  readonly args: readonly string[];
  /** For a deliberately broken server: the Node script to run instead of the real CLI. */
  readonly script?: readonly string[];
  /** Puts each data directory on a tmpfs of this size, for the disk-full fault (needs root). */
  readonly diskBytes?: number;
  /** Runs fs stores in their power-loss test mode (`RAFTKIT_TEST_DURABLE_IMAGE`), for the power-loss fault. */
  readonly durableImages?: boolean;
  /** Runs fs stores in their EIO test mode (`RAFTKIT_TEST_IO_FAULT`), for the disk-eio fault. */
  readonly ioFaults?: boolean;
  readonly clock: () => number;
}

/**
 * Runs the cluster's processes the way an init system would: each node on a free port behind its
 * own peer proxy, restarted with backoff whenever it exits without being asked to (kill -9 by the
 * nemesis, or a crash), and killed by pid when the run ends.
 */
export class Supervisor {
  readonly nodes = new Map<string, SupervisedNode>();
  readonly events: SupervisorEvent[] = [];
  readonly #proxies: PeerProxy[] = [];
  readonly #removals: (() => Promise<void>)[] = [];
  #closing = false;
  /** Nodes whose current process has answered /health. */
  readonly #listening = new Set<string>();

  constructor(readonly options: SupervisorOptions) {}

  /** Starts the founding members (ids n1..nN, one per runtime given) and waits for each to listen. */
  async found(runtimes: readonly Runtime[]): Promise<void> {
    const ids = runtimes.map((_, i) => `n${i + 1}`);
    const prepared = await Promise.all(ids.map((id) => this.#prepare(id)));
    const members = prepared.map(({ id, proxy }) => `${id}=${proxy.url}`).join(',');
    await Promise.all(prepared.map((slot, i) => this.#launch(slot, runtimes[i]!, ['--members', members])));
  }

  /** Starts a new node that joins through `via` (a member's own URL) as a voter. */
  async join(id: string, runtime: Runtime, via: string): Promise<SupervisedNode> {
    return this.#launch(await this.#prepare(id), runtime, ['--join', via]);
  }

  live(): SupervisedNode[] {
    return [...this.nodes.values()].filter((node) => !node.retired);
  }

  /** kill -9; the node comes back after the restart delay. */
  async kill(id: string): Promise<void> {
    const node = this.#node(id);
    node.paused = false;
    await node.process.kill('SIGKILL');
  }

  /**
   * kill -9, then its files rolled back to what was last made durable (what a power loss leaves,
   * which kill -9 alone does not: the page cache survives it) before the supervisor restarts it.
   */
  async powerLoss(id: string): Promise<void> {
    const node = this.#node(id);
    const imageDir = node.imageDir;
    if (imageDir === null) throw new Error('power loss needs the supervisor started with durableImages');
    node.beforeRestart = () => restoreDurableImage(node.dataDir, imageDir);
    await this.kill(id);
  }

  pause(id: string): void {
    const node = this.#node(id);
    node.process.signal('SIGSTOP');
    node.paused = node.process.running;
  }

  resume(id: string): void {
    const node = this.#node(id);
    if (node.paused) node.process.signal('SIGCONT');
    node.paused = false;
  }

  /** Stops a node that left the cluster for good. */
  async retire(id: string): Promise<void> {
    const node = this.#node(id);
    node.retired = true;
    this.resume(id);
    await node.process.kill('SIGKILL');
  }

  /** Waits until `id` listens again after being killed (gives up silently after `ms`). */
  async back(id: string, ms: number): Promise<void> {
    const node = this.#node(id);
    const deadline = this.options.clock() + ms;
    while (!node.process.running || !this.#listening.has(id)) {
      if (this.options.clock() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Waits up to `ms` for every node that is not retired to answer /health; returns those that
   * did not, each with the tail of its output.
   */
  async allBack(ms: number): Promise<string[]> {
    const missing = await Promise.all(
      this.live().map(async (node) => {
        try {
          await eventually(
            `${node.id} back after healing`,
            async () => {
              const response = await fetch(`${node.process.url}/health`, {
                signal: AbortSignal.timeout(1000),
              });
              return response.ok ? true : undefined;
            },
            ms,
          );
          return [];
        } catch {
          return [
            `${node.id} (${node.runtime}) is not back ${ms} ms after healing; its last output:\n${node.process.output.join('').slice(-2000)}`,
          ];
        }
      }),
    );
    return missing.flat();
  }

  /** Kills every process by pid, closes the proxies and removes the data directories. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.nodes.values()].map((node) => node.process.kill('SIGKILL')));
    await Promise.all(this.#proxies.map((proxy) => proxy.close()));
    await Promise.all(this.#removals.map((remove) => remove()));
  }

  async #prepare(id: string): Promise<Slot> {
    const port = await freePort();
    const proxy = await PeerProxy.start(id, port, this.options.network);
    this.#proxies.push(proxy);
    const dir = await tempDir(`${this.options.name}-${id}`);
    if (this.options.diskBytes === undefined) {
      this.#removals.push(dir.remove);
    } else {
      const unmount = mountSmallDisk(dir.path, this.options.diskBytes);
      this.#removals.push(async () => {
        unmount();
        await dir.remove();
      });
    }
    let imageDir: string | null = null;
    if (this.options.durableImages === true) {
      const image = await tempDir(`${this.options.name}-${id}-image`);
      this.#removals.push(image.remove);
      imageDir = image.path;
    }
    let ioFaultFile: string | null = null;
    if (this.options.ioFaults === true) {
      // Beside the data directory, never in it: the store must not see the control file.
      const control = await tempDir(`${this.options.name}-${id}-eio`);
      this.#removals.push(control.remove);
      ioFaultFile = join(control.path, 'eio');
    }
    return { id, port, proxy, dataDir: dir.path, imageDir, ioFaultFile };
  }

  async #launch(slot: Slot, runtime: Runtime, bootstrap: readonly string[]): Promise<SupervisedNode> {
    const process = new ServerProcess({
      id: slot.id,
      runtime,
      port: slot.port,
      dataDir: slot.dataDir,
      args: ['--advertise', slot.proxy.url, ...bootstrap, ...this.options.args],
      ...(this.options.script === undefined ? {} : { script: this.options.script }),
      env: {
        ...(slot.imageDir === null ? {} : { RAFTKIT_TEST_DURABLE_IMAGE: slot.imageDir }),
        ...(slot.ioFaultFile === null ? {} : { RAFTKIT_TEST_IO_FAULT: slot.ioFaultFile }),
      },
    });
    const node: SupervisedNode = {
      id: slot.id,
      runtime,
      process,
      peerUrl: slot.proxy.url,
      dataDir: slot.dataDir,
      paused: false,
      retired: false,
      exitExpected: false,
      imageDir: slot.imageDir,
      ioFaultFile: slot.ioFaultFile,
      beforeRestart: null,
    };
    this.nodes.set(slot.id, node);
    await process.start(fetch, HEALTH_POLL_MS);
    this.#listening.add(slot.id);
    this.events.push({ kind: 'listening', node: slot.id, at: this.options.clock(), restart: false });
    void this.#watch(node);
    return node;
  }

  /** Restarts `node` each time it exits, until it is retired or the run ends. */
  async #watch(node: SupervisedNode): Promise<void> {
    let delay = RESTART_DELAY_MS;
    let upSince = this.options.clock();
    for (;;) {
      const status = await node.process.exited;
      this.#listening.delete(node.id);
      if (this.#closing || node.retired) return;
      const beforeRestart = node.beforeRestart;
      node.beforeRestart = null;
      beforeRestart?.();
      // The nemesis only ever kills with SIGKILL; any other exit is the node stopping on its own.
      const expected = status.signal === 'SIGKILL' || node.exitExpected;
      this.events.push({
        kind: 'exited',
        node: node.id,
        at: this.options.clock(),
        expected,
        status: status.signal ?? `exit code ${status.code}`,
      });
      if (this.options.clock() - upSince > STABLE_MS) delay = RESTART_DELAY_MS;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(2 * delay, MAX_RESTART_DELAY_MS);
        if (this.#closing || node.retired) return;
        try {
          await node.process.start(fetch, HEALTH_POLL_MS);
          upSince = this.options.clock();
          this.#listening.add(node.id);
          this.events.push({ kind: 'listening', node: node.id, at: upSince, restart: true });
          break;
        } catch (error) {
          this.events.push({
            kind: 'restart-failed',
            node: node.id,
            at: this.options.clock(),
            expected: node.exitExpected,
            error: String(error),
          });
          // A start that timed out may have left its process running: it must not run twice.
          await node.process.kill('SIGKILL');
        }
      }
    }
  }

  #node(id: string): SupervisedNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new RangeError(`no node ${id}`);
    return node;
  }
}
