import { readFileSync } from 'node:fs';
import process from 'node:process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runNodeCli } from '../src/node-cli.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs a command with stdout and stderr captured. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  const code = await runNodeCli(argv);
  vi.restoreAllMocks();
  return { code, out, err };
}

describe('runNodeCli', () => {
  it("prints this package's version, the one an installed raftkit reports", async () => {
    expect(await run(['--version'])).toEqual({ code: 0, out: `raftkit ${pkg.version}\n`, err: '' });
  });

  it('names its commands under --help, and exits 2 with one line for an unknown one', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^ {2}serve /m);
    expect(help.out).toMatch(/^ {2}status /m);
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err.split('\n')[0]).toBe('unknown command "frobnicate"');
  });
});
