import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseServeConfig } from './config.ts';

const secret = '0123456789abcdef';
const problems = (argv: string[], env: Record<string, string> = {}): readonly string[] => {
  try {
    parseServeConfig(argv, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('serve configuration', () => {
  it('fills defaults: one-node cluster on 127.0.0.1:7001 with fs storage under ./data', () => {
    expect(parseServeConfig(['--id', 'n1', '--secret', secret], {})).toMatchObject({
      id: 'n1',
      hostname: '127.0.0.1',
      port: 7001,
      advertiseUrl: 'http://127.0.0.1:7001',
      members: { n1: 'http://127.0.0.1:7001' },
      storage: 'fs',
      dataDir: './data/n1',
      join: null,
      tls: null,
    });
  });

  it('reads the environment when a flag is absent, the flag winning when both are given', () => {
    const env = {
      RAFTKIT_ID: 'env-id',
      RAFTKIT_SECRET: secret,
      RAFTKIT_STORAGE: 'sqlite',
      RAFTKIT_LISTEN: '0.0.0.0:9000',
    };
    expect(parseServeConfig(['--storage', 'fs'], env)).toMatchObject({
      id: 'env-id',
      storage: 'fs',
      port: 9000,
    });
  });

  it('parses members and advertises https when TLS is on', () => {
    const config = parseServeConfig(
      [
        '--id',
        'a',
        '--secret',
        secret,
        '--members',
        'a=https://h:1,b=https://h:2/',
        '--tls-cert',
        'c',
        '--tls-key',
        'k',
      ],
      {},
    );
    expect(config.members).toEqual({ a: 'https://h:1', b: 'https://h:2' });
    expect(config.advertiseUrl).toBe('https://127.0.0.1:7001');
  });

  it('says what to fix, for every problem at once', () => {
    const found = problems([
      '--id',
      'bad id',
      '--listen',
      'nohost',
      '--storage',
      'tape',
      '--tls-cert',
      'c',
      '--tick-ms',
      '0',
    ]);
    expect(found).toHaveLength(6);
    expect(found.join('\n')).toMatch(/--id .*letters/);
    expect(found.join('\n')).toMatch(/--listen .*host:port/);
    expect(found.join('\n')).toMatch(/--storage .*fs or sqlite/);
    expect(found.join('\n')).toMatch(/--tls-key .*together/);
    expect(found.join('\n')).toMatch(/--secret .*required/);
    expect(found.join('\n')).toMatch(/--tick-ms .*positive integer/);
  });

  it('refuses a short secret, members without this node, join with members, and unknown flags', () => {
    expect(problems(['--id', 'a', '--secret', 'short'])).toEqual([
      expect.stringMatching(/at least 16 bytes/),
    ]);
    expect(problems(['--id', 'a', '--secret', secret, '--members', 'b=http://h:1'])).toEqual([
      expect.stringMatching(/must include this node/),
    ]);
    expect(
      problems(['--id', 'a', '--secret', secret, '--members', 'a=http://h:1', '--join', 'http://h:2']),
    ).toEqual([expect.stringMatching(/either/)]);
    expect(problems(['--id', 'a', '--secret', secret, '--members', 'a=nope'])).toEqual([
      expect.stringMatching(/id=http/),
    ]);
    expect(problems(['--id', 'a', '--secret', secret, '--max-body-bytes', '1000'])).toEqual([
      expect.stringMatching(/at least/),
    ]);
    expect(problems(['--bogus'])).toEqual([expect.stringMatching(/bogus/)]);
  });

  // Issue 9, item 4: a value that fits no peer message was accepted, appended, never replicated,
  // and every later write timed out behind it.
  it('refuses a value limit whose writes could not fit one peer message', () => {
    const base = ['--id', 'a', '--secret', secret];
    expect(problems([...base, '--max-value-bytes', String(10 * 1024 * 1024)])).toEqual([
      expect.stringMatching(
        /--max-value-bytes .* must be at most \d+ with a peer message limit of 8388608 bytes/,
      ),
    ]);
    expect(problems([...base, '--max-value-bytes', String(3 * 1024 * 1024)])).toEqual([]);
    expect(
      problems([
        ...base,
        '--max-value-bytes',
        String(3 * 1024 * 1024),
        '--max-body-bytes',
        String(4 * 1024 * 1024),
      ]),
    ).toEqual([expect.stringMatching(/must be at most/)]);
  });

  it('reads the secret from a file, refusing both or an unreadable file, and notes a secret on the command line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'raftkit-config-'));
    try {
      const file = join(dir, 'secret');
      await writeFile(file, `${secret}\n`);
      expect(parseServeConfig(['--id', 'n1', '--secret-file', file], {})).toMatchObject({
        secret,
        secretOnCommandLine: false,
      });
      expect(parseServeConfig(['--id', 'n1', '--secret', secret], {}).secretOnCommandLine).toBe(true);
      expect(parseServeConfig(['--id', 'n1'], { RAFTKIT_SECRET: secret }).secretOnCommandLine).toBe(false);
      expect(problems(['--id', 'n1', '--secret', secret, '--secret-file', file])).toEqual([
        expect.stringMatching(/either .*--secret-file/),
      ]);
      expect(problems(['--id', 'n1', '--secret-file', join(dir, 'missing')])).toEqual([
        expect.stringMatching(/cannot read .*ENOENT/),
        expect.stringMatching(/is required/),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes CORS origins, refusing what is not an origin', () => {
    expect(
      parseServeConfig(
        ['--id', 'n1', '--secret', secret, '--cors-origin', 'https://a.example, http://b:8080'],
        {},
      ),
    ).toMatchObject({ corsOrigins: ['https://a.example', 'http://b:8080'] });
    expect(
      problems(['--id', 'n1', '--secret', secret, '--cors-origin', 'https://a.example/path,nope']),
    ).toEqual([
      expect.stringMatching(/"https:\/\/a.example\/path" is not an origin/),
      expect.stringMatching(/"nope" is not an origin/),
    ]);
  });

  it('takes a log level and format, refusing others', () => {
    expect(parseServeConfig(['--id', 'n1', '--secret', secret], {})).toMatchObject({
      logLevel: 'info',
      logFormat: null,
    });
    expect(
      parseServeConfig(
        ['--id', 'n1', '--secret', secret, '--log-level', 'debug', '--log-format', 'json'],
        {},
      ),
    ).toMatchObject({ logLevel: 'debug', logFormat: 'json' });
    expect(
      problems(['--id', 'n1', '--secret', secret, '--log-level', 'loud', '--log-format', 'xml']),
    ).toEqual([
      expect.stringMatching(/--log-level .* must be one of debug, info, warn, error/),
      expect.stringMatching(/--log-format .* must be json or pretty/),
    ]);
  });

  it('takes a backup directory, schedule and retention, refusing bad values with one line each', () => {
    const base = ['--id', 'n1', '--secret', secret, '--data-dir', '/srv/raft/n1'];
    expect(parseServeConfig(base, {})).toMatchObject({
      backupDir: '/srv/raft/n1-backups',
      backupSchedule: null,
    });
    expect(
      parseServeConfig([...base, '--backup-every', '60', '--backup-dir', '/backups'], {
        RAFTKIT_BACKUP_KEEP: '3',
      }),
    ).toMatchObject({ backupDir: '/backups', backupSchedule: { everyMs: 3_600_000, keep: 3 } });
    expect(parseServeConfig([...base, '--backup-every', '1440'], {})).toMatchObject({
      backupSchedule: { everyMs: 86_400_000, keep: 7 },
    });
    expect(problems([...base, '--backup-every', '0', '--backup-keep', 'x'])).toEqual([
      '--backup-every (or RAFTKIT_BACKUP_EVERY) must be a positive integer, got "0"',
      '--backup-keep (or RAFTKIT_BACKUP_KEEP) must be a positive integer, got "x"',
    ]);
    expect(problems([...base, '--backup-every', '1.5', '--backup-keep', '2'])).toEqual([
      '--backup-every (or RAFTKIT_BACKUP_EVERY) must be a positive integer, got "1.5"',
    ]);
    expect(problems([...base, '--backup-every', '40000'])).toEqual([
      '--backup-every (or RAFTKIT_BACKUP_EVERY) must be at most 35791 minutes, got 40000',
    ]);
    expect(problems([...base, '--backup-keep', '2'])).toEqual([
      '--backup-keep (or RAFTKIT_BACKUP_KEEP) needs --backup-every (or RAFTKIT_BACKUP_EVERY): only scheduled backups are pruned',
    ]);
    for (const inside of ['/srv/raft/n1', '/srv/raft/n1/backups', '/srv/raft/n1/./x/..']) {
      expect(problems([...base, '--backup-dir', inside])).toEqual([
        '--backup-dir (or RAFTKIT_BACKUP_DIR) must be outside the data directory /srv/raft/n1',
      ]);
    }
    expect(problems([...base, '--backup-dir', '/srv/raft/n1..old'])).toEqual([]);
  });
});
