import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory above this file with turbo.json (from the sources or from dist/). */
export const ROOT = findRoot(fileURLToPath(new URL('.', import.meta.url)));

function findRoot(dir: string): string {
  if (existsSync(join(dir, 'turbo.json'))) return dir;
  const parent = dirname(dir);
  if (parent === dir) throw new Error('no turbo.json above the test harness');
  return findRoot(parent);
}
export const SECRET = 'e2e-cluster-secret-0123456789';
export type Runtime = 'node' | 'bun' | 'deno';

/** The Node binary: this process's own unless this process is Bun (the benchmark runs on it). */
export const NODE = process.versions.bun === undefined ? process.execPath : 'node';

/**
 * How each runtime starts the server: Node runs the built app, Bun and Deno the TypeScript
 * (through the `@raftkit/source` export condition).
 */
export const SERVE_COMMANDS: Record<
  Runtime,
  (args: string[], script?: readonly string[]) => [string, string[]]
> = {
  node: (args, script = [join(ROOT, 'packages/cli/bin/raftkit.js'), 'serve']) => [NODE, [...script, ...args]],
  bun: (args) => [
    join(ROOT, 'node_modules/.bin/bun'),
    ['--conditions=@raftkit/source', join(ROOT, 'apps/bun/src/main.ts'), ...args],
  ],
  deno: (args) => [
    join(ROOT, 'node_modules/.bin/deno'),
    [
      'run',
      '--unstable-no-legacy-abort',
      '-A',
      '--conditions=@raftkit/source',
      join(ROOT, 'apps/deno/main.ts'),
      ...args,
    ],
  ],
};

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function tempDir(name: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `raftkit-e2e-${name}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined; throws what it
 * last saw after `ms`.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface NodeSpec {
  readonly id: string;
  readonly runtime: Runtime;
  readonly port: number;
  readonly dataDir: string;
  /** More serve flags: --members, --join, --storage, ... */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly scheme?: 'http' | 'https';
  /**
   * On Node only: the script (and its leading arguments) to run instead of `packages/cli/bin/raftkit.js
   * serve`, e.g. the fault suite's deliberately broken server.
   */
  readonly script?: readonly string[];
}

/** How many chunks of a process's output are kept: enough for a failure message, bounded for long runs. */
const OUTPUT_CHUNKS = 400;

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One server process. Output is kept for the failure message. */
export class ServerProcess {
  readonly url: string;
  readonly output: string[] = [];
  #child: ChildProcess | null = null;
  #exited: Promise<ExitStatus> = Promise.resolve({ code: null, signal: null });

  constructor(readonly spec: NodeSpec) {
    this.url = `${spec.scheme ?? 'http'}://127.0.0.1:${spec.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Resolves when the current process exits (at once when none runs). */
  get exited(): Promise<ExitStatus> {
    return this.#exited;
  }

  /** Starts the process and waits until it answers /health, polling every `pollMs`. */
  async start(fetchImpl: typeof fetch = fetch, pollMs = 100): Promise<void> {
    const { spec } = this;
    const [command, args] = SERVE_COMMANDS[spec.runtime](
      [
        '--id',
        spec.id,
        '--listen',
        `127.0.0.1:${spec.port}`,
        '--data-dir',
        spec.dataDir,
        '--secret',
        SECRET,
        '--tick-ms',
        '50',
        ...spec.args,
      ],
      spec.script,
    );
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > OUTPUT_CHUNKS) this.output.splice(0, this.output.length - OUTPUT_CHUNKS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    // A process that exits while starting ends the wait at once: thrown inside the probe, the
    // exit was taken for one more failed poll, and the wait ran its full 30 s.
    const outcome = await eventually(
      `${spec.id} (${spec.runtime}) to answer /health`,
      async () => {
        if (!this.running) return 'exited';
        const response = await fetchImpl(`${this.url}/health`);
        return response.ok ? 'listening' : undefined;
      },
      30_000,
      pollMs,
    );
    if (outcome === 'exited') throw new Error(`${spec.id} exited:\n${this.output.join('')}`);
  }

  /** Sends `signal` (SIGSTOP, SIGCONT, ...) to this process by pid without waiting for anything. */
  signal(signal: NodeJS.Signals): void {
    if (this.running && this.#child?.pid !== undefined) process.kill(this.#child.pid, signal);
  }

  /** Sends `signal` to this process (by pid) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running && this.#child?.pid !== undefined) process.kill(this.#child.pid, signal);
    await this.#exited;
  }
}

/**
 * What one test file starts: its processes and temp directories, all killed (by pid) and removed
 * after the file, so tests can run side by side and leave nothing behind.
 */
export function processScope(): {
  readonly nodes: ServerProcess[];
  tempDir(name: string): Promise<string>;
  cleanup(): Promise<void>;
} {
  const nodes: ServerProcess[] = [];
  const removals: (() => Promise<void>)[] = [];
  return {
    nodes,
    async tempDir(name) {
      const dir = await tempDir(name);
      removals.push(dir.remove);
      return dir.path;
    },
    async cleanup() {
      await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
      await Promise.all(removals.map((remove) => remove()));
    },
  };
}

/**
 * Starts one founding member per runtime (ids n1, n2, ...) on free ports, each with its own data
 * directory, and waits until every one answers /health.
 */
export async function startCluster(
  scope: ReturnType<typeof processScope>,
  options: {
    readonly name: string;
    readonly runtimes: readonly Runtime[];
    readonly scheme?: 'http' | 'https';
    /** More serve flags for every member, after --members. */
    readonly args?: readonly string[];
    readonly env?: Readonly<Record<string, string>>;
    readonly fetch?: typeof fetch;
  },
): Promise<ServerProcess[]> {
  const scheme = options.scheme ?? 'http';
  const ports = await Promise.all(options.runtimes.map(() => freePort()));
  const members = ports.map((port, i) => `n${i + 1}=${scheme}://127.0.0.1:${port}`).join(',');
  const started: ServerProcess[] = [];
  for (const [i, runtime] of options.runtimes.entries()) {
    const node = new ServerProcess({
      id: `n${i + 1}`,
      runtime,
      port: ports[i]!,
      dataDir: await scope.tempDir(`${options.name}-n${i + 1}`),
      scheme,
      args: ['--members', members, ...(options.args ?? [])],
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    scope.nodes.push(node);
    started.push(node);
  }
  await Promise.all(started.map((node) => node.start(options.fetch)));
  return started;
}

/** The JSON of a successful request; throws with the status and body otherwise. */
export async function json<T>(
  url: string,
  init: RequestInit = {},
  fetchImpl: typeof fetch = fetch,
): Promise<T> {
  const response = await fetchImpl(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

export interface Status {
  id: string;
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  snapshotIndex: number;
  members: { id: string; url: string; role: 'voter' | 'learner'; matchIndex: number | null }[];
}

export const status = (node: ServerProcess, fetchImpl: typeof fetch = fetch) =>
  json<Status>(`${node.url}/v1/status`, {}, fetchImpl);

/** Waits until every given node names the same leader, and returns it. */
export function agreedLeader(
  nodes: readonly ServerProcess[],
  fetchImpl: typeof fetch = fetch,
): Promise<ServerProcess> {
  return eventually('a leader every node agrees on', async () => {
    const leaders = await Promise.all(nodes.map(async (node) => (await status(node, fetchImpl)).leader));
    const leader = nodes.find((node) => node.spec.id === leaders[0]);
    return leader !== undefined && leaders.every((id) => id === leaders[0]) ? leader : undefined;
  });
}

/**
 * A write retried while the cluster has no leader (503: nothing was written). Returns once it is
 * acknowledged; a 504 (outcome unknown) fails the test, since the caller could not count it.
 */
export async function put(
  node: ServerProcess,
  key: string,
  value: string,
  fetchImpl: typeof fetch = fetch,
): Promise<number> {
  return eventually(`PUT ${key} through ${node.spec.id}`, async () => {
    const response = await fetchImpl(`${node.url}/v1/kv/${encodeURIComponent(key)}`, {
      method: 'PUT',
      body: value,
    });
    if (response.status === 503) return undefined;
    if (!response.ok) throw new Error(`PUT ${key}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { index: number }).index;
  });
}

/** A read in the given mode; null when absent. Retried while no leader is known. */
export async function get(
  node: ServerProcess,
  key: string,
  consistency = 'linearizable',
  fetchImpl: typeof fetch = fetch,
): Promise<string | null> {
  return eventually(`GET ${key} through ${node.spec.id}`, async () => {
    const response = await fetchImpl(
      `${node.url}/v1/kv/${encodeURIComponent(key)}?consistency=${consistency}`,
    );
    if (response.status === 503 || response.status === 504) return undefined;
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`GET ${key}: ${response.status} ${await response.text()}`);
    return response.text();
  });
}
