import process from 'node:process';
import { runNodeCli } from '@raftkit/cli';

// The app's entry (`node apps/node`, `bun run apps/node`): `raftkit serve` with the given flags.
process.exit(await runNodeCli(['serve', ...process.argv.slice(2)]));
