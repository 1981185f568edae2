import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  agreedLeader,
  eventually,
  freePort,
  type Runtime,
  ServerProcess,
  tempDir,
} from '../../../test/support/harness.ts';

/** A running 3-node cluster of one system: where to send load, and whose CPU to count. */
export interface Cluster {
  readonly leaderUrl: string;
  readonly followerUrl: string;
  readonly pids: readonly number[];
  /** A write through the system's HTTP API (to fill the keys before reads). */
  write(key: string, value: string): Promise<void>;
  stop(): Promise<void>;
}

type TempDir = Awaited<ReturnType<typeof tempDir>>;

/** Three `raftkit serve` processes of one runtime and storage, default options but the tick. */
export async function startRaftkit(runtime: Runtime, storage: 'fs' | 'sqlite'): Promise<Cluster> {
  const ports = await Promise.all([0, 1, 2].map(() => freePort()));
  const members = ports.map((port, i) => `n${i + 1}=http://127.0.0.1:${port}`).join(',');
  const nodes: ServerProcess[] = [];
  const dirs: TempDir[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
    await Promise.all(dirs.map((dir) => dir.remove()));
  };
  try {
    for (const [i, port] of ports.entries()) {
      const dir = await tempDir(`bench-${storage}-n${i + 1}`);
      dirs.push(dir);
      nodes.push(
        new ServerProcess({
          id: `n${i + 1}`,
          runtime,
          port,
          dataDir: dir.path,
          // The harness's 50 ms tick suits tests; the bench runs the server's default.
          args: ['--members', members, '--storage', storage, '--tick-ms', '100'],
        }),
      );
    }
    await Promise.all(nodes.map((node) => node.start()));
    const leader = await agreedLeader(nodes);
    const follower = nodes.find((node) => node !== leader)!;
    return {
      leaderUrl: leader.url,
      followerUrl: follower.url,
      pids: nodes.map((node) => node.pid!),
      write: async (key, value) => {
        const response = await fetch(`${leader.url}/v1/kv/${key}`, { method: 'PUT', body: value });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`PUT ${key}: ${response.status}`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `etcd --version`'s first line, or null when Debian's etcd-server is not installed. */
export function etcdVersion(): string | null {
  const probe = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return null;
  return probe.stdout.split('\n')[0]!.trim();
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

/** POST to etcd's JSON gateway (the v3 API over HTTP/1.1). */
async function etcdJson<T>(url: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`etcd ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** A 3-member etcd with its default durability (fsync per batch), one data dir each. */
export async function startEtcd(): Promise<Cluster> {
  const clientPorts = await Promise.all([0, 1, 2].map(() => freePort()));
  const peerPorts = await Promise.all([0, 1, 2].map(() => freePort()));
  const initial = peerPorts.map((port, i) => `e${i + 1}=http://127.0.0.1:${port}`).join(',');
  const children: ChildProcess[] = [];
  const dirs: TempDir[] = [];
  const output: string[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            process.kill(child.pid!, 'SIGKILL');
          }),
      ),
    );
    await Promise.all(dirs.map((dir) => dir.remove()));
  };
  try {
    for (let i = 0; i < 3; i++) {
      const dir = await tempDir(`bench-etcd-e${i + 1}`);
      dirs.push(dir);
      const client = `http://127.0.0.1:${clientPorts[i]}`;
      const peer = `http://127.0.0.1:${peerPorts[i]}`;
      const child = spawn(
        'etcd',
        [
          ...['--name', `e${i + 1}`, '--data-dir', dir.path],
          ...['--listen-client-urls', client, '--advertise-client-urls', client],
          ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer],
          ...['--initial-cluster', initial, '--initial-cluster-state', 'new'],
          ...['--initial-cluster-token', 'raftkit-bench', '--log-level', 'error'],
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      children.push(child);
    }
    const urls = clientPorts.map((port) => `http://127.0.0.1:${port}`);
    const leaderUrl = await eventually('an etcd leader', async () => {
      if (children.some((c) => c.exitCode !== null)) throw new Error(`etcd exited:\n${output.join('')}`);
      const statuses = await Promise.all(
        urls.map((url) =>
          etcdJson<{ header: { member_id: string }; leader: string }>(url, '/v3/maintenance/status', {}),
        ),
      );
      const index = statuses.findIndex((s) => s.header.member_id === statuses[0]!.leader);
      return index >= 0 && statuses.every((s) => s.leader === statuses[0]!.leader) ? urls[index] : undefined;
    });
    return {
      leaderUrl,
      followerUrl: urls.find((url) => url !== leaderUrl)!,
      pids: children.map((child) => child.pid!),
      write: async (key, value) => {
        await etcdJson(leaderUrl, '/v3/kv/put', { key: base64(key), value: base64(value) });
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
