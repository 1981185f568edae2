// What a new user gets from npm: every published @raftkit package is packed as `npm publish`
// would, installed from the tarballs into a fresh project outside the repository (third-party
// dependencies from the registry), type-checked by strict compilers, imported on Node, Bun and
// Deno, and used to run a 3-node cluster of a state machine of the consumer's own; the `raftkit`
// command they install serves a node and talks to it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./consumer/', import.meta.url));
const BIN = join(ROOT, 'node_modules/.bin');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface PackedFile {
  readonly path: string;
}
interface Packed {
  readonly name: string;
  readonly filename: string;
  readonly files: readonly PackedFile[];
}
interface Manifest {
  readonly name: string;
  readonly private?: boolean;
  readonly bin?: Record<string, string>;
  readonly exports: Record<string, string | Record<string, string>>;
}

/**
 * Runs a command to completion and returns its stdout; a failure carries stderr. The timeout
 * kills the child (by its pid, through execFile) rather than leave it running.
 */
function run(file: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: 110_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
    });
  });
}

/** The workspaces `npm publish` would publish: every non-private `@raftkit/*` under packages/. */
async function publishedPackages(): Promise<{ dir: string; manifest: Manifest }[]> {
  const found: { dir: string; manifest: Manifest }[] = [];
  for (const entry of await readdir(join(ROOT, 'packages'))) {
    const dir = join('packages', entry);
    const manifest = JSON.parse(await readFile(join(ROOT, dir, 'package.json'), 'utf8')) as Manifest;
    if (manifest.private !== true && manifest.name.startsWith('@raftkit/')) found.push({ dir, manifest });
  }
  return found;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

let work: string;
let project: string;
let packages: { dir: string; manifest: Manifest }[];
let packed: Packed[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'raftkit-install-'));
  const tarballs = join(work, 'tarballs');
  project = join(work, 'consumer');
  await mkdir(tarballs);
  packages = await publishedPackages();
  // The tarballs take dist as it is: bring it up to date first (incremental, quick when it is).
  await run(process.execPath, [TSC, '-b', 'tsconfig.build.json'], ROOT);
  const workspaces = packages.flatMap(({ dir }) => ['-w', dir]);
  packed = JSON.parse(
    await run('npm', ['pack', ...workspaces, '--json', '--pack-destination', tarballs], ROOT),
  ) as Packed[];

  await cp(FIXTURE, project, { recursive: true });
  const dependencies: Record<string, string> = { '@hono/node-server': '^2.1.9' };
  for (const p of packed) dependencies[p.name] = `file:${join(tarballs, p.filename)}`;
  const manifest = {
    name: 'raftkit-consumer',
    private: true,
    type: 'module',
    dependencies,
    devDependencies: { '@types/node': '^20.19.0' },
    // cbor-x's optional native addon: raftkit imports `cbor-x/decode`, which never loads it.
    allowScripts: { 'cbor-extract': false },
  };
  await writeFile(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const names = packed.map((p) => p.name);
  for (const [file, prefix] of [
    ['imports.mjs', ''],
    ['imports-npm.mjs', 'npm:'],
  ] as const) {
    const lines = names.map((name, i) => `import * as m${i} from '${prefix}${name}';`);
    const listing = names.map((name, i) => `'${name}': Object.keys(m${i}).sort()`).join(', ');
    lines.push(`console.log(JSON.stringify({ ${listing} }));`);
    await writeFile(join(project, file), `${lines.join('\n')}\n`);
  }
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project);
  await extractReadmeSnippets();
});

/**
 * Every ```ts block of the installed READMEs becomes a file of the consumer project, so the
 * type-checks below hold the READMEs to the same strict compilers as the consumer's own code.
 */
async function extractReadmeSnippets(): Promise<void> {
  for (const p of packed) {
    const readme = await readFile(join(project, 'node_modules', p.name, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/^```ts\n(.*?)^```$/gms)].map((match) => match[1]!);
    const base = p.name.replace('@raftkit/', 'readme-');
    for (const [i, code] of blocks.entries()) await writeFile(join(project, `${base}-${i + 1}.ts`), code);
  }
}

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** tsc for the nodenext config emits the JavaScript the cluster test runs: compile once. */
let nodenext: Promise<string> | undefined;
const compileNodenext = () => {
  nodenext ??= run(process.execPath, [TSC, '-p', 'tsconfig.nodenext.json'], project);
  return nodenext;
};

