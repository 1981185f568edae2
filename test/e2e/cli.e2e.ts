import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agreedLeader, freePort, ROOT, SECRET, ServerProcess, tempDir } from '../support/harness.ts';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `raftkit` command. */
function raftkit(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'packages/cli/bin/raftkit.js'), ...args],
      { env: { ...process.env, RAFTKIT_SECRET: '' } },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

describe('the raftkit command', () => {
  const nodes: ServerProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
    await Promise.all(cleanups.map((cleanup) => cleanup()));
  });

  it('refuses bad configuration at start, saying what to fix', async () => {
    const run = await raftkit(['serve', '--id', 'bad id', '--storage', 'tape']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--id \(or RAFTKIT_ID\) must be/);
    expect(run.stderr).toMatch(/--storage \(or RAFTKIT_STORAGE\) must be fs or sqlite/);
    expect(run.stderr).toMatch(/--secret \(or RAFTKIT_SECRET\) is required/);
  });

  it.each(['fs', 'sqlite'])(
    'puts, gets, deletes and reports status, then checks the %s data directory',
    async (storage) => {
      const dir = await tempDir(`cli-${storage}`);
      cleanups.push(dir.remove);
      const node = new ServerProcess({
        id: 'c1',
        runtime: 'node',
        port: await freePort(),
        dataDir: dir.path,
        args: ['--storage', storage],
      });
      nodes.push(node);
      await node.start();
      await agreedLeader([node]);
      const url = ['--url', node.url];

      expect((await raftkit(['put', 'greeting', 'hello', ...url])).stdout).toMatch(/^OK \(index \d+\)$/m);
      expect(
        JSON.parse((await raftkit(['put', 'greeting', 'hello', '--output', 'json', ...url])).stdout),
      ).toEqual({
        index: expect.any(Number),
      });
      expect((await raftkit(['put', 'piped', ...url], 'from stdin')).code).toBe(0);
      expect(await raftkit(['get', 'greeting', ...url])).toMatchObject({ code: 0, stdout: 'hello\n' });
      expect(await raftkit(['get', 'piped', '--consistency', 'stale', ...url])).toMatchObject({
        stdout: 'from stdin\n',
      });
      expect((await raftkit(['del', 'greeting', ...url])).code).toBe(0);
      expect((await raftkit(['get', 'greeting', ...url])).code).toBe(4);
      // cas: exit 1 with the value found when it does not match; the URL may omit its scheme.
      const hostPort = ['--url', node.url.replace('http://', '')];
      expect(await raftkit(['cas', 'piped', 'x', '--expected', 'nope', ...hostPort])).toMatchObject({
        code: 1,
        stdout: 'not swapped: the key holds "from stdin"\n',
      });
      expect((await raftkit(['cas', 'piped', 'y', '--expected', 'from stdin', ...hostPort])).code).toBe(0);
      expect((await raftkit(['list', ...url])).stdout).toBe('piped\n');
      const table = (await raftkit(['status', ...url])).stdout.split('\n');
      expect(table[0]).toMatch(/^ID\s+URL\s+ROLE\s+TERM\s+COMMIT\s+APPLIED\s+LAG\s+HEALTH$/);
      expect(table[1]).toMatch(
        new RegExp(`^c1\\s+${node.url}\\s+leader\\s+\\d+\\s+\\d+\\s+\\d+\\s+0\\s+ok$`),
      );
      const shown = JSON.parse((await raftkit(['status', '--output', 'json', ...url])).stdout) as {
        id: string;
        role: string;
      }[];
      expect(shown).toMatchObject([{ id: 'c1', role: 'leader', health: 'ok' }]);
      expect((await raftkit(['member', 'list', ...url])).stdout).toMatch(/^c1\s+voter\s+http/m);
      // Usage errors: one line, exit 2, no stack; and a cluster that does not answer: exit 3.
      const unknownFlag = await raftkit(['get', 'k', '--bogus', ...url]);
      expect(unknownFlag.code).toBe(2);
      expect(unknownFlag.stderr).not.toMatch(/\n\s+at /);
      expect(
        (await raftkit(['get', 'k', '--url', `http://127.0.0.1:${await freePort()}`, '--timeout', '500']))
          .code,
      ).toBe(3);
      expect((await raftkit(['--version'])).stdout).toMatch(/^raftkit \d+\.\d+\.\d+\n$/);
      expect((await raftkit(['cas', '--help'])).stdout).toMatch(/^raftkit cas <key> <value>/);

      await node.kill('SIGTERM');
      const checked = await raftkit(['check', '--data-dir', dir.path]);
      expect(checked.code, checked.stdout + checked.stderr).toBe(0);

      // Damage the largest file (the log or the database) in its middle: the check must notice.
      const files = await readdir(dir.path);
      const sizes = await Promise.all(
        files.map(async (name) => ({ name, size: (await stat(join(dir.path, name))).size })),
      );
      const largest = sizes.filter((f) => !f.name.endsWith('.lock')).sort((a, b) => b.size - a.size)[0]!;
      const path = join(dir.path, largest.name);
      const bytes = await readFile(path);
      for (let i = Math.floor(bytes.length / 2); i < bytes.length; i += 97) bytes[i] = bytes[i]! ^ 0xff;
      await writeFile(path, bytes);
      const damaged = await raftkit(['check', '--data-dir', dir.path]);
      expect(damaged.code, damaged.stdout + damaged.stderr).not.toBe(0);
    },
  );

  it('joins nothing it cannot reach and exits with the reason', async () => {
    const dir = await tempDir('cli-join');
    cleanups.push(dir.remove);
    const port = await freePort();
    const run = await raftkit([
      'serve',
      '--id',
      'j1',
      '--secret',
      SECRET,
      '--data-dir',
      dir.path,
      '--listen',
      `127.0.0.1:${port}`,
      '--join',
      `http://127.0.0.1:${await freePort()}`,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/127\.0\.0\.1/);
  });
});
