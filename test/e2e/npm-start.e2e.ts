import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, freePort, NODE, ROOT, tempDir } from '../support/harness.ts';

/** Three consecutive free ports, as `npm start` uses base, base + 1, base + 2. */
async function freeRun(): Promise<number> {
  for (;;) {
    const base = await freePort();
    if (base > 65000) continue;
    const taken = await Promise.all([1, 2].map((i) => isTaken(base + i)));
    if (!taken.includes(true)) return base;
  }
}

async function isTaken(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/** `npm start`'s script: a local 3-node cluster that prints its URLs and leader, stops on Ctrl-C and resumes from disk. */
describe('npm start', () => {
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await Promise.all(cleanups.map((cleanup) => cleanup()));
  });

  const startCluster = (base: number, dataRoot: string) => {
    const child = spawn(NODE, ['apps/node/dist/cluster.js'], {
      cwd: ROOT,
      env: { ...process.env, RAFTKIT_BASE_PORT: String(base), RAFTKIT_DATA_ROOT: dataRoot },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output, exited };
  };

  it('prints the URLs and the leader, stops on SIGINT, and resumes from disk', async () => {
    const data = await tempDir('npm-start');
    cleanups.push(data.remove);
    const base = await freeRun();
    const urls = [0, 1, 2].map((i) => `http://127.0.0.1:${base + i}`);

    const first = startCluster(base, data.path);
    await eventually('the leader line', async () =>
      /^leader: n[123] /m.test(first.output.join('')) ? true : undefined,
    );
    for (const [i, url] of urls.entries()) expect(first.output.join('')).toContain(`n${i + 1}: ${url}`);
    // A node may learn of the leader a heartbeat after the first one printed it: 503 until then.
    const put = await eventually('a write through n2', async () => {
      const response = await fetch(`${urls[1]}/v1/kv/durable`, { method: 'PUT', body: 'kept' });
      return response.status === 503 ? undefined : response.status;
    });
    expect(put).toBe(200);
    process.kill(first.child.pid!, 'SIGINT');
    expect(await first.exited).toBe(0);
    expect(first.output.join('')).toContain('cluster stopped');
    for (const url of urls) await expect(fetch(`${url}/health`)).rejects.toThrow();

    const second = startCluster(base, data.path);
    await eventually('the leader line after the restart', async () =>
      /^leader: /m.test(second.output.join('')) ? true : undefined,
    );
    const read = await eventually('a read through n3', async () => {
      const response = await fetch(`${urls[2]}/v1/kv/durable`);
      return response.status === 503 || response.status === 504 ? undefined : response.text();
    });
    expect(read).toBe('kept');
    process.kill(second.child.pid!, 'SIGINT');
    expect(await second.exited).toBe(0);
  });

  // Issue 12: one node's death used to stop all three ("n3 exited (SIGKILL); stopping the others").
  it('keeps serving when a node is killed, restarts it, and prints each change of leader', async () => {
    const data = await tempDir('npm-start-kill');
    cleanups.push(data.remove);
    const base = await freeRun();
    const urls = [0, 1, 2].map((i) => `http://127.0.0.1:${base + i}`);
    const cluster = startCluster(base, data.path);
    const leaderLines = () => cluster.output.join('').match(/^leader: n[123] .*$/gm) ?? [];
    await eventually('the leader line', async () => (leaderLines().length > 0 ? true : undefined));
    const status = await (await fetch(`${urls[0]}/v1/status`)).json();
    const leader = status.leader as string;
    const members = status.members as { id: string }[];
    expect(members).toHaveLength(3);
    // The supervisor's children are the nodes: the leader is the one serving its port.
    const serving = execFileSync('pgrep', ['-P', String(cluster.child.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
    const victim = serving.find((pid) =>
      execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).includes(
        `--id ${leader} `,
      ),
    );
    expect(victim).toBeDefined();
    process.kill(victim!, 'SIGKILL');
    const survivor = urls[Number(leader.slice(1)) % 3]!;
    const put = await eventually('a write through a survivor', async () => {
      const response = await fetch(`${survivor}/v1/kv/after-kill`, { method: 'PUT', body: 'yes' });
      return response.ok ? response.status : undefined;
    });
    expect(put).toBe(200);
    expect(cluster.output.join('')).toMatch(new RegExp(`${leader} exited \\(SIGKILL\\); restarting`));
    await eventually('the killed node back', async () => {
      const response = await fetch(`${urls[Number(leader.slice(1)) - 1]}/health`);
      return response.ok ? true : undefined;
    });
    // A new term's leader is printed when it is elected, not only the first one.
    await eventually('a second leader line', async () => (leaderLines().length >= 2 ? true : undefined));
    expect(leaderLines().at(-1)).not.toBe(leaderLines()[0]);
    process.kill(cluster.child.pid!, 'SIGINT');
    expect(await cluster.exited).toBe(0);
  });
});
