import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventually,
  freePort,
  processScope,
  ROOT,
  type Runtime,
  SECRET,
  SERVE_COMMANDS,
} from '../support/harness.ts';

/**
 * Issue 9, item 3: a node killed with `kill -9` must restart by itself. Its `LOCK` names the dead
 * process, and a restart used to be refused whenever that pid still answered `kill -0`: as a
 * zombie nobody reaped, or as the restarted process itself when the node runs as pid 1 (in any
 * container). Both are reproduced here in pid namespaces of their own (`unshare`), which also
 * reap whatever is left when their first process dies.
 */
const scope = processScope();
const started: ChildProcess[] = [];
/** Outer pids of namespaces' first processes: killing one kills and reaps all inside it. */
const namespaceInits: number[] = [];
afterEach(async () => {
  for (const pid of namespaceInits.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  // Each unshare reaps its namespace's first process and exits; nsenter, its child.
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exitOf(child);
  }
  await scope.cleanup();
});

function run(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  return child;
}

const exitOf = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

/** The pid, as this process sees it, of the only child of `parent`. */
const childOf = (parent: number) =>
  eventually(`a child of ${parent}`, async () => {
    const out = execFileSync('pgrep', ['-P', String(parent)], { encoding: 'utf8' }).trim();
    return out === '' ? undefined : Number(out.split('\n')[0]);
  });

const healthy = (port: number) =>
  eventually(`the node on ${port} to answer /health`, async () => {
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    return response.ok ? true : undefined;
  });

async function serveArgs(runtime: Runtime, dataDir: string, port: number): Promise<[string, string[]]> {
  return SERVE_COMMANDS[runtime]([
    '--id',
    'n1',
    '--listen',
    `127.0.0.1:${port}`,
    '--data-dir',
    dataDir,
    '--secret',
    SECRET,
  ]);
}

describe('a node killed with kill -9 restarts by itself', () => {
  for (const runtime of ['node', 'bun', 'deno'] as const) {
    it(`as pid 1 of its container (${runtime})`, async () => {
      const dataDir = await scope.tempDir(`pid1-${runtime}`);
      const port = await freePort();
      const [command, args] = await serveArgs(runtime, dataDir, port);
      for (let incarnation = 0; incarnation < 2; incarnation++) {
        const unshare = run('unshare', ['-fp', '--mount-proc', command, ...args]);
        const init = await childOf(unshare.pid!);
        namespaceInits.push(init);
        await healthy(port);
        // The node is pid 1 inside; outside it is unshare's child. Killing it ends the namespace.
        process.kill(init, 'SIGKILL');
        await exitOf(unshare);
      }
    });
  }

  it('when the killed process is a zombie nobody reaped', async () => {
    const dataDir = await scope.tempDir('zombie');
    const port = await freePort();
    const [command, args] = await serveArgs('node', dataDir, port);
    // Inside its own namespace, `sleep` is pid 1 and the node its child, which sleep never reaps.
    const quoted = [command, ...args].map((a) => `'${a}'`).join(' ');
    const init = run('unshare', ['-fp', '--mount-proc', 'sh', '-c', `${quoted} & exec sleep 600`]);
    await healthy(port);
    const sleep = await childOf(init.pid!);
    namespaceInits.push(sleep);
    const first = await childOf(sleep);
    process.kill(first, 'SIGKILL');
    await eventually('the killed node to be a zombie', async () =>
      execFileSync('ps', ['-o', 'stat=', '-p', String(first)], { encoding: 'utf8' })
        .trim()
        .startsWith('Z')
        ? true
        : undefined,
    );
    // A new node in the same namespace finds the zombie's pid in LOCK, and starts anyway.
    run('nsenter', ['-t', String(sleep), '-p', '-m', command, ...args]);
    await healthy(port);
    expect(execFileSync('ps', ['-o', 'stat=', '-p', String(first)], { encoding: 'utf8' }).trim()).toMatch(
      /^Z/,
    );
  });
});
