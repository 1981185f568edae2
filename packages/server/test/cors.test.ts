import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SingleNode, startSingleNode } from './single-node.ts';

const ORIGIN = 'https://app.example';
let s: SingleNode;
beforeAll(async () => {
  s = await startSingleNode({ clientToken: 'client-token-for-tests', corsOrigins: [ORIGIN] });
});
afterAll(() => s.stop());

describe('CORS for browser clients', () => {
  it('answers a preflight from an allowed origin without credentials, naming the session headers', async () => {
    const preflight = await s.app.request('/v1/kv/k', {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization, raftkit-session',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/raftkit-session/);
  });

  it('lets an allowed origin read the answer, and no other origin', async () => {
    const allowed = await s.app.request('/v1/status', {
      headers: { origin: ORIGIN, authorization: 'Bearer client-token-for-tests' },
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowed.headers.get('access-control-expose-headers')).toMatch(/raftkit-duplicate/);
    const other = await s.app.request('/v1/status', {
      headers: { origin: 'https://evil.example', authorization: 'Bearer client-token-for-tests' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // Credentials are still required for the request itself.
    expect((await s.app.request('/v1/status', { headers: { origin: ORIGIN } })).status).toBe(401);
  });
});
