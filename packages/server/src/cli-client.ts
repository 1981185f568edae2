import { parseArgs } from 'node:util';
import {
  type Consistency,
  type NodeStatus,
  OutcomeUnknownError,
  RaftkitClient,
  RaftkitError,
} from '@raftkit/client';
import type { CliIo } from './cli.ts';
import { ConfigError } from './config.ts';

/**
 * The client commands of `raftkit` (etcdctl's counterparts), on `@raftkit/client`. Each prints a
 * table for a person or `--output json` for a script, and ends with an exit code from
 * `EXIT_CODES`, so a script can tell "not there" from "cluster down" from "may have happened".
 */
export const EXIT_CODES = {
  ok: 0,
  /** The cluster refused: bad input, a compare-and-swap that did not match, a membership rule. */
  failed: 1,
  /** Bad command line. */
  usage: 2,
  /** No node answered, or none could serve it (no leader, no quorum): nothing happened. */
  unavailable: 3,
  notFound: 4,
  /** A write that may or may not have been applied (a 504, or a connection lost after sending). */
  outcomeUnknown: 5,
} as const;

export const CLIENT_USAGE = `  status                    every member: role, term, indexes, lag, health
  get <key>                 print a value (--consistency linearizable|lease|stale)
  put <key> [value]         write a value (read from stdin when absent)
  del <key>                 delete a key
  cas <key> <value>         set a key if it holds --expected V (or --absent); --delete for no value
  list [--prefix P]         keys in order (--limit N, --after K)
  member list               the members and their roles
  member add <id> <url>     add a voter (--learner for a learner)
  member remove <id>        remove a member
  member promote <id>       make a learner a voter
  leader                    print the leader
  leader transfer <id>      hand leadership to another voter`;

export const CLIENT_FLAGS = `Client flags: --url URL[,URL...] (RAFTKIT_URL, default http://127.0.0.1:7001; host:port means http),
  --token T (RAFTKIT_CLIENT_TOKEN), --output table|json (RAFTKIT_OUTPUT), --timeout MS (default 5000)
Exit codes: 0 ok, 1 refused, 2 usage, 3 unavailable, 4 not found, 5 outcome unknown`;

export const CLIENT_COMMANDS = new Set(['status', 'get', 'put', 'del', 'cas', 'list', 'member', 'leader']);

const HELP: Record<string, string> = {
  status:
    'raftkit status [--url URL] [--output table|json]\n  Asks one node for the members, then every member for its own view.',
  get: 'raftkit get <key> [--consistency linearizable|lease|stale]\n  Prints the value; exit 4 when absent.',
  put: 'raftkit put <key> [value]\n  Writes the value, or standard input when no value is given.',
  del: 'raftkit del <key>',
  cas: 'raftkit cas <key> <value> (--expected V | --absent) [--delete]\n  Sets the key only if it holds V (or is absent); exit 1 with the value found otherwise.',
  list: 'raftkit list [--prefix P] [--after K] [--limit N] [--consistency ...]',
  member: 'raftkit member list | add <id> <url> [--learner] | remove <id> | promote <id>',
  leader: 'raftkit leader [transfer <id>]',
};

type Output = 'table' | 'json';

export async function clientCommand(command: string, argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(command, argv);
  if (values.help === true) {
    io.out(`${HELP[command]}\n\n${CLIENT_FLAGS}`);
    return EXIT_CODES.ok;
  }
  const output = outputOf(values.output ?? io.env.RAFTKIT_OUTPUT);
  const urls = (values.url ?? io.env.RAFTKIT_URL ?? 'http://127.0.0.1:7001')
    .split(',')
    .filter((u) => u !== '');
  let client: RaftkitClient;
  try {
    client = new RaftkitClient({
      endpoints: urls,
      ...((values.token ?? io.env.RAFTKIT_CLIENT_TOKEN)
        ? { token: (values.token ?? io.env.RAFTKIT_CLIENT_TOKEN)! }
        : {}),
      timeoutMs: positiveInteger(values.timeout, '--timeout') ?? 5_000,
    });
  } catch (error) {
    throw new ConfigError([`--url: ${(error as Error).message}`]);
  }
  const print = (table: string, json: unknown) =>
    io.out(output === 'json' ? JSON.stringify(json, null, 2) : table);
  try {
    return await run(command, positionals, values, client, print, io);
  } catch (error) {
    return report(error, io);
  }
}

