import { checkLinearizable, type KvOp, type KvResult, kvRecorder } from '@raftkit/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { agreedLeader, processScope, type ServerProcess, startCluster } from '../support/harness.ts';

/** mulberry32: a seeded source, so a failing run can repeat its operations from the seed it prints. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs one operation against `node`; any answer that does not settle the outcome is `unknown`. */
async function perform(node: ServerProcess, op: KvOp): Promise<KvResult> {
  const path = `${node.url}/v1/kv/${op.key}`;
  try {
    switch (op.kind) {
      case 'get': {
        const response = await fetch(path, { signal: AbortSignal.timeout(5000) });
        if (response.status === 404) return { kind: 'value', value: null };
        return response.ok ? { kind: 'value', value: await response.text() } : { kind: 'unknown' };
      }
      case 'put': {
        const response = await fetch(path, {
          method: 'PUT',
          body: op.value,
          signal: AbortSignal.timeout(5000),
        });
        return response.ok ? { kind: 'ok' } : { kind: 'unknown' };
      }
      case 'cas': {
        const response = await fetch(`${path}/cas`, {
          method: 'POST',
          body: JSON.stringify({ expected: op.expected, value: op.value }),
          signal: AbortSignal.timeout(5000),
        });
        if (response.status === 409)
          return {
            kind: 'casFailed',
            current: ((await response.json()) as { current: string | null }).current,
          };
        return response.ok ? { kind: 'ok' } : { kind: 'unknown' };
      }
      case 'delete': {
        const response = await fetch(path, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
        return response.ok ? { kind: 'ok' } : { kind: 'unknown' };
      }
    }
  } catch {
    // Refused, reset or timed out: the request may have reached the cluster.
    return { kind: 'unknown' };
  }
}

/**
 * Concurrent clients on every node of a Node + Bun + Deno cluster put, read and compare-and-swap
 * a few keys while the leader is killed with SIGKILL and later restarted; the recorded history
 * must be linearizable (testkit's checker), reads included.
 */
describe('linearizability under a leader crash', () => {
  const scope = processScope();
  afterAll(() => scope.cleanup());

  it('keeps every history linearizable across the crash and the restart', async () => {
    const seed = Number(process.env.E2E_SEED ?? Date.now() % 1_000_000);
    console.log(
      `linearizability e2e: operations drawn from seed ${seed} (E2E_SEED=${seed} repeats them; timing still varies)`,
    );
    const nodes = await startCluster(scope, { name: 'lin', runtimes: ['node', 'bun', 'deno'] });
    const leader = await agreedLeader(nodes);

    const recorder = kvRecorder(() => performance.now());
    const keys = ['x', 'y', 'z'];
    let running = true;
    const client = async (clientId: number, node: ServerProcess) => {
      const random = seeded(seed * 31 + clientId);
      let written = 0;
      while (running) {
        const key = keys[Math.floor(random() * keys.length)]!;
        const roll = random();
        const value = `c${clientId}-${written++}`;
        const op: KvOp =
          roll < 0.4
            ? { kind: 'get', key }
            : roll < 0.75
              ? { kind: 'put', key, value }
              : {
                  kind: 'cas',
                  key,
                  expected:
                    random() < 0.3 ? null : `c${Math.floor(random() * 6)}-${Math.floor(random() * written)}`,
                  value,
                };
        const handle = recorder.invoke(clientId, op);
        const result = await perform(node, op);
        if (result.kind === 'unknown') {
          recorder.unknown(handle);
          await new Promise((resolve) => setTimeout(resolve, 50));
        } else {
          recorder.respond(handle, result);
        }
      }
    };
    const clients = nodes.flatMap((node, i) => [client(2 * i, node), client(2 * i + 1, node)]);

    await new Promise((resolve) => setTimeout(resolve, 2000));
    await leader.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await leader.start();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    running = false;
    await Promise.all(clients);

    const history = recorder.events();
    const settled = history.filter((event) => event.result.kind !== 'unknown');
    expect(settled.filter((event) => event.op.kind !== 'get').length).toBeGreaterThan(20);
    expect(settled.filter((event) => event.op.kind === 'get').length).toBeGreaterThan(20);
    const verdict = checkLinearizable(history, { timeoutMs: 60_000 });
    expect(verdict.ok ? 'linearizable' : `seed ${seed}: ${verdict.reason}`).toBe('linearizable');
  });
});
