import { RaftkitClient } from '@raftkit/client';
import { afterAll, describe, expect, it } from 'vitest';
import { agreedLeader, processScope, startCluster } from '../support/harness.ts';

/**
 * Issue 13: writes retried after a timeout or a leader change are applied at most once. Clients
 * increment counters by read-then-compare-and-swap in sessions while the leader is killed with
 * `kill -9` and restarted, again and again. A retried increment that applied twice would leave
 * a counter past the number of increments its client saw succeed, or make a later swap miss.
 */
describe('exactly-once writes under leader kills', () => {
  const scope = processScope();
  afterAll(() => scope.cleanup());

  it('counters incremented through sessions end exactly right', async () => {
    const nodes = await startCluster(scope, { name: 'once', runtimes: ['node', 'node', 'node'] });
    await agreedLeader(nodes);
    const endpoints = nodes.map((node) => node.url);
    const clients = 4;
    const increments = 25;
    let stop = false;
    const mismatches: string[] = [];
    // Besides the kills, every fourth write's answer is lost on its way back (the write was
    // applied): the client cannot tell that from a write that never arrived, and resends it.
    let writes = 0;
    let lost = 0;
    let duplicates = 0;
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (response.headers.get('raftkit-duplicate') === 'true') duplicates++;
      if (response.ok && init?.method === 'POST' && String(input).endsWith('/cas') && ++writes % 4 === 0) {
        lost++;
        throw new TypeError('connection reset before the answer arrived');
      }
      return response;
    };

    const worker = async (k: number) => {
      const client = new RaftkitClient({
        endpoints,
        timeoutMs: 2_000,
        retries: 30,
        backoffMs: 20,
        fetch: lossy,
      });
      const session = await client.session();
      const key = `counter-${k}`;
      for (let done = 0; done < increments; ) {
        const current = await client.getText(key);
        const next = String(Number(current ?? '0') + 1);
        const result = await session.cas(key, current, next);
        if (result.swapped) done++;
        else mismatches.push(`${key}: expected ${current}, found ${result.current}`);
      }
    };

    const nemesis = (async () => {
      for (let round = 0; round < 3 && !stop; round++) {
        await new Promise((resolve) => setTimeout(resolve, 700));
        const leader = await agreedLeader(nodes);
        await leader.kill('SIGKILL');
        await new Promise((resolve) => setTimeout(resolve, 300));
        await leader.start();
      }
    })();
    await Promise.all(Array.from({ length: clients }, (_, k) => worker(k)));
    stop = true;
    await nemesis;

    const client = new RaftkitClient({ endpoints });
    for (let k = 0; k < clients; k++) expect(await client.getText(`counter-${k}`)).toBe(String(increments));
    expect(mismatches).toEqual([]);
    // Every lost answer was of an applied write: its resend must have been answered as a repeat.
    expect(duplicates).toBeGreaterThanOrEqual(lost);
    expect(lost).toBeGreaterThan(0);
    console.log(
      `exactly-once: ${clients * increments} increments, ${lost} answers lost, ${duplicates} resends answered as repeats`,
    );
  });
});
