import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join as joinPath, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_BODY_BYTES, maxEntryBytesFor } from '@raftkit/transport-http';
import { DEFAULT_LIMITS, maxCommandBytes } from './limits.ts';
import { LOG_LEVELS, type LogFormat, type LogLevel } from './log.ts';

/** Everything `raftkit serve` (and each app) needs, after validation. */
export interface ServeConfig {
  readonly id: string;
  readonly clusterId: string;
  readonly hostname: string;
  readonly port: number;
  /** The URL peers and clients reach this node at. */
  readonly advertiseUrl: string;
  /** Members of a brand-new cluster (id → URL); ignored when the data directory has state. */
  readonly members: Readonly<Record<string, string>>;
  /** Set with `--join`: the URL of a running member to add this node through. */
  readonly join: string | null;
  readonly joinRole: 'voter' | 'learner';
  readonly dataDir: string;
  readonly storage: 'fs' | 'sqlite';
  readonly secret: string;
  /** The secret came on the command line, where `ps` shows it: worth a warning. */
  readonly secretOnCommandLine: boolean;
  readonly clientToken: string | null;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  readonly tickMs: number;
  readonly snapshotEntries: number | null;
  readonly maxBodyBytes: number | null;
  readonly maxValueBytes: number | null;
  /** Origins a browser may call the client API from (CORS); empty: same-origin only. */
  readonly corsOrigins: readonly string[];
  /** Where backup jobs write (`POST /v1/backups` and the schedule); beside the data directory. */
  readonly backupDir: string;
  /** With `--backup-every`: a backup job every `everyMs`, keeping the newest `keep`. */
  readonly backupSchedule: { readonly everyMs: number; readonly keep: number } | null;
  readonly logLevel: LogLevel;
  /** Null: pretty when the log goes to a terminal, JSON otherwise. */
  readonly logFormat: LogFormat | null;
}

/** Bad configuration: `problems` says what to fix, one line each. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** Scheduled backups kept when `--backup-keep` is not given: a week of daily ones. */
const DEFAULT_BACKUP_KEEP = 7;

/** Each flag, the environment variable that sets it when the flag is absent, and its help. */
export const SERVE_FLAGS = {
  id: { env: 'RAFTKIT_ID', help: 'node id (letters, digits, . _ -)' },
  'cluster-id': {
    env: 'RAFTKIT_CLUSTER_ID',
    help: 'cluster name written into the data directory (default raftkit)',
  },
  listen: { env: 'RAFTKIT_LISTEN', help: 'host:port to listen on (default 127.0.0.1:7001)' },
  advertise: {
    env: 'RAFTKIT_ADVERTISE',
    help: 'URL peers and clients use for this node (default from --listen)',
  },
  members: { env: 'RAFTKIT_MEMBERS', help: 'initial members, id=url,id=url (default: this node alone)' },
  join: { env: 'RAFTKIT_JOIN', help: 'URL of a running member: add this node to that cluster' },
  'join-role': { env: 'RAFTKIT_JOIN_ROLE', help: 'role after --join: voter (default) or learner' },
  'data-dir': { env: 'RAFTKIT_DATA_DIR', help: 'data directory (default ./data/<id>)' },
  storage: { env: 'RAFTKIT_STORAGE', help: 'fs (default) or sqlite' },
  secret: {
    env: 'RAFTKIT_SECRET',
    help: 'cluster secret shared by all members, at least 16 bytes (required)',
  },
  'secret-file': {
    env: 'RAFTKIT_SECRET_FILE',
    help: 'file holding the cluster secret, instead of --secret (a command line is visible to every user in ps)',
  },
  'client-token': { env: 'RAFTKIT_CLIENT_TOKEN', help: 'bearer token clients must present (default: none)' },
  'cors-origin': {
    env: 'RAFTKIT_CORS_ORIGIN',
    help: 'browser origins (comma-separated, e.g. https://app.example) that may call the client API',
  },
  'tls-cert': { env: 'RAFTKIT_TLS_CERT', help: 'PEM certificate file: serve HTTPS (with --tls-key)' },
  'tls-key': { env: 'RAFTKIT_TLS_KEY', help: 'PEM private key file' },
  'tick-ms': { env: 'RAFTKIT_TICK_MS', help: 'Raft tick in ms (default 100; election after 10 ticks)' },
  'snapshot-every': { env: 'RAFTKIT_SNAPSHOT_EVERY', help: 'take a snapshot every N applied entries' },
  'max-body-bytes': { env: 'RAFTKIT_MAX_BODY_BYTES', help: 'peer message size limit, same on every member' },
  'max-value-bytes': {
    env: 'RAFTKIT_MAX_VALUE_BYTES',
    help: 'largest value a client may write (default 1 MiB)',
  },
  'backup-dir': {
    env: 'RAFTKIT_BACKUP_DIR',
    help: 'where backup jobs write, outside the data directory (default <data-dir>-backups)',
  },
  'backup-every': {
    env: 'RAFTKIT_BACKUP_EVERY',
    help: 'start a backup job every N minutes (default: only on POST /v1/backups)',
  },
  'backup-keep': {
    env: 'RAFTKIT_BACKUP_KEEP',
    help: `with --backup-every: keep the newest K backups, deleting older ones (default ${DEFAULT_BACKUP_KEEP})`,
  },
  'log-level': { env: 'RAFTKIT_LOG_LEVEL', help: 'debug, info (default), warn or error' },
  'log-format': {
    env: 'RAFTKIT_LOG_FORMAT',
    help: 'json (one object a line) or pretty; default pretty on a terminal, else json',
  },
} as const;

