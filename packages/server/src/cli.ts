import { readdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { checkFsDataDir, renderFsCheckReport } from '@raftkit/storage-fs';
import { checkSqliteDataDir, renderSqliteCheck } from '@raftkit/storage-sqlite';
import { ApiClientError, apiJson, apiRequest } from './client.ts';
import { ConfigError, parseServeConfig, serveHelp } from './config.ts';
import { type Listen, startServer } from './launch.ts';
import { createLogger } from './log.ts';

/** Where the CLI writes and how it ends; the runtime's process, or a test's capture. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Resolves on Ctrl-C / SIGTERM; `serve` stops the node then. */
  readonly shutdownSignal: () => Promise<void>;
  /** Whether `err` goes to a terminal: logs are pretty there, JSON lines otherwise. */
  readonly errIsTerminal?: boolean;
}

const USAGE = `Usage: raftkit <command> [flags]

Commands:
  serve                 run a node (raftkit serve --help for its flags)
  status                print a node's status
  get <key>             print a value (--consistency linearizable|lease|stale)
  put <key> [value]     write a value (read from stdin when absent)
  del <key>             delete a key
  check [--data-dir D]  verify a stopped node's data directory (fs or sqlite, detected)

Client flags: --url (RAFTKIT_URL, default http://127.0.0.1:7001), --token (RAFTKIT_CLIENT_TOKEN)
`;

/** Runs one command; resolves to the process exit code. */
export async function runCli(argv: readonly string[], listen: Listen, io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest, listen, io);
      case 'status':
      case 'get':
      case 'put':
      case 'del':
        return await client(command, rest, io);
      case 'check':
        return await check(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.err(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 2;
    }
    if (error instanceof ApiClientError) {
      io.err(error.message);
      return error.status === 404 ? 4 : 1;
    }
    io.err(`raftkit ${command}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  }
}

async function serve(argv: readonly string[], listen: Listen, io: CliIo): Promise<number> {
  if (argv.includes('--help')) {
    io.out(serveHelp());
    return 0;
  }
  const config = parseServeConfig(argv, io.env);
  const log = createLogger({
    level: config.logLevel,
    format: config.logFormat ?? (io.errIsTerminal === true ? 'pretty' : 'json'),
    write: io.err,
    base: { node: config.id },
  });
  if (config.secretOnCommandLine) {
    log.warn(
      'the cluster secret was given with --secret: every user can read it in the process list; use RAFTKIT_SECRET or --secret-file',
    );
  }
  const server = await startServer(config, listen, log);
  log.info('serving', { url: config.advertiseUrl, storage: config.storage, dataDir: config.dataDir });
  io.out(
    `raftkit node ${config.id} serving ${config.advertiseUrl} (storage ${config.storage} in ${config.dataDir})`,
  );
  const outcome = await Promise.race([
    io.shutdownSignal().then(() => 0),
    server.fatal.then((error) => {
      io.err(`node ${config.id} stopped on a fatal error: ${error.message}`);
      return 1;
    }),
  ]);
  await server.stop();
  return outcome;
}

async function client(
  command: 'status' | 'get' | 'put' | 'del',
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { url: { type: 'string' }, token: { type: 'string' }, consistency: { type: 'string' } },
    allowPositionals: true,
  });
  const url = values.url ?? io.env.RAFTKIT_URL ?? 'http://127.0.0.1:7001';
  const options = { token: values.token ?? io.env.RAFTKIT_CLIENT_TOKEN ?? null };
  const key = positionals[0];
  if (command !== 'status' && key === undefined) throw new ConfigError([`raftkit ${command} needs a key`]);
  const path = `/v1/kv/${encodeURIComponent(key ?? '')}`;
  switch (command) {
    case 'status':
      io.out(JSON.stringify(await apiJson(url, '/v1/status', {}, options), null, 2));
      return 0;
    case 'get': {
      const query =
        values.consistency === undefined ? '' : `?consistency=${encodeURIComponent(values.consistency)}`;
      const response = await apiRequest(url, path + query, {}, options);
      io.out(new TextDecoder().decode(await response.arrayBuffer()));
      return 0;
    }
    case 'put': {
      const body = positionals[1] ?? (await readStdin());
      io.out(JSON.stringify(await (await apiRequest(url, path, { method: 'PUT', body }, options)).json()));
      return 0;
    }
    case 'del':
      io.out(JSON.stringify(await apiJson(url, path, { method: 'DELETE' }, options)));
      return 0;
  }
}

/** Verifies a stopped node's data directory; the store is detected from its files. */
async function check(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { 'data-dir': { type: 'string' } } });
  const dir = values['data-dir'] ?? io.env.RAFTKIT_DATA_DIR;
  if (dir === undefined) throw new ConfigError(['raftkit check needs --data-dir (or RAFTKIT_DATA_DIR)']);
  const names = await readdir(dir);
  if (names.some((name) => name.endsWith('.sqlite'))) {
    const report = await checkSqliteDataDir(dir);
    io.out(renderSqliteCheck(report));
    return report.problems.length === 0 ? 0 : 1;
  }
  const report = await checkFsDataDir(dir);
  io.out(renderFsCheckReport(report));
  return report.problems.length === 0 ? 0 : 1;
}

async function readStdin(): Promise<Uint8Array<ArrayBuffer>> {
  const { stdin } = await import('node:process');
  const chunks: Uint8Array[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Uint8Array);
  return new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer());
}