describe('the packed tarballs', () => {
  it('hold built JavaScript, .d.ts types, README, LICENSE and their bin files, and nothing else', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(packages.map((p) => p.manifest.name).sort());
    for (const p of packed) {
      const manifest = packages.find((q) => q.manifest.name === p.name)!.manifest;
      // A bin is a plain file outside dist/ (npm links it before a fresh clone's build).
      const bins = Object.values(manifest.bin ?? {}).map((file) => file.replace(/^\.\//, ''));
      const paths = p.files.map((f) => f.path);
      const stray = paths.filter(
        (path) =>
          !['package.json', 'README.md', 'LICENSE', ...bins].includes(path) &&
          !/^dist\/.+\.(js|d\.ts)$/.test(path),
      );
      expect({ name: p.name, stray }).toEqual({ name: p.name, stray: [] });
      expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', ...bins]));
      // Every condition a consumer's tools can match points into the tarball; only the repo's
      // own `@raftkit/source` condition names the TypeScript sources, which stay at home.
      for (const [subpath, target] of Object.entries(manifest.exports)) {
        const conditions = typeof target === 'string' ? { default: target } : target;
        for (const [condition, file] of Object.entries(conditions)) {
          if (condition === '@raftkit/source') continue;
          expect({ subpath, condition, packed: paths.includes(file.replace(/^\.\//, '')) }).toEqual({
            subpath,
            condition,
            packed: true,
          });
        }
      }
    }
  });

  it('install without vitest, better-sqlite3 or a native build of cbor-extract', async () => {
    const modules = join(project, 'node_modules');
    expect(await exists(join(modules, '@raftkit/testkit/package.json'))).toBe(true);
    expect(await exists(join(modules, 'vitest'))).toBe(false);
    expect(await exists(join(modules, 'better-sqlite3'))).toBe(false);
    expect(await exists(join(modules, 'cbor-extract/build'))).toBe(false);
  });

  it('carry README snippets for the type-checks to hold to', async () => {
    const snippets = (await readdir(project)).filter((file) => file.startsWith('readme-'));
    expect(snippets.length).toBeGreaterThan(0);
  });

  it('type-check under strict tsc with module nodenext, skipLibCheck off', async () => {
    await compileNodenext();
  });

  it('type-check under strict tsc with moduleResolution bundler, skipLibCheck off', async () => {
    await run(process.execPath, [TSC, '-p', 'tsconfig.bundler.json'], project);
  });

  it('type-check under deno check', async () => {
    await run(join(BIN, 'deno'), ['check', 'cluster.ts', 'sqlite.ts'], project);
  });

  it('import with the same exports on Node, Bun and Deno (bare and npm: specifiers)', async () => {
    const onNode = JSON.parse(await run(process.execPath, ['imports.mjs'], project)) as Record<
      string,
      string[]
    >;
    expect(Object.keys(onNode).sort()).toEqual(packed.map((p) => p.name).sort());
    for (const [name, exported] of Object.entries(onNode)) {
      expect({ name, empty: exported.length === 0 }).toEqual({ name, empty: false });
    }
    const others = [
      [join(BIN, 'bun'), ['imports.mjs']],
      [join(BIN, 'deno'), ['run', '-A', 'imports.mjs']],
      [join(BIN, 'deno'), ['run', '-A', 'imports-npm.mjs']],
    ] as const;
    for (const [file, args] of others) {
      expect(JSON.parse(await run(file, args, project))).toEqual(onNode);
    }
  });

  it('open SQLite storage with the runtime own driver, or say that better-sqlite3 is missing', async () => {
    await compileNodenext();
    // node:sqlite is importable from Node 22.13 (22.5 behind a flag); before that, better-sqlite3.
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    const nodeHasSqlite = major > 22 || (major === 22 && minor >= 13);
    expect((await run(process.execPath, ['dist/sqlite.js'], project)).trim()).toBe(
      nodeHasSqlite ? 'opened' : 'SqliteDriverMissing',
    );
    expect((await run(join(BIN, 'bun'), ['sqlite.ts'], project)).trim()).toBe('opened');
    expect((await run(join(BIN, 'deno'), ['run', '-A', 'sqlite.ts'], project)).trim()).toBe('opened');
  });

  it('run a 3-node cluster of a custom state machine from the public APIs', async () => {
    await compileNodenext();
    const report = JSON.parse(await run(process.execPath, ['dist/cluster.js'], project)) as {
      results: number[];
      states: Record<string, Record<string, number>>;
    };
    expect(report.results).toEqual([1, 1, 2, 3, 2]);
    expect(report.states).toEqual({
      n1: { apples: 3, pears: 2 },
      n2: { apples: 3, pears: 2 },
      n3: { apples: 3, pears: 2 },
    });
  });
});

describe('the installed raftkit command', () => {
  // `--yes=false`: never install a package named raftkit from the registry, the installed bin or
  // nothing (plain `--no` would take the command's own flags for npx's).
  const npx = (...args: string[]) => run('npx', ['--yes=false', 'raftkit', ...args], project);
  let node: ChildProcess | undefined;
  let exited: Promise<number | null> | undefined;
  afterAll(() => {
    if (node?.pid !== undefined && node.exitCode === null && node.signalCode === null)
      process.kill(node.pid, 'SIGKILL');
  });

  it('prints the version of the installed @raftkit/cli', async () => {
    const { version } = JSON.parse(
      await readFile(join(project, 'node_modules/@raftkit/cli/package.json'), 'utf8'),
    ) as { version: string };
    expect((await npx('--version')).trim()).toBe(`raftkit ${version}`);
  });

  it('explains itself under --help, its subcommands too', async () => {
    const help = await npx('--help');
    for (const command of ['serve', 'status', 'get <key>', 'put <key>', 'member list', 'check'])
      expect(help).toContain(`  ${command}`);
    expect(help).toMatch(
      /^Exit codes: 0 ok, 1 refused, 2 usage, 3 unavailable, 4 not found, 5 outcome unknown$/m,
    );
    expect(await npx('serve', '--help')).toMatch(/--data-dir/);
  });

  it('serves a node that answers status, a put and a get through the same command', async () => {
    const port = await freePort();
    const url = `127.0.0.1:${port}`; // no scheme: the command takes host:port as http
    // The bin itself, not npx, so the pid is the node's own and the test can kill it.
    const child = spawn(
      join(project, 'node_modules/.bin/raftkit'),
      ['serve', '--id', 'n1', '--listen', url, '--data-dir', join(work, 'n1')],
      {
        cwd: project,
        env: {
          ...process.env,
          RAFTKIT_SECRET: 'install-test-cluster-secret',
          PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    node = child;
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const output: string[] = [];
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output.push(chunk.toString());
        if (output.join('').includes(`raftkit node n1 serving http://${url}`)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`raftkit serve exited (${code}):\n${output.join('')}`)));
    });
    // A single node elects itself after an election timeout; until then status exits 3.
    for (;;) {
      const ready = await fetch(`http://${url}/ready`).then((r) => r.status);
      if (ready === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const status = JSON.parse(await npx('status', '--url', url, '--output', 'json')) as {
      id: string;
      role: string;
      health: string;
    }[];
    expect(status.map(({ id, role, health }) => ({ id, role, health }))).toEqual([
      { id: 'n1', role: 'leader', health: 'ok' },
    ]);
    expect(await npx('put', 'greeting', 'hello from the tarball', '--url', url)).toMatch(
      /^OK \(index \d+\)$/m,
    );
    expect(await npx('get', 'greeting', '--url', url)).toBe('hello from the tarball\n');
  });

  it('stops the node it serves on SIGTERM, exit code 0', async () => {
    expect(node?.pid).toBeDefined();
    process.kill(node!.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
  });
});