type Flag = keyof typeof SERVE_FLAGS;

const ID = /^[A-Za-z0-9._-]{1,64}$/;
/**
 * The smallest peer body limit that works: the core packs up to 1 MiB of entries into one
 * AppendEntries (its default `maxMessageBytes`, which the driver does not expose), and the
 * transport drops any message that does not fit, so a smaller limit would stall replication.
 */
const MIN_BODY_BYTES = 1024 * 1024 + 256 * 1024;

/** Reads `serve`'s flags, falling back to environment variables, and checks every value. */
export function parseServeConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ServeConfig {
  const options = Object.fromEntries(
    Object.keys(SERVE_FLAGS).map((name) => [name, { type: 'string' as const }]),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError([`${(error as Error).message} (see raftkit serve --help)`]);
  }
  const get = (flag: Flag): string | undefined => {
    const value = values[flag] ?? env[SERVE_FLAGS[flag].env];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const problems: string[] = [];
  const where = (flag: Flag) => `--${flag} (or ${SERVE_FLAGS[flag].env})`;

  const id = get('id');
  if (id === undefined) problems.push(`${where('id')} is required`);
  else if (!ID.test(id))
    problems.push(`${where('id')} must be 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(id)}`);

  const clusterId = get('cluster-id') ?? 'raftkit';
  if (!ID.test(clusterId))
    problems.push(`${where('cluster-id')} must be 1-64 letters, digits, ".", "_" or "-"`);

  const listen = get('listen') ?? '127.0.0.1:7001';
  const listenMatch = /^(.*):(\d{1,5})$/.exec(listen);
  const hostname = listenMatch?.[1]?.replace(/^\[(.*)\]$/, '$1') ?? '';
  const port = Number(listenMatch?.[2]);
  if (listenMatch === null || hostname === '' || !(port >= 0 && port <= 65535)) {
    problems.push(`${where('listen')} must be host:port, e.g. 127.0.0.1:7001, got ${JSON.stringify(listen)}`);
  }

  const certFile = get('tls-cert');
  const keyFile = get('tls-key');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push(`${where('tls-cert')} and ${where('tls-key')} must be given together`);
  }
  const tls = certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : null;

  const scheme = tls === null ? 'http' : 'https';
  const advertiseUrl = (get('advertise') ?? `${scheme}://${listen}`).replace(/\/+$/, '');
  if (!isHttpUrl(advertiseUrl))
    problems.push(`${where('advertise')} must be an http or https URL, got ${JSON.stringify(advertiseUrl)}`);

  const members: Record<string, string> = {};
  const membersText = get('members');
  if (membersText !== undefined) {
    for (const item of membersText.split(',')) {
      const at = item.indexOf('=');
      const memberId = item.slice(0, at).trim();
      const url = item
        .slice(at + 1)
        .trim()
        .replace(/\/+$/, '');
      if (at < 1 || !ID.test(memberId) || !isHttpUrl(url)) {
        problems.push(`${where('members')}: ${JSON.stringify(item)} is not id=http(s)://host:port`);
      } else {
        members[memberId] = url;
      }
    }
    if (id !== undefined && Object.keys(members).length > 0 && !(id in members)) {
      problems.push(`${where('members')} must include this node (${id})`);
    }
  } else if (id !== undefined) {
    members[id] = advertiseUrl;
  }

  const join = get('join') ?? null;
  if (join !== null && !isHttpUrl(join)) problems.push(`${where('join')} must be an http or https URL`);
  if (join !== null && membersText !== undefined)
    problems.push(`give either ${where('join')} or ${where('members')}, not both`);
  const joinRole = get('join-role') ?? 'voter';
  if (joinRole !== 'voter' && joinRole !== 'learner')
    problems.push(`${where('join-role')} must be voter or learner`);

  const storage = get('storage') ?? 'fs';
  if (storage !== 'fs' && storage !== 'sqlite')
    problems.push(`${where('storage')} must be fs or sqlite, got ${JSON.stringify(storage)}`);

  const secretFile = get('secret-file');
  let secret = get('secret');
  if (secretFile !== undefined) {
    if (secret !== undefined)
      problems.push(`give either ${where('secret')} or ${where('secret-file')}, not both`);
    try {
      secret = readFileSync(secretFile, 'utf8').trim();
    } catch (error) {
      problems.push(
        `${where('secret-file')}: cannot read ${secretFile} (${(error as { code?: string }).code ?? String(error)})`,
      );
    }
  }
  if (secret === undefined)
    problems.push(`${where('secret')} is required: the same random string (16+ bytes) on every member`);
  else if (new TextEncoder().encode(secret).length < 16)
    problems.push(`${where('secret')} must be at least 16 bytes`);

  const positive = (flag: Flag): number | null => {
    const text = get(flag);
    if (text === undefined) return null;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1) {
      problems.push(`${where(flag)} must be a positive integer, got ${JSON.stringify(text)}`);
      return null;
    }
    return n;
  };
  const tickMs = positive('tick-ms') ?? 100;
  const snapshotEntries = positive('snapshot-every');
  const maxBodyBytes = positive('max-body-bytes');
  if (maxBodyBytes !== null && maxBodyBytes < MIN_BODY_BYTES) {
    problems.push(
      `${where('max-body-bytes')} must be at least ${MIN_BODY_BYTES} (one AppendEntries carries up to 1 MiB of entries)`,
    );
  }
  const maxValueBytes = positive('max-value-bytes');
  if (maxValueBytes !== null) {
    // A write travels in one log entry (a cas with two values), and one entry must fit one peer
    // message: a larger value could be appended but never replicated, stalling every later write.
    const bodyBytes = maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const entryBytes = maxEntryBytesFor(bodyBytes);
    const { maxKeyBytes } = DEFAULT_LIMITS;
    if (maxCommandBytes({ maxKeyBytes, maxValueBytes }) > entryBytes) {
      const largest = Math.floor((entryBytes - maxCommandBytes({ maxKeyBytes, maxValueBytes: 0 })) / 2);
      problems.push(
        `${where('max-value-bytes')} must be at most ${largest} with a peer message limit of ${bodyBytes} bytes ` +
          `(${where('max-body-bytes')}): a cas carries two values in one log entry, which must fit one peer message`,
      );
    }
  }

  const dataDir = get('data-dir') ?? `./data/${id}`;
  const backupDir = get('backup-dir') ?? joinPath(dirname(dataDir), `${basename(dataDir)}-backups`);
  const inside = relative(resolve(dataDir), resolve(backupDir));
  if (inside === '' || (inside.split(sep)[0] !== '..' && !isAbsolute(inside))) {
    // The store owns its directory's contents; a backup inside it would be a stranger there.
    problems.push(`${where('backup-dir')} must be outside the data directory ${dataDir}`);
  }
  const backupEvery = positive('backup-every');
  const backupKeep = positive('backup-keep');
  if (backupKeep !== null && get('backup-every') === undefined)
    problems.push(
      `${where('backup-keep')} needs ${where('backup-every')}: only scheduled backups are pruned`,
    );
  // setInterval takes at most 2^31-1 ms (about 24.8 days) and fires at once past it.
  const maxMinutes = Math.floor((2 ** 31 - 1) / 60_000);
  if (backupEvery !== null && backupEvery > maxMinutes)
    problems.push(`${where('backup-every')} must be at most ${maxMinutes} minutes, got ${backupEvery}`);
  const backupSchedule =
    backupEvery === null ? null : { everyMs: backupEvery * 60_000, keep: backupKeep ?? DEFAULT_BACKUP_KEEP };

  const corsOrigins = (get('cors-origin') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of corsOrigins) {
    if (!isHttpUrl(origin) || new URL(origin).origin !== origin)
      problems.push(
        `${where('cors-origin')}: ${JSON.stringify(origin)} is not an origin like https://app.example`,
      );
  }
  const logLevel = get('log-level') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    problems.push(
      `${where('log-level')} must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`,
    );
  const logFormat = get('log-format') ?? null;
  if (logFormat !== null && logFormat !== 'json' && logFormat !== 'pretty')
    problems.push(`${where('log-format')} must be json or pretty, got ${JSON.stringify(logFormat)}`);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    id: id!,
    clusterId,
    hostname,
    port,
    advertiseUrl,
    members,
    join,
    joinRole: joinRole as 'voter' | 'learner',
    dataDir,
    storage: storage as 'fs' | 'sqlite',
    secret: secret!,
    secretOnCommandLine: typeof values.secret === 'string',
    clientToken: get('client-token') ?? null,
    tls,
    tickMs,
    snapshotEntries,
    maxBodyBytes,
    maxValueBytes,
    corsOrigins,
    backupDir,
    backupSchedule,
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat | null,
  };
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'http:' || protocol === 'https:';
}

/**
 * The `raftkit serve` usage text: every flag with its environment variable and meaning, generated from the
 * same table the parser reads, so the two cannot drift.
 */
export function serveHelp(): string {
  const lines = Object.entries(SERVE_FLAGS).map(
    ([flag, { env, help }]) => `  --${flag.padEnd(16)} ${env.padEnd(24)} ${help}`,
  );
  return `Usage: raftkit serve [flags]\n\nFlag                 Environment variable     Meaning\n${lines.join('\n')}\n`;
}
