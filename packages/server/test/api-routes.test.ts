import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/openapi.ts';
import { VERSION } from '../src/version.ts';
import { type SingleNode, startSingleNode } from './single-node.ts';

const TOKEN = 'client-token-for-tests';
const auth = { authorization: `Bearer ${TOKEN}` };
let s: SingleNode;
let backupDir: string;
beforeAll(async () => {
  backupDir = await mkdtemp(join(tmpdir(), 'raftkit-api-routes-'));
  // With backups, so the app serves every route it can and the OpenAPI checks cover them all.
  s = await startSingleNode({ clientToken: TOKEN }, { backupDir });
});
afterAll(async () => {
  await s.stop();
  await rm(backupDir, { recursive: true, force: true });
});

describe('client token', () => {
  it('leaves the probes, /metrics and the dashboard page open, as etcd and Consul do', async () => {
    for (const path of ['/health', '/ready', '/metrics', '/ui', '/ui/dashboard.js', '/ui/chart.js']) {
      expect((await s.app.request(path)).status, path).toBe(200);
    }
  });

  it('guards the API, comparing the whole token', async () => {
    for (const path of ['/v1/status', '/v1/stats', '/v1/cluster', '/v1/kv/a', '/v1/kv', '/openapi.json']) {
      for (const authorization of [
        undefined,
        'Bearer ',
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        TOKEN,
      ]) {
        const response = await s.app.request(
          path,
          authorization === undefined ? {} : { headers: { authorization } },
        );
        expect(response.status, `${path} with ${authorization}`).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    expect((await s.app.request('/v1/status', { headers: auth })).status).toBe(200);
  });
});

describe('status, readiness and metrics', () => {
  it('reports the node, its leader and its members', async () => {
    const status = (await (await s.app.request('/v1/status', { headers: auth })).json()) as Record<
      string,
      unknown
    >;
    expect(status).toMatchObject({ id: 'n1', role: 'leader', leader: 'n1' });
    expect(status.members).toEqual([
      {
        id: 'n1',
        url: 'http://127.0.0.1:1',
        role: 'voter',
        matchIndex: expect.any(Number),
        lag: null,
        lastContactMs: null,
      },
    ]);
    expect(status.appliedIndex).toBe(status.commitIndex);
  });

  it('is ready with a leader and everything applied', async () => {
    expect((await s.app.request('/ready')).status).toBe(200);
  });

  it('exposes Prometheus text: Raft state, driver counters, build info, HTTP and process figures', async () => {
    await s.app.request('/v1/kv/m', { method: 'PUT', body: 'x', headers: auth });
    await s.app.request('/v1/kv/m', { method: 'PUT', body: 'x' });
    const response = await s.app.request('/metrics');
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(text).toContain('raftkit_raft_role{role="leader"} 1');
    expect(text).toMatch(/^raftkit_raft_term [1-9]/m);
    expect(text).toMatch(/^raftkit_raft_leader_changes_total 1$/m);
    expect(text).toMatch(/^raftkit_raft_proposals_total [1-9]/m);
    expect(text).toMatch(/^raftkit_storage_fsync_duration_seconds_bucket\{le="\+Inf"\} [1-9]/m);
    expect(text).toContain('raftkit_raft_apply_duration_seconds_count');
    expect(text).toMatch(
      /^raftkit_build_info\{version="0\.1\.0",runtime="(node|bun|deno)",runtime_version="[^"]+"\} 1$/m,
    );
    expect(text).toMatch(
      /^raftkit_http_requests_total\{method="PUT",route="\/v1\/kv\/:key",code="200"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^raftkit_http_requests_total\{method="PUT",route="\/v1\/kv\/:key",code="401"\} 1$/m,
    );
    expect(text).toMatch(
      /^raftkit_http_request_duration_seconds_count\{method="PUT",route="\/v1\/kv\/:key",code="200"\} [1-9]/m,
    );
    expect(text).toMatch(/^process_resident_memory_bytes [1-9]/m);
    expect(text).toMatch(/^process_start_time_seconds [1-9]/m);
    // Every family is described, and no sample lacks its family's TYPE line.
    const families = [...text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram)$/gm)].map((m) => m[1]!);
    expect(families.length).toBeGreaterThan(30);
    for (const family of families) expect(text).toMatch(new RegExp(`^# HELP ${family} \\S`, 'm'));
    for (const [, name] of text.matchAll(/^([a-z_]+)[{ ]/gm)) {
      expect(
        families.some(
          (f) => name === f || name === `${f}_bucket` || name === `${f}_sum` || name === `${f}_count`,
        ),
        name,
      ).toBe(true);
    }
  });

  it('labels requests no route matched as one series, not by path', async () => {
    await s.app.request('/no/such/path/1', { headers: auth });
    await s.app.request('/no/such/path/2', { headers: auth });
    const text = await (await s.app.request('/metrics')).text();
    expect(text).toMatch(/^raftkit_http_requests_total\{method="GET",route="unmatched",code="404"\} 2$/m);
    expect(text).not.toContain('/no/such');
  });
});

describe('membership routes', () => {
  it('refuses bad member input with 400 and unknown members with 404', async () => {
    const post = (body: unknown) =>
      s.app.request('/v1/members', { method: 'POST', headers: auth, body: JSON.stringify(body) });
    expect((await post({ id: 'bad id', url: 'http://x' })).status).toBe(400);
    expect((await post({ id: 'n9', url: 'ftp://x' })).status).toBe(400);
    expect((await post({ id: 'n9', url: 'http://x', role: 'boss' })).status).toBe(400);
    expect((await s.app.request('/v1/members/zz', { method: 'DELETE', headers: auth })).status).toBe(404);
    expect((await s.app.request('/v1/members/zz/promote', { method: 'POST', headers: auth })).status).toBe(
      404,
    );
    const transfer = await s.app.request('/v1/leader/transfer', {
      method: 'POST',
      headers: auth,
      body: '{"to":"zz"}',
    });
    expect(transfer.status).toBe(404);
    expect(s.node.status().members.map((m) => m.id)).toEqual(['n1']);
  });

  it('adds a learner and removes it again through Raft', async () => {
    const added = await s.app.request('/v1/members', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ id: 'l1', url: 'http://127.0.0.1:2', role: 'learner' }),
    });
    expect(added.status).toBe(200);
    expect(await added.json()).toMatchObject({
      members: expect.arrayContaining([expect.objectContaining({ id: 'l1', role: 'learner' })]),
    });
    const removed = await s.app.request('/v1/members/l1', { method: 'DELETE', headers: auth });
    expect(removed.status).toBe(200);
    expect(s.node.status().members.map((m) => m.id)).toEqual(['n1']);
  });
});

