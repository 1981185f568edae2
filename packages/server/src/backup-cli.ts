import { readdir, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  isBackupError,
  type Manifest,
  readFileChunks,
  recoverForceNewCluster,
  renderManifest,
  restoreBackup,
  type StorageOpener,
  saveBackupFile,
  verifyBackup,
} from '@raftkit/backup';
import { RaftkitClient } from '@raftkit/client';
import { nodeId } from '@raftkit/core';
import { openFsStorage } from '@raftkit/storage-fs';
import { openSqliteStorage } from '@raftkit/storage-sqlite';
import type { CliIo } from './cli.ts';
import { ConfigError } from './config.ts';
import { KvStateMachine } from './kv/kv-state-machine.ts';
import { type Progress, startProgress } from './progress.ts';

export const BACKUP_USAGE = `  backup create -o FILE     download a verified backup from --url into FILE (--timeout MS,
                            default 30000: for the answer, then for each next piece of it)
  backup verify FILE        check a backup file without restoring it (--max-bytes N)
  backup inspect FILE       print a backup's manifest (--json for JSON)
  restore FILE --data-dir DIR [--storage fs|sqlite] [--id ID] [--cluster-id C] [--url URL]
                            [--members id=url,...] [--force]
                            restore a backup into a new data directory as a new cluster
  recover --data-dir DIR --force-new-cluster --id ID --cluster-id C [--url URL]
                            make a stopped survivor a single-member cluster (see @raftkit/backup)`;

const openers: Readonly<Record<string, StorageOpener>> = { fs: openFsStorage, sqlite: openSqliteStorage };

/**
 * `raftkit backup|restore|recover ...`; resolves to the exit code: 0, 1 for a backup refused
 * (the `BackupError` code and message are printed), or what the CLI gives other errors.
 */
export async function backupCli(
  command: 'backup' | 'restore' | 'recover',
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  try {
    if (command === 'restore') return await restore(argv, io);
    if (command === 'recover') return await recover(argv, io);
    return await backup(argv, io);
  } catch (error) {
    if (!isBackupError(error)) throw error;
    io.err(`raftkit ${command}: ${error.code}: ${error.message}`);
    return 1;
  }
}

function backup(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create':
      return create(rest, io);
    case 'verify':
    case 'inspect':
      return check(sub, rest, io);
    default:
      throw new ConfigError([`raftkit backup needs create, verify or inspect\n${BACKUP_USAGE}`]);
  }
}

async function create(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      output: { type: 'string', short: 'o' },
      timeout: { type: 'string' },
    },
  });
  const file = values.output;
  if (file === undefined) throw new ConfigError(['raftkit backup create needs -o FILE']);
  const url = values.url ?? io.env.RAFTKIT_URL ?? 'http://127.0.0.1:7001';
  const token = values.token ?? io.env.RAFTKIT_CLIENT_TOKEN;
  const timeoutMs =
    values.timeout === undefined ? DOWNLOAD_TIMEOUT_MS : positiveInteger('--timeout', values.timeout);
  const client = new RaftkitClient({ endpoints: [url], timeoutMs, ...(token ? { token } : {}) });
  // A backup may take long to download: the client's timeout covers the wait for the answer,
  // `untilSilent` every wait for more of it.
  const response = await client.request({
    method: 'GET',
    path: '/v1/backup',
    target: 'any',
    idempotent: true,
    stream: true,
  });
  if (response.body === null) throw new Error(`${url}/v1/backup answered without a body`);
  const progress = startProgress('downloading', null, io);
  let manifest: Manifest;
  try {
    manifest = await saveBackupFile(untilSilent(response.body, timeoutMs, `${url}/v1/backup`), file, {
      onWrite: (bytes) => progress.update(bytes),
    });
  } finally {
    progress.stop();
  }
  io.out(
    `${file}: verified backup of ${manifest.clusterId} at index ${manifest.snapshot.index} (term ${manifest.snapshot.term})`,
  );
  return 0;
}

async function check(sub: 'verify' | 'inspect', argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { 'max-bytes': { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
  });
  const file = onlyFile(`backup ${sub}`, positionals);
  const maxBytes =
    values['max-bytes'] === undefined ? undefined : positiveInteger('--max-bytes', values['max-bytes']);
  const manifest = await withFileProgress(sub === 'verify' ? 'verifying' : 'reading', file, io, (source) =>
    verifyBackup(source, maxBytes === undefined ? {} : { maxBytes }),
  );
  if (sub === 'inspect')
    io.out(values.json === true ? JSON.stringify(manifest, null, 2) : renderManifest(manifest));
  else
    io.out(
      `${file}: OK, ${manifest.clusterId} at index ${manifest.snapshot.index}, ${manifest.files.length} state file(s)`,
    );
  return 0;
}

