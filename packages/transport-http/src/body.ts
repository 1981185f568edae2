import { Rejected } from './rejected.ts';

/**
 * Reads a request body of at most `limit` bytes. Content-Length is checked first so an honest
 * oversized request is refused before a byte is read, and the bytes are counted while reading
 * because the header can be absent (chunked) or lie.
 */
export async function readBoundedBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null) {
    if (!/^\d{1,15}$/.test(declared)) throw new Rejected('malformed', 'invalid Content-Length');
    if (Number(declared) > limit)
      throw new Rejected('tooLarge', `body of ${declared} bytes exceeds ${limit}`);
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
