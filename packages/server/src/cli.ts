import { readdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { RaftkitError } from '@raftkit/client';
import { checkFsDataDir, renderFsCheckReport } from '@raftkit/storage-fs';
import { checkSqliteDataDir, renderSqliteCheck } from '@raftkit/storage-sqlite';
import { BACKUP_USAGE, backupCli } from './backup-cli.ts';
import { CLIENT_COMMANDS, CLIENT_FLAGS, CLIENT_USAGE, clientCommand } from './cli-client.ts';
import { ConfigError, parseServeConfig, serveHelp } from './config.ts';
import { type ServerRuntime, startServer } from './launch.ts';
import { createLogger } from './log.ts';
import { VERSION } from './version.ts';

/** Where the CLI writes and how it ends; the runtime's process, or a test's capture. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Writes one line of command output (stdout for `processIo`). */
  readonly out: (line: string) => void;
  /** Writes one line of diagnostics and logs (stderr for `processIo`). */
  readonly err: (line: string) => void;
  /** Resolves on Ctrl-C / SIGTERM; `serve` stops the node then. */
  readonly shutdownSignal: () => Promise<void>;
  /** Whether `err` goes to a terminal: logs are pretty there, JSON lines otherwise. */
  readonly errIsTerminal?: boolean;
}

const USAGE = `Usage: raftkit <command> [flags]      (raftkit <command> --help for each)

Commands:
  serve                     run a node (raftkit serve --help for its flags)
${CLIENT_USAGE}
  check --data-dir D        verify a stopped node's data directory (fs or sqlite, detected)
${BACKUP_USAGE}

${CLIENT_FLAGS}
Other flags: --version, --help`;

/** Runs one command; resolves to the process exit code. */
export async function runCli(argv: readonly string[], runtime: ServerRuntime, io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command !== undefined && CLIENT_COMMANDS.has(command)) return await clientCommand(command, rest, io);
    switch (command) {
      case 'serve':
        return await serve(rest, runtime, io);
      case '--version':
      case '-v':
      case 'version':
        io.out(`raftkit ${VERSION}`);
        return 0;
      case 'check':
        return await check(rest, io);
      case 'backup':
      case 'restore':
      case 'recover':
        return await backupCli(command, rest, io);
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
    // An API call of `backup create` or `serve --join` that failed (the client commands report their own).
    if (error instanceof RaftkitError) {
      io.err(error.message);
      return error.status === 404 ? 4 : 1;
    }
    // One line for a person (a port in use, a foreign data directory, ...); RAFTKIT_DEBUG=1 adds the stack.
    const detail = error instanceof Error ? error.message : String(error);
    io.err(`raftkit ${command}: ${detail}`);
    if (io.env.RAFTKIT_DEBUG === '1' && error instanceof Error && error.stack !== undefined)
      io.err(error.stack);
    return 1;
  }
}

async function serve(argv: readonly string[], runtime: ServerRuntime, io: CliIo): Promise<number> {
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
  const server = await startServer(config, runtime, log);
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
  const stopped = server.stop();
  if (outcome === 0) await stopped;
  else if (!(await settlesWithin(stopped, FATAL_STOP_GRACE_MS))) {
    // The store is closed already, so nothing is left to protect, and a node that kept running
    // on a broken disk would never be restarted by its supervisor.
    log.error('the node did not finish stopping after its fatal error; exiting anyway', {
      waitedMs: FATAL_STOP_GRACE_MS,
    });
  }
  return outcome;
}

/**
 * How long `serve` waits, after a fatal error, for the rest of the node (its listener, its peer
 * connections) to close before it returns anyway: a runtime that never lets go of a connection
 * must not keep a broken node alive.
 */
const FATAL_STOP_GRACE_MS = 2000;

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = promise.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([settled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Verifies a stopped node's data directory; the store is detected from its files. */
const CHECK_HELP = `raftkit check --data-dir DIR
  Verifies a stopped node's data directory (fs or sqlite, detected from its files): every record's
  checksum, the log's order and terms, the snapshot. Exit 0 when sound, 1 with the problems found.`;

async function check(argv: readonly string[], io: CliIo): Promise<number> {
  let values: { 'data-dir'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    throw new ConfigError([`raftkit check: ${(error as Error).message} (see raftkit check --help)`]);
  }
  if (values.help === true) {
    io.out(CHECK_HELP);
    return 0;
  }
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
