import { afterAll, describe, expect, it } from 'vitest';
import {
  agreedLeader,
  eventually,
  get,
  processScope,
  put,
  type ServerProcess,
  startCluster,
  status,
} from '../support/harness.ts';

const MAX_BODY_BYTES = 1280 * 1024;

/** Reads one counter from a node's Prometheus text. */
async function counter(node: ServerProcess, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`${node.spec.id} exposes no ${name}`);
  return Number(line.slice(name.length + 1));
}

/**
 * A follower that missed everything up to far past the compaction point catches up through a
 * streamed snapshot several times larger than the peer transport's message size limit.
 */
describe('snapshot catch-up', () => {
  const scope = processScope();
  afterAll(() => scope.cleanup());

  it('streams a snapshot larger than the message limit to a follower far behind', async () => {
    const nodes = await startCluster(scope, {
      name: 'snap',
      runtimes: ['node', 'node', 'node'],
      args: ['--snapshot-every', '50', '--max-body-bytes', String(MAX_BODY_BYTES)],
    });
    const leader = await agreedLeader(nodes);
    const behind = nodes.find((node) => node !== leader)!;
    await behind.kill('SIGKILL');
    const behindIndex = (await status(leader)).commitIndex;

    // 400 values of 8 KiB: about 3.2 MiB of state, more than twice the message limit.
    const value = (i: number) => `${String(i).padStart(6, '0')}${'x'.repeat(8 * 1024 - 6)}`;
    for (let batch = 0; batch < 400; batch += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => put(leader, `big-${batch + j}`, value(batch + j))),
      );
    }
    const compacted = await eventually('the leader to compact past the stopped follower', async () => {
      const s = await status(leader);
      return s.snapshotIndex > behindIndex + 300 ? s : undefined;
    });

    await behind.start();
    await eventually(`${behind.spec.id} to catch up`, async () =>
      (await status(behind)).appliedIndex >= compacted.commitIndex ? true : undefined,
    );
    expect((await status(behind)).snapshotIndex).toBeGreaterThan(behindIndex);
    expect(await counter(behind, 'raftkit_transport_snapshots_received_total')).toBeGreaterThanOrEqual(1);
    expect(await counter(behind, 'raftkit_transport_snapshot_received_bytes_total')).toBeGreaterThan(
      2 * MAX_BODY_BYTES,
    );
    for (const i of [0, 199, 399]) expect(await get(behind, `big-${i}`, 'stale')).toBe(value(i));
  });
});
