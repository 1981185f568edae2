import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.ts';
import { isRaftNodeError } from '../src/errors.ts';
import { TestCluster, text } from './support/cluster.ts';
import type { ManualClock } from './support/manual-clock.ts';

/** One node's view of the shared clock that can be paused, as SIGSTOP pauses a process: time goes on, its timers do not fire. */
class PausableClock implements Clock {
  paused = false;
  constructor(private readonly clock: ManualClock) {}
  now(): number {
    return this.clock.now();
  }
  every(ms: number, fn: () => void): () => void {
    return this.clock.every(ms, () => {
      if (!this.paused) fn();
    });
  }
}

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

describe('a leader paused past its lease', () => {
  // Found by the fault suite (seed 5): the lease was counted in the core's ticks, and a process
  // stopped with SIGSTOP does not tick. Back from the pause, the old leader still believed in its
  // lease and served lease reads missing writes the new leader had acknowledged.
  it('does not serve a lease read from the lease it held before the pause', async () => {
    const clocks = new Map<string, PausableClock>();
    cluster = new TestCluster(['a', 'b', 'c']);
    for (const id of ['a', 'b', 'c']) {
      const clock = new PausableClock(cluster.clock);
      clocks.set(id, clock);
      await cluster.start(id, { clock });
    }
    await cluster.until(() => cluster!.leader() !== null, 'a leader');
    const old = cluster.leader()!;
    await cluster.settle(old.propose(text('before')));
    await cluster.settle(old.read('lease'));

    // The leader stops: no ticks, no messages in or out, while the others elect and write.
    clocks.get(old.id)!.paused = true;
    cluster.network.isolate(old.id, ['a', 'b', 'c'].filter((id) => id !== old.id) as never);
    await cluster.until(
      () => [...cluster!.nodes.values()].some((n) => n !== old && n.status().role === 'leader'),
      'a new leader',
    );
    const fresh = [...cluster.nodes.values()].find((n) => n !== old && n.status().role === 'leader')!;
    await cluster.settle(fresh.propose(text('after')));

    // Back from the pause: the first thing it does is take a lease read, before any timer fires.
    clocks.get(old.id)!.paused = false;
    expect(old.readNow('lease')).toBe(false);
    const outcome = await cluster.settle(
      old.read('lease').then(
        () => `served, state ${cluster!.machine(old.id).items.join(',')}`,
        (error: unknown) => (isRaftNodeError(error) ? `refused ${error.code}` : String(error)),
      ),
    );
    expect(outcome).toMatch(/^refused (NotLeader|ReadUnavailable)$/);
  });
});
