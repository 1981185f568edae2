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

  it('membership: learners join and are promoted, voters and leaders leave, joint changes commit, under faults', async () => {
    const lines: string[] = [];
    let applied = 0;
    let removedButRunning = 0;
    const refused = new Set<string>();
    for (let seed = 1; seed <= 6; seed++) {
      const simulation = new Simulation({
        seed,
        nodes: 3,
        mix: 'membership',
        traceLimit: Number.POSITIVE_INFINITY,
      });
      await simulation.run(600);
      const report = await simulation.check();
      // Nodes that held a log and are outside the final configuration were removed: they ran on
      // through the liveness check without stopping the final voters from electing and committing.
      const final = simulation.nodes.find((n) => n.id === report.leader)!.core.status().membership;
      const members = new Set([...final.voters, ...final.learners]);
      removedButRunning += simulation.nodes.filter(
        (n) => n.up && !members.has(n.id) && n.core.status().lastIndex > 0,
      ).length;
      lines.push(
        ...simulation.trace().filter((line) => line.includes('operator:') && !line.includes('refused')),
      );
      const { reconfiguration } = simulation.stats();
      applied += reconfiguration.applied;
      for (const code of Object.keys(reconfiguration.refused)) refused.add(code);
    }
    expect(lines.some((line) => /addLearner n[45] via/.test(line))).toBe(true);
    expect(lines.some((line) => /: addVoter n\d via/.test(line))).toBe(true);
    expect(lines.some((line) => /remove (n\d) via \1 /.test(line))).toBe(true);
    expect(lines.some((line) => /remove n\d, addVoter n\d via/.test(line))).toBe(true);
    expect(applied).toBeGreaterThan(10);
    expect(removedButRunning).toBeGreaterThan(0);
    expect([...refused]).toContain('ConfigChangeInProgress');
  });

  it('transfer: leadership moves, or the leader gives up, and proposals wait meanwhile', async () => {
    let completed = 0;
    let abandoned = 0;
    let proposalsRefused = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const simulation = new Simulation({ seed, nodes: 5, mix: 'transfer' });
      await simulation.run(600);
      await simulation.check();
      const { transfers } = simulation.stats();
      completed += transfers.completed;
      abandoned += transfers.abandoned;
      proposalsRefused += transfers.proposalsRefused;
    }
    expect(completed).toBeGreaterThan(0);
    expect(abandoned).toBeGreaterThan(0);
    expect(proposalsRefused).toBeGreaterThan(0);
  });

  it('linearizable: writes, cas and reads in every mode on every node make the checked history', async () => {
    const simulation = new Simulation({ seed: 2, nodes: 5, mix: 'linearizable' });
    await simulation.run(600);
    const report = await simulation.check();
    const ops = simulation.history.filter((op) => op.outcome === 'ok');
    const cas = ops.filter((op) => op.kind === 'cas');
    expect(cas.some((op) => op.casStored === true) && cas.some((op) => op.casStored === false)).toBe(true);
    for (const mode of ['quorum', 'lease', 'stale'] as const) {
      const reads = ops.filter((op) => op.mode === mode);
      // Served by the leader and by followers (which forward quorum and lease reads).
      expect(new Set(reads.map((op) => op.node)).size).toBeGreaterThan(2);
    }
    const unknown = simulation.history.filter((op) => op.outcome === 'unknown').length;
    const stale = ops.filter((op) => op.mode === 'stale').length;
    const failed = simulation.history.filter((op) => op.outcome === 'failed').length;
    const pendingReads = simulation.history.filter(
      (op) => op.outcome === 'pending' && op.kind === 'read',
    ).length;
    expect(unknown).toBeGreaterThan(0);
    // Stale reads, refusals and unanswered reads are left out; unknown writes stay in.
    expect(report.checkedOperations).toBe(simulation.history.length - stale - failed - pendingReads);
  });

  it('refuses a cluster of no nodes and an unknown mix', () => {
    expect(() => new Simulation({ seed: 1, nodes: 0 })).toThrow(RangeError);
    expect(() => new Simulation({ seed: 1, mix: 'nope' as 'calm' })).toThrow(/unknown fault mix 'nope'/);
  });
});
