import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenNode } from '../src/listen.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe('listenNode', () => {
  it('serves the fetch handler on the port it reports, with method, path and body intact', async () => {
    const listener = await listenNode({
      hostname: '127.0.0.1',
      port: 0,
      tls: null,
      fetch: async (request) =>
        Response.json({
          method: request.method,
          path: new URL(request.url).pathname,
          body: await request.text(),
        }),
    });
    closers.push(() => listener.close());
    expect(listener.port).toBeGreaterThan(0);
    const response = await fetch(`http://127.0.0.1:${listener.port}/v1/kv/a`, { method: 'PUT', body: 'b' });
    expect(await response.json()).toEqual({ method: 'PUT', path: '/v1/kv/a', body: 'b' });
  });

  it('rejects with EADDRINUSE when the port is taken, so the CLI can say so in one line', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => taken.close(() => resolve())));
    const { port } = taken.address() as { port: number };
    await expect(
      listenNode({ hostname: '127.0.0.1', port, tls: null, fetch: () => new Response('') }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('closes while a request is still being answered, instead of waiting for it', async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const listener = await listenNode({
      hostname: '127.0.0.1',
      port: 0,
      tls: null,
      fetch: () => {
        arrived();
        return new Promise<Response>(() => {}); // never answers
      },
    });
    const pending = fetch(`http://127.0.0.1:${listener.port}/slow`);
    await requestArrived;
    await listener.close();
    await expect(pending).rejects.toThrow();
  });
});
