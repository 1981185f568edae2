#!/usr/bin/env node
import process from 'node:process';
import { listenNode, nodePeerFetch } from '@raftkit/cli';
import { type Listen, processIo, runCli } from '@raftkit/server';

/**
 * The real server with one deliberate bug, to prove the fault suite catches it. Test-only: run
 * as `node test/dist/fault/broken-server.js <breakage> [serve flags]`. The bug sits in front of
 * the unchanged app, so the server's sources stay as they ship:
 * - local-linearizable-reads: a read asking for `linearizable` or `lease` is served from the
 *   local state machine at once, as `stale` is, while the client still believes it linearizable.
 * - early-write-ack: a PUT is acknowledged as soon as it arrives, before any quorum (or even the
 *   leader) has it; the real write carries on in the background and may fail.
 */
const [breakage, ...flags] = process.argv.slice(2);

const broken: Record<
  string,
  (
    request: Request,
    fetch: (request: Request) => Response | Promise<Response>,
  ) => Response | Promise<Response>
> = {
  'local-linearizable-reads': (request, fetch) => {
    const url = new URL(request.url);
    const mode = url.searchParams.get('consistency') ?? 'linearizable';
    if (request.method !== 'GET' || !url.pathname.startsWith('/v1/kv/') || mode === 'stale')
      return fetch(request);
    url.searchParams.set('consistency', 'stale');
    return fetch(new Request(url, request));
  },
  'early-write-ack': (request, fetch) => {
    if (request.method !== 'PUT' || !new URL(request.url).pathname.startsWith('/v1/kv/'))
      return fetch(request);
    void Promise.resolve(fetch(request)).catch(() => {});
    return Response.json({ index: 0 });
  },
};

const wrap = broken[breakage ?? ''];
if (wrap === undefined) {
  process.stderr.write(`usage: broken-server.js ${Object.keys(broken).join('|')} [serve flags]\n`);
  process.exit(2);
}
const listen: Listen = (options) =>
  listenNode({ ...options, fetch: (request) => wrap(request, options.fetch) });
process.exit(await runCli(['serve', ...flags], { listen, peerFetch: nodePeerFetch() }, processIo));
