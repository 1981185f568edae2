import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeId } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import type { StorageFactory } from '../storage/describe-storage.ts';
import { StorageDisk } from './disk.ts';
import { SimulationFailure } from './failure.ts';
import type { MixName } from './mixes.ts';
import { Simulation } from './simulation.ts';
import { describeFailure, planFor } from './sweep.ts';

export interface SimulationOverStorageOptions {
  /** Which mixes, and how many seeds of each (from seed 1; cluster sizes cycle 3, 5, 1). */
  readonly seeds: Readonly<Partial<Record<MixName, number>>>;
  /** Ticks with faults on per seed; default 400. */
  readonly ticks?: number;
}

/**
 * Simulator seeds over a real `Storage`, one store per node in a temp directory: every crash
 * closes the store and the restart reopens it from disk, so the backend's recovery runs for real
 * under the simulator's checks, and what it loads must equal what the node persisted. Each
 * storage package calls it from a small test file, as it calls `describeStorage`.
 */
export function describeSimulationOverStorage(
  name: string,
  factory: StorageFactory,
  options: SimulationOverStorageOptions,
): void {
  const ticks = options.ticks ?? 400;
  describe(`simulator over ${name}`, () => {
    for (const [mix, count] of Object.entries(options.seeds) as [MixName, number][]) {
      it(`${mix}: ${count} seeds stay safe and live, each restart recovering from the store`, async () => {
        const failures: string[] = [];
        let restarts = 0;
        for (let seed = 1; seed <= count && failures.length === 0; seed++) {
          const outcome = await runOverStorage(factory, planFor(seed, { mix, ticks }));
          if (typeof outcome === 'string') failures.push(`over ${name}: ${outcome}`);
          else restarts += outcome;
        }
        expect(failures.join('\n\n')).toBe('');
        // The point is recovery: the crashes must have happened.
        expect(restarts).toBeGreaterThan(count);
      });
    }
  });
}

/** Runs one seed; returns how many restarts read their state back, or the printed failure. */
async function runOverStorage(
  factory: StorageFactory,
  plan: ReturnType<typeof planFor>,
): Promise<number | string> {
  const root = await mkdtemp(join(tmpdir(), 'raftkit-sim-'));
  const disks: StorageDisk[] = [];
  const simulation = new Simulation({
    seed: plan.seed,
    nodes: plan.nodes,
    mix: plan.mix,
    traceLimit: 200,
    disk: (id: NodeId, initial) => {
      const identity = { clusterId: `sim-${plan.seed}`, nodeId: id };
      const disk = new StorageDisk(() => factory.open(join(root, id), identity), initial);
      disks.push(disk);
      return disk;
    },
  });
  try {
    await simulation.run(plan.ticks);
    await simulation.check();
    // Each crash bumps a node's incarnation, and check() restarted every crashed node.
    return simulation.nodes.reduce((sum, node) => sum + node.incarnation, 0);
  } catch (error) {
    if (error instanceof SimulationFailure) return describeFailure(plan, error, 60);
    throw error;
  } finally {
    for (const disk of disks) await disk.close();
    await rm(root, { recursive: true, force: true });
  }
}
