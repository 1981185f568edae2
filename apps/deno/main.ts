import process from 'node:process';
import { type Listen, processIo, runCli } from '@raftkit/server';

interface DenoServer {
  readonly addr: { readonly port: number };
  shutdown(): Promise<void>;
}
declare const Deno: {
  serve(
    options: { hostname: string; port: number; cert?: string; key?: string; onListen: () => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoServer;
};

/** The shared server on `Deno.serve`; it binds before returning, so a taken port throws here. */
const listenDeno: Listen = async ({ fetch, hostname, port, tls }) => {
  const server = Deno.serve({ hostname, port, ...(tls === null ? {} : tls), onListen: () => {} }, fetch);
  return { port: server.addr.port, close: () => server.shutdown() };
};

// `deno task serve [flags]` (from the repository root): `raftkit serve` on Deno.
process.exit(await runCli(['serve', ...process.argv.slice(2)], { listen: listenDeno }, processIo));