async function restore(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      'data-dir': { type: 'string' },
      storage: { type: 'string' },
      id: { type: 'string' },
      'cluster-id': { type: 'string' },
      url: { type: 'string' },
      members: { type: 'string' },
      force: { type: 'boolean' },
      'max-bytes': { type: 'string' },
    },
    allowPositionals: true,
  });
  const file = onlyFile('restore', positionals);
  const dataDir = values['data-dir'];
  if (dataDir === undefined) throw new ConfigError(['raftkit restore needs --data-dir DIR']);
  const open = opener(values.storage ?? 'fs');
  const size = (await stat(file)).size;
  let progress: Progress | null = null;
  const result = await restoreBackup({
    source: () => {
      progress?.stop();
      progress = startProgress(progress === null ? 'verifying' : 'restoring', size, io);
      const current = progress;
      return countedChunks(file, (bytes) => current.update(bytes));
    },
    dataDir,
    open,
    ...(values.id === undefined ? {} : { nodeId: values.id }),
    ...(values['cluster-id'] === undefined ? {} : { clusterId: values['cluster-id'] }),
    ...(values.url === undefined ? {} : { url: values.url }),
    ...(values.members === undefined ? {} : { members: parseMembers(values.members) }),
    ...(values.force === true ? { force: true } : {}),
    ...(values['max-bytes'] === undefined
      ? {}
      : { maxBytes: positiveInteger('--max-bytes', values['max-bytes']) }),
  }).finally(() => (progress as Progress | null)?.stop());
  const members = Object.entries(result.members)
    .map(([id, url]) => `${id}=${url}`)
    .join(',');
  io.out(
    `restored ${result.manifest.clusterId} at index ${result.manifest.snapshot.index} into ${dataDir} as ${result.identity.nodeId}` +
      ` (cluster ${result.identity.clusterId}, members ${members}); start it with --id ${result.identity.nodeId}` +
      ` --cluster-id ${result.identity.clusterId} --data-dir ${dataDir}`,
  );
  return 0;
}

async function recover(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'data-dir': { type: 'string' },
      'force-new-cluster': { type: 'boolean' },
      storage: { type: 'string' },
      id: { type: 'string' },
      'cluster-id': { type: 'string' },
      url: { type: 'string' },
    },
  });
  const dataDir = values['data-dir'] ?? io.env.RAFTKIT_DATA_DIR;
  const id = values.id ?? io.env.RAFTKIT_ID;
  const clusterId = values['cluster-id'] ?? io.env.RAFTKIT_CLUSTER_ID;
  const problems = [
    ...(dataDir === undefined ? ['--data-dir DIR'] : []),
    ...(id === undefined ? ['--id ID'] : []),
    ...(clusterId === undefined ? ['--cluster-id C'] : []),
    ...(values['force-new-cluster'] === true
      ? []
      : ['--force-new-cluster (it discards the other members; read its risks first)']),
  ];
  if (problems.length > 0) throw new ConfigError([`raftkit recover needs ${problems.join(', ')}`]);
  const storage = values.storage ?? io.env.RAFTKIT_STORAGE ?? (await detectStorage(dataDir as string));
  const result = await recoverForceNewCluster({
    dataDir: dataDir as string,
    open: opener(storage),
    identity: { clusterId: clusterId as string, nodeId: nodeId(id as string) },
    stateMachine: new KvStateMachine(),
    ...(values.url === undefined ? {} : { url: values.url }),
  });
  io.out(
    `${dataDir} is now a single-member cluster (${id} at ${result.members[id as string]}) at index ${result.index}, term ${result.term}:` +
      ` ${result.replayed} log entries kept, ${result.uncommitted} of them not known to be committed before`,
  );
  return 0;
}

function opener(name: string): StorageOpener {
  const open = openers[name];
  if (open === undefined)
    throw new ConfigError([`--storage must be fs or sqlite, got ${JSON.stringify(name)}`]);
  return open;
}

/** The store in a data directory, from its files (as `raftkit check` tells them apart). */
async function detectStorage(dir: string): Promise<string> {
  return (await readdir(dir)).some((name) => name.endsWith('.sqlite')) ? 'sqlite' : 'fs';
}

/** How long `backup create` waits for the answer, and then for each next piece of it. */
const DOWNLOAD_TIMEOUT_MS = 30_000;

/**
 * The chunks of `body`, failing once none has come for `idleMs`: a server that stops sending (a
 * paused process, a link that drops every packet) would otherwise keep a download waiting
 * forever. Cancelling the reader ends the download on every runtime; aborting `fetch`'s signal
 * would not on Deno, where it no longer reaches a body once a garbage collection has run.
 */
async function* untilSilent(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  from: string,
): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const silence = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), idleMs);
      });
      const next = await Promise.race([reader.read(), silence]).finally(() => clearTimeout(timer));
      if (next === null) throw new Error(`${from} sent nothing for ${idleMs} ms`);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function onlyFile(command: string, positionals: readonly string[]): string {
  if (positionals.length !== 1) throw new ConfigError([`raftkit ${command} needs exactly one FILE`]);
  return positionals[0]!;
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new ConfigError([`${flag} must be a positive integer, got ${JSON.stringify(text)}`]);
  return value;
}

function parseMembers(text: string): Record<string, string> {
  const members: Record<string, string> = {};
  for (const item of text.split(',')) {
    const at = item.indexOf('=');
    if (at <= 0 || !/^https?:\/\//.test(item.slice(at + 1))) {
      throw new ConfigError([`--members: ${JSON.stringify(item)} is not id=http(s)://host:port`]);
    }
    members[item.slice(0, at)] = item.slice(at + 1);
  }
  return members;
}

/** A file's chunks, counting the bytes read (compressed: the file's size is their total). */
async function* countedChunks(file: string, onBytes: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let read = 0;
  for await (const chunk of readFileChunks(file)) {
    read += chunk.length;
    onBytes(read);
    yield chunk;
  }
}

async function withFileProgress<T>(
  label: string,
  file: string,
  io: CliIo,
  run: (source: AsyncIterable<Uint8Array>) => Promise<T>,
): Promise<T> {
  const progress = startProgress(label, (await stat(file)).size, io);
  try {
    return await run(countedChunks(file, (bytes) => progress.update(bytes)));
  } finally {
    progress.stop();
  }
}
