import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../src/cli.ts';
import type { Listen } from '../src/launch.ts';

let dir: string;
let err: string[];
const io: CliIo = {
  env: {},
  out: () => {},
  err: (line) => err.push(line),
  shutdownSignal: () => new Promise(() => {}),
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftkit-serve-cli-'));
  err = [];
});
afterEach(async () => {
  delete process.env.RAFTKIT_TEST_IO_FAULT;
  await rm(dir, { recursive: true, force: true });
});

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('raftkit serve', () => {
  it('returns 1 after a fatal disk error even when its listener never finishes closing', async () => {
    const faultFile = join(dir, 'eio');
    process.env.RAFTKIT_TEST_IO_FAULT = faultFile;
    let app: ((request: Request) => Response | Promise<Response>) | null = null;
    // A server that never lets go: what a runtime holding a peer's connection open looks like.
    const listen: Listen = async ({ fetch }) => {
      app = fetch;
      return { port: 7999, close: () => new Promise(() => {}) };
    };
    const call = (method: string, path: string, body?: string) =>
      Promise.resolve(app!(new Request(`http://127.0.0.1:7999${path}`, { method, body })));
    const serving = runCli(
      [
        'serve',
        '--id',
        'n1',
        '--listen',
        '127.0.0.1:7999',
        '--data-dir',
        join(dir, 'data'),
        '--tick-ms',
        '10',
      ],
      { listen },
      { ...io, env: { RAFTKIT_SECRET: 'serve-cli-test-secret-0123' } },
    );
    await eventually('a leader', async () => {
      if (app === null) return false;
      const status = await (await call('GET', '/v1/status')).json();
      return status.role === 'leader';
    });
    expect((await call('PUT', '/v1/kv/a', 'before')).status).toBe(200);
    await writeFile(faultFile, '');
    const broken = await call('PUT', '/v1/kv/a', 'after');
    expect(broken.status).toBeGreaterThanOrEqual(500);
    const started = performance.now();
    expect(await serving).toBe(1);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(err.join('\n')).toContain('EIO');
    expect(err.join('\n')).toContain('did not finish stopping after its fatal error');
  });
});