type Values = ReturnType<typeof parse>['values'];

async function run(
  command: string,
  args: readonly string[],
  values: Values,
  client: RaftkitClient,
  print: (table: string, json: unknown) => void,
  io: CliIo,
): Promise<number> {
  const need = (n: number, what: string) => {
    if (args.length < n)
      throw new ConfigError([`raftkit ${command} needs ${what} (see raftkit ${command} --help)`]);
  };
  const consistency = consistencyOf(values.consistency);
  switch (command) {
    case 'status': {
      const rows = await clusterStatus(client);
      print(renderTable(STATUS_COLUMNS, rows), rows);
      return rows.every((row) => row.health === 'ok') ? EXIT_CODES.ok : EXIT_CODES.unavailable;
    }
    case 'get': {
      need(1, 'a key');
      const value = await client.getText(args[0]!, { consistency });
      if (value === null) {
        io.err(`no key ${JSON.stringify(args[0])}`);
        return EXIT_CODES.notFound;
      }
      print(value, { key: args[0], value });
      return EXIT_CODES.ok;
    }
    case 'put': {
      need(1, 'a key');
      const value = args[1] ?? (await readStdin());
      const { index } = await client.put(args[0]!, value);
      print(`OK (index ${index})`, { index });
      return EXIT_CODES.ok;
    }
    case 'del': {
      need(1, 'a key');
      const { index } = await client.delete(args[0]!);
      print(`OK (index ${index})`, { index });
      return EXIT_CODES.ok;
    }
    case 'cas': {
      need(values.delete === true ? 1 : 2, values.delete === true ? 'a key' : 'a key and a value');
      if ((values.expected === undefined) === (values.absent !== true)) {
        throw new ConfigError(['raftkit cas needs exactly one of --expected V and --absent']);
      }
      const expected = values.absent === true ? null : values.expected!;
      const result = await client.cas(args[0]!, expected, values.delete === true ? null : args[1]!);
      if (result.swapped) {
        print(`OK (index ${result.index})`, result);
        return EXIT_CODES.ok;
      }
      print(
        `not swapped: the key holds ${result.current === null ? 'nothing' : JSON.stringify(result.current)}`,
        result,
      );
      return EXIT_CODES.failed;
    }
    case 'list': {
      const page = await client.list({
        consistency,
        ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
        ...(values.after === undefined ? {} : { after: values.after }),
        ...(values.limit === undefined ? {} : { limit: positiveInteger(values.limit, '--limit')! }),
      });
      print([...page.keys, ...(page.next === null ? [] : [`(more: --after ${page.next})`])].join('\n'), page);
      return EXIT_CODES.ok;
    }
    case 'member': {
      const [action = 'list', id, url] = args;
      if (action === 'list') {
        const members = (await client.members()).map((m) => ({ ...m, url: m.url ?? '' }));
        print(renderTable(['id', 'role', 'url'], members), members);
        return EXIT_CODES.ok;
      }
      if (id === undefined) throw new ConfigError([`raftkit member ${action} needs a member id`]);
      let after: { members: readonly unknown[] };
      if (action === 'add') {
        if (url === undefined) throw new ConfigError(['raftkit member add needs an id and a URL']);
        after = await client.addMember(id, url, values.learner === true ? 'learner' : 'voter');
      } else if (action === 'remove') after = await client.removeMember(id);
      else if (action === 'promote') after = await client.promote(id);
      else
        throw new ConfigError([
          `unknown member action ${JSON.stringify(action)} (list, add, remove, promote)`,
        ]);
      print(`OK: ${action} ${id}`, after);
      return EXIT_CODES.ok;
    }
    case 'leader': {
      if (args[0] === undefined) {
        const status = await client.status();
        print(status.leader === null ? 'no leader' : `${status.leader} ${status.leaderUrl ?? ''}`.trim(), {
          leader: status.leader,
          leaderUrl: status.leaderUrl,
          term: status.term,
        });
        return status.leader === null ? EXIT_CODES.unavailable : EXIT_CODES.ok;
      }
      if (args[0] !== 'transfer')
        throw new ConfigError([`unknown leader action ${JSON.stringify(args[0])} (transfer)`]);
      need(2, 'transfer <id>');
      const moved = await client.transferLeadership(args[1]!);
      print(`leader: ${moved.leader}`, moved);
      return EXIT_CODES.ok;
    }
  }
  throw new ConfigError([`unknown command ${JSON.stringify(command)}`]);
}

