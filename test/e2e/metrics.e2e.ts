import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { agreedLeader, eventually, processScope, put, startCluster } from '../support/harness.ts';

const PROMTOOL = '/usr/bin/promtool';

/** promtool's verdict on one scrape: its exit code and whatever it printed (warnings included). */
function promtool(text: string): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

/**
 * `/metrics` of real Node, Bun and Deno processes in one cluster, checked by Prometheus' own
 * linter (Debian's `prometheus` package; .ci/run installs it): no errors and no warnings on any
 * node, leader or follower, with traffic on every subsystem.
 */
// Skipped on a machine without promtool, but never in CI, where .ci/run installs it.
describe.skipIf(!existsSync(PROMTOOL) && process.env.CI !== 'true')('/metrics of a running cluster', () => {
  const scope = processScope();
  afterAll(() => scope.cleanup());

  it('passes promtool check metrics on every runtime, with the leader’s per-peer view', async () => {
    const nodes = await startCluster(scope, { name: 'metrics', runtimes: ['node', 'bun', 'deno'] });
    const leader = await agreedLeader(nodes);
    for (const node of nodes) await put(node, `k-${node.spec.id}`, 'v');
    const scrape = async (url: string) => {
      const response = await fetch(`${url}/metrics`);
      expect(response.headers.get('content-type')).toContain('text/plain');
      return response.text();
    };
    for (const node of nodes) {
      const text = await scrape(node.url);
      expect(promtool(text), `${node.spec.id} (${node.spec.runtime})`).toEqual({ status: 0, output: '' });
      expect(text).toContain(`runtime="${node.spec.runtime}"`);
      expect(text).toMatch(/^raftkit_transport_messages_sent_total [1-9]/m);
      // Peers of every runtime read message streams from one another's servers.
      expect(text).toMatch(/^raftkit_transport_streams_opened_total [1-9]/m);
      expect(text).toMatch(/^raftkit_transport_streams_served_total [1-9]/m);
      expect(text).toMatch(/^raftkit_transport_requests_rejected_total\{reason="replay"\} 0$/m);
      expect(text).toMatch(/^process_cpu_seconds_total \d/m);
      expect(text).toMatch(/^process_open_fds [1-9]/m);
    }
    const followers = nodes.filter((node) => node !== leader).map((node) => node.spec.id);
    const text = await eventually('the leader to report both followers caught up', async () => {
      const t = await scrape(leader.url);
      return followers.every((id) =>
        new RegExp(`^raftkit_raft_peer_lag_entries\\{peer="${id}"\\} 0$`, 'm').test(t),
      )
        ? t
        : undefined;
    });
    for (const id of followers) {
      expect(text).toMatch(new RegExp(`^raftkit_raft_peer_last_contact_seconds\\{peer="${id}"\\} \\d`, 'm'));
      expect(text).toMatch(new RegExp(`^raftkit_raft_peer_match_index\\{peer="${id}"\\} [1-9]`, 'm'));
    }
    expect(text).not.toMatch(new RegExp(`peer="${leader.spec.id}"`));
  });
});
