import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium, noBrowser } from '../support/browser.ts';
import { agreedLeader, freePort, get, processScope, ROOT, startCluster } from '../support/harness.ts';

/** A web app on its own origin: one page, and `@raftkit/client`'s built modules served as they ship. */
function servePage(port: number, endpoints: readonly string[]): Promise<Server> {
  const page = `<!doctype html><meta charset="utf-8"><title>raftkit client</title>
<script type="module">
  import { RaftkitClient } from '/client/index.js';
  const client = new RaftkitClient({ endpoints: ${JSON.stringify(endpoints)} });
  try {
    await client.put('from-browser', 'hello from the page');
    const read = await client.getText('from-browser');
    const session = await client.session();
    const first = await session.cas('browser-counter', null, '1');
    const second = await session.cas('browser-counter', '1', '2');
    const status = await client.status();
    window.outcome = { read, first: first.swapped, second: second.swapped, leader: status.leader };
  } catch (error) {
    window.outcome = { error: String(error) };
  }
</script>`;
  const server = createServer(async (request, response) => {
    const path = request.url ?? '/';
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html' }).end(page);
      return;
    }
    const name = path.replace(/^\/client\//, '');
    if (!path.startsWith('/client/') || !/^[a-z-]+\.js$/.test(name)) {
      response.writeHead(404).end();
      return;
    }
    const body = await readFile(join(ROOT, 'packages/client/dist', name)).catch(() => null);
    if (body === null) response.writeHead(404).end();
    else response.writeHead(200, { 'content-type': 'text/javascript' }).end(body);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/**
 * Issue 13: a browser page uses `@raftkit/client` (its built ES modules, no bundler) against a
 * running cluster from another origin (the nodes allow it with --cors-origin), in Debian's
 * Chromium: writes, a linearizable read, a session's compare-and-swaps, the status.
 */
describe.skipIf(noBrowser)('@raftkit/client in a browser', () => {
  const scope = processScope();
  let browser: BrowserContext | undefined;
  let site: Server | undefined;
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (site === undefined ? resolve(null) : site.close(resolve)));
    await scope.cleanup();
  });

  it('reads and writes against a running cluster', async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const nodes = await startCluster(scope, {
      name: 'browser',
      runtimes: ['node', 'node', 'node'],
      args: ['--cors-origin', origin],
    });
    const leader = await agreedLeader(nodes);
    site = await servePage(
      port,
      nodes.map((node) => node.url),
    );
    browser = await launchChromium(await scope.tempDir('client-chromium'));
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(origin);
    await page.waitForFunction(() => (window as { outcome?: unknown }).outcome !== undefined, null, {
      timeout: 30_000,
    });
    const outcome = await page.evaluate(() => (window as { outcome?: unknown }).outcome);
    expect(outcome).toEqual({
      read: 'hello from the page',
      first: true,
      second: true,
      leader: leader.spec.id,
    });
    expect(errors).toEqual([]);
    expect(await get(nodes[2]!, 'browser-counter')).toBe('2');
  });
});
