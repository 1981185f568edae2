import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

/**
 * Serves a fetch handler on 127.0.0.1 at a free port, with whichever runtime runs this: for the
 * loopback tests and the benchmark only (applications serve the transport's Hono app with their
 * own server). The per-runtime parts are the few lines each runtime needs.
 */
export interface LoopbackServer {
  readonly url: string;
  /** Distinct client connections that carried requests: shows whether the client kept them alive. */
  connections(): number;
  close(): Promise<void>;
}

type FetchHandler = (request: Request) => Response | Promise<Response>;

interface BunServer {
  readonly port: number;
  requestIP(request: Request): { port: number } | null;
  stop(closeActiveConnections: boolean): unknown;
}
interface DenoServer {
  readonly addr: { port: number };
  shutdown(): Promise<void>;
}
declare const Bun:
  | {
      serve(options: { port: number; hostname: string; fetch(r: Request, s: BunServer): unknown }): BunServer;
    }
  | undefined;
declare const Deno:
  | {
      serve(
        options: { port: number; hostname: string; onListen(): void },
        handler: (r: Request, info: { remoteAddr: { port: number } }) => Response | Promise<Response>,
      ): DenoServer;
    }
  | undefined;

export function serveLoopback(handler: FetchHandler): Promise<LoopbackServer> {
  if (typeof Bun !== 'undefined') return Promise.resolve(serveBun(Bun, handler));
  if (typeof Deno !== 'undefined') return Promise.resolve(serveDeno(Deno, handler));
  return serveNode(handler);
}

/** The runtime and its version, for benchmark output. */
export function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun !== undefined) return `bun ${versions.bun}`;
  if (versions.deno !== undefined) return `deno ${versions.deno}`;
  return `node ${process.versions.node}`;
}

function serveBun(bun: NonNullable<typeof Bun>, handler: FetchHandler): LoopbackServer {
  const ports = new Set<number>();
  const server = bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(request, s) {
      const ip = s.requestIP(request);
      if (ip !== null) ports.add(ip.port);
      return handler(request);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    connections: () => ports.size,
    close: async () => {
      await server.stop(true);
    },
  };
}

function serveDeno(deno: NonNullable<typeof Deno>, handler: FetchHandler): LoopbackServer {
  const ports = new Set<number>();
  const server = deno.serve({ port: 0, hostname: '127.0.0.1', onListen() {} }, (request, info) => {
    ports.add(info.remoteAddr.port);
    return handler(request);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    connections: () => ports.size,
    close: () => server.shutdown(),
  };
}

async function serveNode(handler: FetchHandler): Promise<LoopbackServer> {
  const ports = new Set<number>();
  const server = createServer((req, res) => {
    if (req.socket.remotePort !== undefined) ports.add(req.socket.remotePort);
    void answer(handler, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => ports.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(handler: FetchHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const v of Array.isArray(value) ? value : [value ?? '']) headers.append(name, v);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(`http://127.0.0.1${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : null,
      duplex: 'half',
    } as RequestInit);
    const response = await handler(request);
    response.headers.forEach((value, name) => {
      res.setHeader(name, value);
    });
    res.writeHead(response.status);
    if (response.body === null) {
      res.end();
      return;
    }
    // Streamed chunk by chunk: a message stream's response never ends on its own.
    const reader = response.body.getReader();
    res.once('close', () => void reader.cancel().catch(() => {}));
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
    res.end();
  } catch (error) {
    if (!res.headersSent) res.writeHead(500);
    res.end(String(error));
  }
}
