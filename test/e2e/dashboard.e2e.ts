import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium, noBrowser } from '../support/browser.ts';
import { agreedLeader, eventually, processScope, ROOT, startCluster } from '../support/harness.ts';

const TOKEN = 'dashboard-client-token-0123';
const auth = { authorization: `Bearer ${TOKEN}` };

/** The page's members table as the user sees it: id → [raft role, health]. */
async function members(page: Page): Promise<Record<string, [string, string]>> {
  return page.$$eval('tr[data-member]', (rows) =>
    Object.fromEntries(
      rows.map((row) => {
        const r = row as HTMLElement;
        return [r.dataset.member, [r.dataset.role, r.dataset.health]];
      }),
    ),
  );
}

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against three real
 * server processes with a client token: the page asks for the token, shows the three members and
 * the leader, follows a kill -9 of the leader, and moves leadership with its own button.
 * `UPDATE_SCREENSHOT=1` also refreshes docs/dashboard.png from the run.
 */
// Skipped on a machine without Chromium, but never in CI, where .ci/run installs it.
describe.skipIf(noBrowser)('the /ui dashboard', () => {
  const scope = processScope();
  let browser: BrowserContext | undefined;
  afterAll(async () => {
    await browser?.close();
    await scope.cleanup();
  });

  it('shows the cluster live, follows a leader kill, and transfers leadership', async () => {
    const nodes = await startCluster(scope, {
      name: 'ui',
      runtimes: ['node', 'node', 'node'],
      args: ['--client-token', TOKEN],
    });
    const leader = await agreedLeader(nodes, (url, init) => fetch(url, { ...init, headers: auth }));
    const [viewer, survivor] = nodes.filter((node) => node !== leader) as [typeof leader, typeof leader];
    const profile = await scope.tempDir('ui-chromium');
    browser = await launchChromium(profile, { viewport: { width: 1200, height: 760 } });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));

    await page.goto(`${viewer.url}/ui`);
    await page.locator('#token-section').waitFor({ state: 'visible' });
    await page.fill('#token', TOKEN);
    await page.click('#token-form button');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-member]').length === 3);
    await eventually('the page to name the leader', async () =>
      (await page.textContent('#leader')) === leader.spec.id ? true : undefined,
    );
    expect(await members(page)).toEqual({
      n1: [nodes[0] === leader ? 'leader' : 'follower', 'ok'],
      n2: [nodes[1] === leader ? 'leader' : 'follower', 'ok'],
      n3: [nodes[2] === leader ? 'leader' : 'follower', 'ok'],
    });
    expect(await page.textContent('#via')).toBe(viewer.spec.id);

    // Writes through every node for a few seconds, so the charts have something to draw.
    const writesUntil = Date.now() + 4000;
    for (let i = 0; Date.now() < writesUntil; i++) {
      const through = nodes[i % 3]!;
      const response = await fetch(`${through.url}/v1/kv/ui-${i}`, {
        method: 'PUT',
        body: 'v',
        headers: auth,
      });
      expect(response.status).toBe(200);
    }
    await page.waitForFunction(() => document.querySelector('#write-rate path.line') !== null);
    await page.waitForFunction(() => document.querySelector('#latency path.line') !== null);
    const shot = join(profile, 'dashboard.png');
    await page.screenshot({ path: shot });
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await mkdir(join(ROOT, 'docs'), { recursive: true });
      await copyFile(shot, join(ROOT, 'docs/dashboard.png'));
    }

    await leader.kill('SIGKILL');
    await eventually('the page to show a new leader and the old one down', async () => {
      const now = await page.textContent('#leader');
      const rows = await members(page);
      return now !== leader.spec.id && now !== 'none' && rows[leader.spec.id]?.[1] === 'unreachable'
        ? true
        : undefined;
    });
    const newLeader = await page.textContent('#leader');
    const changes = await page.$$eval('#changes li', (items) => items.map((li) => li.textContent ?? ''));
    expect(changes.some((line) => line.includes(`${newLeader} leads`))).toBe(true);

    // The button on the other survivor's row makes it leader (through whichever node is asked).
    const next = newLeader === viewer.spec.id ? survivor : viewer;
    await page.click(`tr[data-member="${next.spec.id}"] button:has-text("Make leader")`);
    await eventually(`the page to show ${next.spec.id} as leader`, async () =>
      (await page.textContent('#leader')) === next.spec.id ? true : undefined,
    );
    expect(await page.textContent('#message')).toContain('Make leader: done');
    expect(errors).toEqual([]);
  });
});
