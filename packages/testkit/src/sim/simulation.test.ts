import type { Entry } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/memory-storage.ts';
import { StorageDisk } from './disk.ts';
import { SimulationFailure } from './failure.ts';
import { mixes } from './mixes.ts';
import { Simulation } from './simulation.ts';
import type { SimStateMachine } from './state-machine.ts';

async function fullTrace(seed: number): Promise<string> {
  const simulation = new Simulation({ seed, nodes: 5, mix: 'chaos', traceLimit: Number.POSITIVE_INFINITY });
  await simulation.run(300);
  await simulation.check();
  return simulation.trace().join('\n');
}

/** An append-only list of applied commands: a user's own state machine. */
class ListMachine implements SimStateMachine {
  items: string[] = [];
  apply(entry: Entry): void {
    if (entry.data.length > 0) this.items.push(new TextDecoder().decode(entry.data));
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = JSON.parse(new TextDecoder().decode(data)) as string[];
  }
}

describe('Simulation', () => {
  it('replays a seed to the same trace, byte for byte', async () => {
    const first = await fullTrace(42);
    const again = await fullTrace(42);
    expect(first.split('\n').length).toBeGreaterThan(1000);
    expect(again).toBe(first);
    expect(await fullTrace(43)).not.toBe(first);
  });

  it('elects a leader and serves writes and linearizable reads through faults', async () => {
    const simulation = new Simulation({ seed: 7, nodes: 3, mix: 'reads' });
    await simulation.run(400);
    const report = await simulation.check();
    expect(report.electedAfter).toBeLessThanOrEqual(report.bounds.election);
    for (const latency of report.commitLatencies) expect(latency).toBeLessThanOrEqual(report.bounds.commit);
    const done = simulation.history.filter((op) => op.outcome === 'ok');
    expect(done.some((op) => op.kind === 'write')).toBe(true);
    const reads = done.filter((op) => op.kind === 'read');
    expect(reads.length).toBeGreaterThan(0);
    // A read returns the value of a write (values name their operation) or nothing.
    const written = new Set(simulation.history.map((op) => op.value));
    for (const read of reads) expect(read.result === undefined || written.has(read.result)).toBe(true);
    for (const op of simulation.history) {
      if (op.completedAt !== null) expect(op.completedAt).toBeGreaterThanOrEqual(op.invokedAt);
    }
  });

  it('restarts crashed nodes from their disk and keeps every node consistent', async () => {
    const simulation = new Simulation({
      seed: 11,
      nodes: 5,
      mix: 'snapshots',
      traceLimit: Number.POSITIVE_INFINITY,
    });
    await simulation.run(600);
    await simulation.check();
    const trace = simulation.trace();
    expect(trace.some((line) => line.includes('CRASH'))).toBe(true);
    expect(trace.some((line) => line.includes('restore snapshot'))).toBe(true);
    expect(trace.some((line) => line.includes('take snapshot'))).toBe(true);
  });

  it("runs a user's state machine and checks its snapshots agree", async () => {
    const machines: ListMachine[] = [];
    const simulation = new Simulation({
      seed: 3,
      nodes: 3,
      mix: 'snapshots',
      stateMachine: () => {
        const machine = new ListMachine();
        machines.push(machine);
        return machine;
      },
    });
    await simulation.run(300);
    await simulation.check();
    expect(Math.max(...machines.map((m) => m.items.length))).toBeGreaterThan(10);
  });

  it('catches a state machine whose snapshot depends on the node, and names the seed', async () => {
    let nodesBuilt = 0;
    const simulation = new Simulation({
      seed: 5,
      nodes: 3,
      mix: 'snapshots',
      stateMachine: () => {
        const machine = new ListMachine();
        const node = nodesBuilt++ % 3;
        machine.snapshot = () => new TextEncoder().encode(JSON.stringify([node, ...machine.items]));
        return machine;
      },
    });
    const failure = await simulation.run(400).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(SimulationFailure);
    const { kind, seed, message, trace } = failure as SimulationFailure;
    expect({ kind, seed }).toEqual({ kind: 'SnapshotMismatch', seed: 5 });
    expect(message).toContain('seed 5');
    expect(trace.length).toBeGreaterThan(10);
    await expect(simulation.run(1)).rejects.toBe(failure);
  });

  it('runs over a real Storage, reopened after every crash', async () => {
    const factory = MemoryStorage.factory();
    const simulation = new Simulation({
      seed: 21,
      nodes: 3,
      mix: { ...mixes.crashes, snapshotEvery: 6, crash: 0.02 },
      disk: (id, initial) =>
        new StorageDisk(() => factory.open(`dir-${id}`, { clusterId: 'sim', nodeId: id }), initial),
      traceLimit: Number.POSITIVE_INFINITY,
    });
    await simulation.run(400);
    await simulation.check();
    const trace = simulation.trace();
    expect(trace.filter((line) => line.includes('RESTART')).length).toBeGreaterThan(2);
  });

  it('refuses a cluster of no nodes and an unknown mix', () => {
    expect(() => new Simulation({ seed: 1, nodes: 0 })).toThrow(RangeError);
    expect(() => new Simulation({ seed: 1, mix: 'nope' as 'calm' })).toThrow(/unknown fault mix 'nope'/);
  });
});
