import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Listen } from '@raftkit/server';

/** The shared server on `node:http` (or `node:https` with TLS), through Hono's request adapter. */
export const listenNode: Listen = ({ fetch, hostname, port, tls }) =>
  new Promise((resolve, reject) => {
    const server = createAdaptorServer({
      fetch: (request) => fetch(request),
      ...(tls === null
        ? {}
        : { createServer: createHttpsServer, serverOptions: { cert: tls.cert, key: tls.key } }),
    });
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive connections of peers would hold close() open until they time out.
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
  });
