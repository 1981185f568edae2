import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agreedLeader,
  eventually,
  get,
  processScope,
  put,
  SECRET,
  type ServerProcess,
  type Status,
  startCluster,
  status,
} from '../support/harness.ts';

const MAX_BODY_BYTES = 1280 * 1024;
const MESSAGES = '/raft/v1/messages';

/**
 * Signs a peer request the way @raftkit/transport-http does (HMAC-SHA256 of the cluster secret
 * over the wire version, route, sender, timestamp, nonce and body), written out here from its
 * README/auth.ts so the test does not trust the code under test to sign.
 */
function signedHeaders(body: Uint8Array, secret = SECRET, from = 'n9'): Record<string, string> {
  const timestamp = String(Date.now());
  const nonce = randomBytes(8).toString('hex');
  const mac = createHmac('sha256', secret)
    .update(`raftkit/1\nmessages\n${from}\n${timestamp}\n${nonce}\n`)
    .update(body)
    .digest('hex');
  return {
    'content-type': 'application/cbor',
    'x-raftkit-from': from,
    'x-raftkit-timestamp': timestamp,
    'x-raftkit-nonce': nonce,
    'x-raftkit-mac': mac,
  };
}

/** Peer requests that are unauthenticated, replayed, malformed or oversized are refused and change nothing. */
describe('peer endpoint security', () => {
  const scope = processScope();
  let nodes: ServerProcess[];
  let target: ServerProcess;
  let before: Status[];
  beforeAll(async () => {
    nodes = await startCluster(scope, {
      name: 'sec',
      runtimes: ['node', 'node', 'node'],
      // The default tick (100 ms): a term change below must come from the attack, not from a
      // starved election timer on a loaded machine.
      args: ['--max-body-bytes', String(MAX_BODY_BYTES), '--tick-ms', '100'],
    });
    const leader = await agreedLeader(nodes);
    await put(leader, 'k', 'v');
    target = nodes.find((node) => node !== leader)!;
    // Followers learn the commit index with the next heartbeat: wait until every node has it.
    const { commitIndex } = await status(leader);
    before = await eventually('every node to apply the write', async () => {
      const views = await Promise.all(nodes.map((node) => status(node)));
      return views.every((view) => view.appliedIndex === commitIndex) ? views : undefined;
    });
  });
  afterAll(() => scope.cleanup());

  const post = (headers: Record<string, string>, body: Uint8Array) =>
    fetch(`${target.url}${MESSAGES}`, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer> });
  const garbage = Uint8Array.from([0xff, 0xfe, 0x00, 0x13]);

  it('refuses a request without a MAC, with a wrong one, or signed with another secret', async () => {
    expect((await post({ 'content-type': 'application/cbor' }, garbage)).status).toBe(401);
    const wrong = { ...signedHeaders(garbage), 'x-raftkit-mac': 'ab'.repeat(32) };
    expect((await post(wrong, garbage)).status).toBe(401);
    expect((await post(signedHeaders(garbage, 'not-the-cluster-secret-000'), garbage)).status).toBe(401);
  });

  it('refuses a malformed CBOR body with a valid MAC, and then its replay', async () => {
    const headers = signedHeaders(garbage);
    expect((await post(headers, garbage)).status).toBe(400);
    expect((await post(headers, garbage)).status).toBe(401);
  });

  it('refuses an oversized body', async () => {
    const big = new Uint8Array(MAX_BODY_BYTES + 1);
    expect((await post(signedHeaders(big), big)).status).toBe(413);
  });

  it('left the cluster as it was, and working', async () => {
    const after = await Promise.all(nodes.map((node) => status(node)));
    for (const [i, view] of after.entries()) {
      expect(view.term, `term of ${view.id}`).toBe(before[i]!.term);
      expect(view.leader).toBe(before[i]!.leader);
      expect(view.commitIndex, `commit index of ${view.id}`).toBe(before[i]!.commitIndex);
      const shape = (s: Status) => s.members.map(({ id, url, role }) => ({ id, url, role }));
      expect(shape(view)).toEqual(shape(before[i]!));
    }
    const metrics = await (await fetch(`${target.url}/metrics`)).text();
    for (const reason of ['unauthenticated', 'replay', 'malformed', 'too_large']) {
      expect(metrics).toMatch(
        new RegExp(`^raftkit_transport_requests_rejected_total\\{reason="${reason}"\\} [1-9]`, 'm'),
      );
    }
    expect(await get(target, 'k')).toBe('v');
    await put(target, 'k', 'still-writable');
    expect(await get(target, 'k')).toBe('still-writable');
  });
});
