import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Node runs the built app, and the fault suite's broken server is a Node script next to it: make
 * sure both are current (incremental, quick when nothing changed).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-b', 'apps/node', 'test'], {
    cwd: root,
    stdio: 'inherit',
  });
}
