import { ApiError } from './api-error.ts';

/**
 * Reads a request body of at most `maxBytes`. A declared `Content-Length` above the limit is
 * refused before any byte is read; a chunked body is counted as it streams and refused as soon
 * as it passes the limit, so an oversized upload never sits whole in memory.
 */
export async function readBody(request: Request, maxBytes: number, what: string): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(what, maxBytes);
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(what, maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}

/** A JSON object body of at most `maxBytes`. */
export async function readJsonObject(request: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const bytes = await readBody(request, maxBytes, 'JSON body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ApiError('BadRequest', 'the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError('BadRequest', 'the body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function tooLarge(what: string, maxBytes: number): ApiError {
  return new ApiError('PayloadTooLarge', `${what} exceeds the limit of ${maxBytes} bytes`);
}
