import process from 'node:process';
import { processIo, runCli } from '@raftkit/server';
import { listenNode } from './listen.ts';
import { nodePeerFetch } from './peer-fetch.ts';

// The app's entry (`node apps/node`, `bun run apps/node`): `raftkit serve` with the given flags.
process.exit(
  await runCli(
    ['serve', ...process.argv.slice(2)],
    { listen: listenNode, peerFetch: nodePeerFetch() },
    processIo,
  ),
);
