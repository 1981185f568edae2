import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/**
 * `npm start`: a local 3-node cluster on 127.0.0.1:7001-7003 (override the first port with
 * RAFTKIT_BASE_PORT) with fs storage under ./data/n1..n3. Prints each node's URL and the leader;
 * Ctrl-C stops all three. Running it again resumes from the data directories. The cluster secret
 * is made once and kept in ./data/cluster-secret, since all three must agree on it.
 */
const dataRoot = resolve(process.env.RAFTKIT_DATA_ROOT ?? 'data');
const basePort = Number(process.env.RAFTKIT_BASE_PORT ?? 7001);
const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
const ids = ['n1', 'n2', 'n3'];
const url = (i: number) => `http://127.0.0.1:${basePort + i}`;
const members = ids.map((id, i) => `${id}=${url(i)}`).join(',');

await mkdir(dataRoot, { recursive: true });
const secret = await clusterSecret(join(dataRoot, 'cluster-secret'));

const children: ChildProcess[] = ids.map((id, i) =>
  spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--id',
      id,
      '--listen',
      `127.0.0.1:${basePort + i}`,
      '--members',
      members,
      '--data-dir',
      join(dataRoot, id),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, RAFTKIT_SECRET: secret } },
  ),
);

let stopping = false;
const stopAll = () => {
  if (stopping) return;
  stopping = true;
  console.log('stopping the cluster...');
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
};
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);
// Report the URLs and, once elected, the leader, while the children run.
void (async () => {
  for (const [i, id] of ids.entries()) console.log(`${id}: ${url(i)}`);
  while (!stopping) {
    const leader = await fetch(`${url(0)}/v1/status`)
      .then((r) => r.json() as Promise<{ leader: string | null }>)
      .then((s) => s.leader)
      .catch(() => null);
    if (leader !== null) {
      console.log(`leader: ${leader} (${url(ids.indexOf(leader))}); Ctrl-C stops the cluster`);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
})();

await Promise.all(
  children.map(
    (child, i) =>
      new Promise<void>((done) =>
        child.once('exit', (code, signal) => {
          if (!stopping) {
            console.error(`${ids[i]} exited (${signal ?? code}); stopping the others`);
            stopAll();
            process.exitCode = 1;
          }
          done();
        }),
      ),
  ),
).then(() => console.log('cluster stopped'));

async function clusterSecret(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const made = randomBytes(24).toString('hex');
    await writeFile(path, `${made}\n`, { mode: 0o600 });
    return made;
  }
}
