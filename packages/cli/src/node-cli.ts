import { processIo, runCli } from '@raftkit/server';
import { listenNode } from './listen.ts';
import { nodePeerFetch } from './peer-fetch.ts';

/**
 * Runs one `raftkit` command on Node (`serve`, `status`, `get`, `put`, ..., see `raftkit --help`)
 * with this process's stdout, stderr, environment and signals, and resolves to its exit code:
 * 0 ok, 1 refused, 2 usage, 3 unavailable, 4 not found, 5 outcome unknown. `serve` resolves
 * once the node has stopped (Ctrl-C, SIGTERM or a fatal error). The caller ends the process, so
 * the module itself does nothing when imported.
 *
 * @param argv the command line after the executable and script, e.g. `process.argv.slice(2)`
 */
export function runNodeCli(argv: readonly string[]): Promise<number> {
  return runCli(argv, { listen: listenNode, peerFetch: nodePeerFetch() }, processIo);
}
