import { Rejected, readBoundedBody } from '@raftkit/transport-http';
import { ApiError } from './api-error.ts';

/**
 * Reads a request body of at most `maxBytes` with the peer transport's bounded reader: a declared
 * `Content-Length` above the limit is refused before any byte is read, and a chunked body is
 * counted as it streams, so an oversized upload never sits whole in memory.
 */
export async function readBody(request: Request, maxBytes: number, what: string): Promise<Uint8Array> {
  try {
    return await readBoundedBody(request, maxBytes);
  } catch (error) {
    if (!(error instanceof Rejected)) throw error;
    if (error.reason === 'tooLarge') throw tooLarge(what, maxBytes);
    throw new ApiError('BadRequest', `${what}: ${error.message}`);
  }
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
