import { existsSync } from 'node:fs';
import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's Chromium, which `.ci/run` installs. */
export const CHROMIUM = '/usr/bin/chromium';

/** Browser tests are skipped on a machine without Chromium, but never in CI. */
export const noBrowser = !existsSync(CHROMIUM) && process.env.CI !== 'true';

/**
 * Headless Chromium with a fresh profile in `profileDir`, started as this machine needs: as
 * root (no sandbox), and with the background networking off, since the machine's closed network
 * refuses those connections.
 */
export function launchChromium(
  profileDir: string,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    ...options,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
