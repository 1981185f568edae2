import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { FetchFunction } from '@raftkit/server';
import { STREAM_CONTENT_TYPE } from '@raftkit/transport-http';

/**
 * The `fetch` that peer requests (Raft messages, forwarded proposals) go through on Node:
 * `node:http` with keep-alive connections. undici's `fetch` builds a web stream per body and
 * several signals and promises per request; a loopback round trip through it costs about three
 * times one through `node:http` (0.9 against 0.3 ms), and a write waits for two of them.
 *
 * It implements only what those callers use: POST-like requests with a byte body, a header
 * record and an abort signal, answered with the status and the whole body; a message stream
 * (the transport's long-lived response) is answered at once with its content type and a body
 * that streams. No other header is kept: no caller reads them. TLS verification is
 * Node's own (its CA store, `NODE_EXTRA_CA_CERTS`), as for the global `fetch`.
 */
export function nodePeerFetch(): FetchFunction {
  const http = new HttpAgent({ keepAlive: true });
  const https = new HttpsAgent({ keepAlive: true });
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input);
      const secure = url.protocol === 'https:';
      const body = init.body as Uint8Array | undefined;
      const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
      headers['content-length'] = String(body?.byteLength ?? 0);
      const request = (secure ? httpsRequest : httpRequest)(url, {
        method: init.method ?? 'GET',
        headers,
        agent: secure ? https : http,
        ...(init.signal ? { signal: init.signal } : {}),
      });
      request.once('error', reject);
      request.once('response', (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        if (response.headers['content-type'] === STREAM_CONTENT_TYPE) {
          resolve(streamedResponse(status, response));
          return;
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () => {
          // A Response may not carry a body with these statuses.
          const payload = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(payload, { status }));
        });
      });
      request.end(body);
    });
}

/** A message stream as a Response whose body yields the socket's chunks as they arrive. */
function streamedResponse(status: number, response: IncomingMessage): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      response.on('data', (chunk: Buffer) => {
        // After `cancel` the reader is gone; chunks still in flight are dropped with it.
        if (!response.destroyed) controller.enqueue(chunk);
      });
      response.once('end', () => controller.close());
      response.once('error', (error) => controller.error(error));
      // Aborting the request (the reader's signal) destroys the response without an 'error'.
      response.once('close', () => {
        if (!response.complete) controller.error(new Error('stream connection closed'));
      });
    },
    cancel() {
      response.destroy();
    },
  });
  return new Response(body, { status, headers: { 'content-type': STREAM_CONTENT_TYPE } });
}
