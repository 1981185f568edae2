import type { RequestSigner } from './auth.ts';
import type { SendErrorKind } from './metrics.ts';
import type { ResolvedOptions } from './options.ts';
import type { Route } from './wire.ts';
import { CONTENT_TYPE, MESSAGES_PATH, SNAPSHOT_PATH } from './wire.ts';

/** The routes requests are posted to; a stream is opened by its reader (stream-reader.ts). */
type PostedRoute = Exclude<Route, 'stream'>;

const PATHS: Readonly<Record<PostedRoute, string>> = { messages: MESSAGES_PATH, snapshot: SNAPSHOT_PATH };

/** How one request ended: delivered, failed (counted as a send error), or cut short by `close`. */
export type PostOutcome = 'ok' | SendErrorKind | 'aborted';

/**
 * Signs and posts one body. Connections are reused: `fetch` keeps them alive by default on Node
 * (undici), Bun and Deno, provided each response body is consumed, which is done here even on
 * success (the body is empty then).
 */
export class RequestPoster {
  constructor(
    private readonly options: ResolvedOptions,
    private readonly signer: RequestSigner,
  ) {}

  async post(
    baseUrl: string,
    route: PostedRoute,
    body: Uint8Array<ArrayBuffer>,
    abort: AbortSignal,
  ): Promise<PostOutcome> {
    const signed = await this.signer.headers(route, this.options.id, body);
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    try {
      const response = await this.options.fetch(baseUrl + PATHS[route], {
        method: 'POST',
        body,
        headers: { 'content-type': CONTENT_TYPE, ...signed },
        signal: AbortSignal.any([abort, timeout]),
      });
      const text = await response.text();
      if (response.ok) return 'ok';
      this.options.logger.warn('peer refused a request', {
        url: baseUrl,
        route,
        status: response.status,
        body: text,
      });
      return 'status';
    } catch (error) {
      if (abort.aborted) return 'aborted';
      if (timeout.aborted) return 'timeout';
      this.options.logger.debug('request to peer failed', { url: baseUrl, route, error: String(error) });
      return 'network';
    }
  }
}
