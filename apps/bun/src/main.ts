import process from 'node:process';
import { type Listen, processIo, runCli } from '@raftkit/server';

interface BunServer {
  readonly port: number;
  stop(closeActiveConnections: boolean): Promise<void>;
}
declare const Bun: {
  serve(options: {
    fetch: (request: Request) => Response | Promise<Response>;
    hostname: string;
    port: number;
    tls?: { cert: string; key: string };
    idleTimeout: number;
  }): BunServer;
};

/** The shared server on `Bun.serve`. */
const listenBun: Listen = async ({ fetch, hostname, port, tls }) => {
  // A write may wait up to the proposal timeout (10 s) before its 504: outlast it.
  const server = Bun.serve({ fetch, hostname, port, idleTimeout: 30, ...(tls === null ? {} : { tls }) });
  return { port: server.port, close: () => server.stop(true) };
};

// `bun --conditions=@raftkit/source apps/bun/src/main.ts [flags]`: `raftkit serve` on Bun.
process.exit(await runCli(['serve', ...process.argv.slice(2)], { listen: listenBun }, processIo));
