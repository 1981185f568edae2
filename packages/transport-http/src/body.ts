import { Rejected } from './rejected.ts';

/**
 * Reads a request body of at most `limit` bytes. Content-Length is checked first so an honest
 * oversized request is refused before a byte is read; without it (chunked) the bytes are counted
 * while reading.
 */
export async function readBoundedBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null) {
    if (!/^\d{1,15}$/.test(declared)) throw new Rejected('malformed', 'invalid Content-Length');
    if (Number(declared) > limit)
      throw new Rejected('tooLarge', `body of ${declared} bytes exceeds ${limit}`);
    // A request off the network is framed by its Content-Length (every runtime's HTTP server
    // enforces it), so the body is read whole. That is the fast path: Hono's Node adapter then
    // reads it straight from the socket, where `request.body` would first build a web Request and
    // a stream around the socket (most of a small request's cost on Node). Only a Request built
    // in-process can carry a body longer than it declares; that one is still refused, after it
    // was read.
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.length > limit) throw new Rejected('tooLarge', `body exceeds ${limit} bytes`);
    if (body.length !== Number(declared))
      throw new Rejected('malformed', `body of ${body.length} bytes, Content-Length ${declared}`);
    return body;
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new Rejected('tooLarge', `body exceeds ${limit} bytes`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}