describe('OpenAPI description', () => {
  const toOpenApi = (path: string) => path.replace(/:([A-Za-z]+)/g, '{$1}');
  const documented = Object.entries(openApiDocument.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((method) => method !== 'parameters')
      .map((method) => ({
        path,
        method,
        statuses: Object.keys((item as Record<string, { responses: object }>)[method]!.responses),
      })),
  );

  it('documents every client route the app serves', () => {
    const served = s.app.routes
      .filter(
        (route) =>
          route.method !== 'ALL' &&
          !route.path.startsWith('/internal/') &&
          !route.path.startsWith('/raft/') &&
          // The dashboard's scripts: assets of the documented page, not API.
          !route.path.startsWith('/ui/'),
      )
      .map((route) => `${route.method.toLowerCase()} ${toOpenApi(route.path)}`);
    expect(new Set(served)).toEqual(new Set(documented.map(({ method, path }) => `${method} ${path}`)));
  });

  it('names every operation uniquely and carries the package version and license', () => {
    const operations = Object.values(openApiDocument.paths).flatMap((item) =>
      Object.values(item as Record<string, { operationId?: string }>).filter(
        (op) => typeof op === 'object' && 'responses' in op,
      ),
    );
    const ids = operations.map((op) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(openApiDocument.info).toMatchObject({ version: VERSION, license: { name: 'MIT' } });
  });

  it('is served, and every documented operation answers with a documented status', async () => {
    const served = await (await s.app.request('/openapi.json', { headers: auth })).json();
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    const bodies: Record<string, string> = {
      'post /v1/kv/{key}/cas': '{"expected":null,"value":"v"}',
      'post /v1/members': '{"id":"zz-learner","url":"http://127.0.0.1:3","role":"learner"}',
      'post /v1/leader/transfer': '{"to":"n1"}',
    };
    for (const { path, method, statuses } of documented) {
      const url = path.replace('{key}', 'doc-key').replace('{id}', 'n1');
      const init: RequestInit = { method: method.toUpperCase(), headers: auth };
      if (method === 'put') init.body = 'v';
      if (bodies[`${method} ${path}`] !== undefined) init.body = bodies[`${method} ${path}`]!;
      const response = await s.app.request(url, init);
      expect(statuses, `${method} ${path} answered ${response.status}`).toContain(String(response.status));
    }
  });
});

describe('errors', () => {
  it('answers unknown routes with the JSON error shape', async () => {
    const response = await s.app.request('/v2/nothing', { headers: auth });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'NotFound', message: 'no such route' } });
  });
});
