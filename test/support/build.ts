import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Node runs the built `raftkit` command (packages/cli) and `npm start`'s cluster (apps/node), and
 * the fault suite's broken server is a Node script beside them: make sure all are current
 * (incremental, quick when nothing changed).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-b', 'packages/cli', 'apps/node', 'test'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