const STATUS_COLUMNS = ['id', 'url', 'role', 'term', 'commit', 'applied', 'lag', 'health'] as const;
type StatusRow = Record<(typeof STATUS_COLUMNS)[number], string | number>;

/** Every member's own view; lag is how far its applied index trails the highest commit index seen. */
async function clusterStatus(client: RaftkitClient): Promise<StatusRow[]> {
  const first = await client.status();
  const views = await Promise.all(
    first.members.map(async (member) => {
      if (member.url === null) return { member, view: null, error: 'no URL known' };
      try {
        return { member, view: await client.status({ url: member.url }), error: null };
      } catch (error) {
        return { member, view: null as NodeStatus | null, error: (error as Error).message };
      }
    }),
  );
  const commit = Math.max(0, ...views.map((v) => v.view?.commitIndex ?? 0));
  return views.map(({ member, view, error }) => ({
    id: member.id,
    url: member.url ?? '',
    role: view?.role ?? member.role,
    term: view?.term ?? '',
    commit: view?.commitIndex ?? '',
    applied: view?.appliedIndex ?? '',
    lag: view === null ? '' : commit - view.appliedIndex,
    health: view === null ? `unreachable: ${error}` : 'ok',
  }));
}

export function renderTable<K extends string>(
  columns: readonly K[],
  rows: readonly Partial<Record<K, unknown>>[],
): string {
  const cells = rows.map((row) => columns.map((column) => String(row[column] ?? '')));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

/** One line on stderr, and the exit code that says what kind of failure it was. */
function report(error: unknown, io: CliIo): number {
  if (error instanceof ConfigError) throw error;
  if (error instanceof OutcomeUnknownError) {
    io.err(`outcome unknown: ${error.message} (the write may have been applied)`);
    return EXIT_CODES.outcomeUnknown;
  }
  if (error instanceof RaftkitError) {
    io.err(error.message);
    if (error.code === 'NotFound') return EXIT_CODES.notFound;
    if (error.status === 0 || error.status === 503) return EXIT_CODES.unavailable;
    return EXIT_CODES.failed;
  }
  throw error;
}

function parse(command: string, argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        output: { type: 'string' },
        timeout: { type: 'string' },
        consistency: { type: 'string' },
        expected: { type: 'string' },
        absent: { type: 'boolean' },
        delete: { type: 'boolean' },
        prefix: { type: 'string' },
        after: { type: 'string' },
        limit: { type: 'string' },
        learner: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new ConfigError([
      `raftkit ${command}: ${(error as Error).message} (see raftkit ${command} --help)`,
    ]);
  }
}

function outputOf(text: string | undefined): Output {
  if (text === undefined || text === 'table') return 'table';
  if (text === 'json') return 'json';
  throw new ConfigError([`--output must be table or json, got ${JSON.stringify(text)}`]);
}

function consistencyOf(text: string | undefined): Consistency {
  if (text === undefined) return 'linearizable';
  if (text === 'linearizable' || text === 'lease' || text === 'stale') return text;
  throw new ConfigError([`--consistency must be linearizable, lease or stale, got ${JSON.stringify(text)}`]);
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new ConfigError([`${flag} must be a positive integer, got ${JSON.stringify(text)}`]);
  return n;
}

async function readStdin(): Promise<Uint8Array<ArrayBuffer>> {
  const { stdin } = await import('node:process');
  const chunks: Uint8Array[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Uint8Array);
  return new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer());
}
