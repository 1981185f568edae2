import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { STREAM_CONTENT_TYPE, STREAM_PATH } from '@raftkit/transport-http';
import { afterEach, describe, expect, it } from 'vitest';
import { nodePeerFetch } from '../src/peer-fetch.ts';

interface Seen {
  readonly method: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly remotePort: number | undefined;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A plain node:http server that records each request and answers with `answer`. */
async function peer(
  answer: (seen: Seen, response: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const one = {
        method: request.method,
        headers: request.headers,
        body: Buffer.concat(chunks),
        remotePort: request.socket.remotePort,
      };
      seen.push(one);
      answer(one, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

describe('nodePeerFetch', () => {
  it('sends the method, headers and byte body, and answers with the status and the whole body', async () => {
    const { url, seen } = await peer((one, response) => {
      response.statusCode = 201;
      response.end(Buffer.concat([Buffer.from('echo:'), one.body]));
    });
    const body = new Uint8Array([0, 1, 2, 255]);
    const response = await nodePeerFetch()(`${url}/raft/v1/messages`, {
      method: 'POST',
      headers: { 'x-raftkit-from': 'n1', 'content-type': 'application/cbor' },
      body,
    });
    expect(response.status).toBe(201);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(
      new Uint8Array([...Buffer.from('echo:'), 0, 1, 2, 255]),
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.headers['x-raftkit-from']).toBe('n1');
    expect(seen[0]!.headers['content-length']).toBe('4');
    expect(new Uint8Array(seen[0]!.body)).toEqual(body);
  });

  it('answers a 204 with no body (a Response may not carry one)', async () => {
    const { url } = await peer((_, response) => {
      response.statusCode = 204;
      response.end();
    });
    const response = await nodePeerFetch()(url, { method: 'POST', body: new Uint8Array(0) });
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it('keeps the connection alive: requests one after another share one socket', async () => {
    const { url, seen } = await peer((_, response) => response.end('ok'));
    const peerFetch = nodePeerFetch();
    for (let i = 0; i < 3; i++) {
      const response = await peerFetch(url, { method: 'POST', body: new Uint8Array([i]) });
      expect(await response.text()).toBe('ok');
    }
    expect(new Set(seen.map((one) => one.remotePort)).size).toBe(1);
  });

  it('rejects when the signal aborts before the answer', async () => {
    const { url } = await peer(() => {}); // never answers
    const controller = new AbortController();
    const pending = nodePeerFetch()(url, {
      method: 'POST',
      body: new Uint8Array(1),
      signal: controller.signal,
    });
    controller.abort();
    await expect(pending).rejects.toThrow();
  });

  it('rejects when nothing listens', async () => {
    const { url } = await peer(() => {});
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
    await expect(nodePeerFetch()(url, { method: 'POST', body: new Uint8Array(1) })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('answers a message stream at its headers, with a body that yields chunks as they arrive', async () => {
    let respond: ServerResponse | undefined;
    const { url } = await peer((_one, response) => {
      response.writeHead(200, { 'content-type': STREAM_CONTENT_TYPE });
      response.write(Buffer.from([1, 2]));
      respond = response;
    });
    const abort = new AbortController();
    const response = await nodePeerFetch()(`${url}${STREAM_PATH}`, {
      method: 'POST',
      body: new Uint8Array(1),
      signal: abort.signal,
    });
    expect(response.headers.get('content-type')).toBe(STREAM_CONTENT_TYPE);
    const reader = response.body!.getReader();
    // The first chunk arrives while the response is still open.
    expect([...(await reader.read()).value!]).toEqual([1, 2]);
    respond!.write(Buffer.from([3]));
    expect([...(await reader.read()).value!]).toEqual([3]);
    // The reader's abort ends the stream with an error, as a broken connection does.
    abort.abort();
    await expect(reader.read()).rejects.toThrow();
  });
});
