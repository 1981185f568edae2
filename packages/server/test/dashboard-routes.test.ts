import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterView } from '../src/routes/cluster-view.ts';
import type { NodeStats } from '../src/stats.ts';
import { type SingleNode, startSingleNode } from './single-node.ts';

const TOKEN = 'dashboard-token-for-tests';
const auth = { authorization: `Bearer ${TOKEN}` };
let s: SingleNode;
beforeAll(async () => {
  s = await startSingleNode({ clientToken: TOKEN });
});
afterAll(() => s.stop());

describe('/ui', () => {
  it('serves the page and its two modules, with a policy that runs only our own script', async () => {
    const page = await s.app.request('/ui');
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/ui/dashboard.js"></script>');
    expect(html).not.toMatch(/<script>|<script(?![^>]*src=)[^>]*>/);
    for (const path of ['/ui/dashboard.js', '/ui/chart.js']) {
      const script = await s.app.request(path);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await script.text()).toMatch(/^(import|export) /m);
    }
    expect(await (await s.app.request('/ui/dashboard.js')).text()).toContain("'/v1/cluster'");
  });
});

describe('/v1/stats and /v1/cluster', () => {
  it('counts successful client writes and the leader changes seen', async () => {
    const before = (await (await s.app.request('/v1/stats', { headers: auth })).json()) as NodeStats;
    await s.app.request('/v1/kv/w', { method: 'PUT', body: 'v', headers: auth });
    await s.app.request('/v1/kv/w', { method: 'DELETE', headers: auth });
    await s.app.request('/v1/kv/w/cas', {
      method: 'POST',
      body: '{"expected":null,"value":"x"}',
      headers: auth,
    });
    await s.app.request('/v1/kv/w', { method: 'PUT', body: 'v' }); // 401: not a write that happened
    await s.app.request('/v1/kv/w', { headers: auth }); // a read
    const after = (await (await s.app.request('/v1/stats', { headers: auth })).json()) as NodeStats;
    expect(after.writes.count - before.writes.count).toBe(3);
    expect(after.writes.seconds).toBeGreaterThan(before.writes.seconds);
    expect(after.status).toMatchObject({ id: 'n1', role: 'leader' });
    expect(after.leaderChanges.total).toBe(1);
    expect(after.leaderChanges.recent).toEqual([
      { at: expect.any(Number), leader: 'n1', term: after.status.term },
    ]);
  });

  it('reports every member: this node from itself, an unreachable one as such', async () => {
    await s.app.request('/v1/members', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ id: 'gone', url: 'http://127.0.0.1:9', role: 'learner' }),
    });
    try {
      const view = (await (await s.app.request('/v1/cluster', { headers: auth })).json()) as ClusterView;
      expect(view).toMatchObject({ via: 'n1', leader: 'n1' });
      const [self, gone] = view.members;
      expect(self).toMatchObject({ id: 'n1', role: 'voter', health: 'ok', error: null, lag: null });
      expect(self?.stats?.status.id).toBe('n1');
      expect(gone).toMatchObject({ id: 'gone', role: 'learner', health: 'unreachable', stats: null });
      expect(gone?.error).toEqual(expect.any(String));
      expect(gone?.lag).toBeGreaterThan(0);
    } finally {
      await s.app.request('/v1/members/gone', { method: 'DELETE', headers: auth });
    }
  });
});
