import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
// Under test-results/ (git-ignored), two levels below the example, hence the rewritten imports.
const dir = `${root}test-results/readme`;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

it('README snippets type-check under the example tsconfig', async () => {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const blocks = [...readme.matchAll(/^```ts\n(.*?)^```$/gms)].map((match) => match[1]!);
  expect(blocks.length).toBeGreaterThan(0);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [i, code] of blocks.entries()) {
    await writeFile(`${dir}/snippet-${i + 1}.ts`, code.replaceAll("from './src/", "from '../../src/"));
  }
  await writeFile(
    `${dir}/tsconfig.json`,
    JSON.stringify({ extends: '../../tsconfig.json', include: ['*.ts'] }),
  );
  // Rejects with tsc's diagnostics on stdout when a snippet does not compile.
  await promisify(execFile)(process.execPath, [tsc, '-p', dir]);
}, 60_000);
