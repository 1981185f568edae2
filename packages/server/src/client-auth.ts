import type { MiddlewareHandler } from 'hono';
import { ApiError } from './api-error.ts';

const utf8 = new TextEncoder();

/**
 * Requires `Authorization: Bearer <token>`. Both sides are hashed first so the comparison takes
 * the same time whatever the presented token's length, then compared without early exit: the
 * response time says nothing about how much of a guess was right.
 */
export function bearerAuth(token: string): MiddlewareHandler {
  const expected = crypto.subtle.digest('SHA-256', utf8.encode(token));
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    const actual = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(presented)));
    const wanted = new Uint8Array(await expected);
    let difference = presented.length === 0 ? 1 : 0;
    for (let i = 0; i < wanted.length; i++) difference |= wanted[i]! ^ actual[i]!;
    if (difference !== 0)
      throw new ApiError('Unauthorized', 'a valid Authorization: Bearer token is required');
    await next();
  };
}
