import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { Supervised } from './supervisor.ts';

/**
 * `npm start`: a local 3-node cluster on 127.0.0.1:7001-7003 (override the first port with
 * RAFTKIT_BASE_PORT) with fs storage under ./data/n1..n3. Prints each node's URL, then every
 * change of leader as it happens. A node that dies (try `kill -9` on one) is restarted with
 * back-off while the other two keep serving, and rejoins from its data directory. Ctrl-C stops
 * all three. Running it again resumes from the data directories. The cluster secret is made once
 * and kept in ./data/cluster-secret, since all three must agree on it.
 */
const dataRoot = resolve(process.env.RAFTKIT_DATA_ROOT ?? 'data');
const basePort = Number(process.env.RAFTKIT_BASE_PORT ?? 7001);
// Each node is this app's main: `raftkit serve` with the flags given.
const serve = fileURLToPath(new URL('./main.js', import.meta.url));
const ids = ['n1', 'n2', 'n3'];
const url = (i: number) => `http://127.0.0.1:${basePort + i}`;
const members = ids.map((id, i) => `${id}=${url(i)}`).join(',');
const log = (line: string) => console.log(line);

await mkdir(dataRoot, { recursive: true });
const secret = await clusterSecret(join(dataRoot, 'cluster-secret'));

const nodes = ids.map(
  (id, i) =>
    new Supervised({
      name: id,
      command: process.execPath,
      args: [
        serve,
        '--id',
        id,
        '--listen',
        `127.0.0.1:${basePort + i}`,
        '--members',
        members,
        '--data-dir',
        join(dataRoot, id),
      ],
      env: { ...process.env, RAFTKIT_SECRET: secret },
      log,
    }),
);
for (const [i, id] of ids.entries()) log(`${id}: ${url(i)}`);
for (const node of nodes) node.start();

let stopping = false;
const stopped = new Promise<void>((resolve) => {
  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    log('stopping the cluster...');
    void Promise.all(nodes.map((node) => node.stop())).then(() => resolve());
  };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
});

/** What the nodes that answer say of the leader: the one of the highest term any of them knows. */
async function currentLeader(): Promise<{ leader: string; term: number } | null> {
  const views = await Promise.all(
    ids.map((_, i) =>
      fetch(`${url(i)}/v1/status`, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.json() as Promise<{ leader: string | null; term: number }>)
        .catch(() => null),
    ),
  );
  let best: { leader: string; term: number } | null = null;
  for (const view of views) {
    if (view?.leader != null && (best === null || view.term > best.term))
      best = { leader: view.leader, term: view.term };
  }
  return best;
}

// Report every change of leader while the cluster runs (nothing until the first election).
let shown: string | null = null;
while (!stopping) {
  const now = await currentLeader();
  const line: string | null =
    now !== null
      ? `leader: ${now.leader} (${url(ids.indexOf(now.leader))}) in term ${now.term}; Ctrl-C stops the cluster`
      : shown === null
        ? null
        : 'no leader (an election is under way, or no quorum is reachable)';
  if (line !== null && line !== shown) {
    log(line);
    shown = line;
  }
  await Promise.race([stopped, new Promise((r) => setTimeout(r, 250))]);
}
await stopped;
log('cluster stopped');

async function clusterSecret(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const made = randomBytes(24).toString('hex');
    await writeFile(path, `${made}\n`, { mode: 0o600 });
    return made;
  }
}
