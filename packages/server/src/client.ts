/**
 * A small HTTP client for the API, used by the CLI and by `--join`. It follows a `leaderUrl` hint
 * once when a node answers that it is not the leader, and retries a 503 (no leader yet) a few
 * times, honouring `Retry-After`.
 */
export interface ClientOptions {
  readonly token?: string | null;
  /** Retries of a 503 before giving up. Default 10. */
  readonly retries?: number;
}

/** A failed API call, by the server's error `code` and HTTP `status` (0 when no answer came). */
export class ApiClientError extends Error {
  override readonly name = 'ApiClientError';
  readonly status: number;
  /** The API's error code (`NoLeader`, `NotFound`, ...), or `Network` when no answer came. */
  readonly code: string;
  readonly body: Record<string, unknown>;
  constructor(status: number, code: string, message: string, body: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/**
 * Sends one request to `baseUrl` + `path`, following a leader hint and retrying a 503 as described above.
 * Resolves with a 2xx response; rejects with `ApiClientError` for any other answer or none.
 */
export async function apiRequest(
  baseUrl: string,
  path: string,
  init: { method?: string; body?: BodyInit | null; headers?: Record<string, string> } = {},
  options: ClientOptions = {},
): Promise<Response> {
  let base = baseUrl.replace(/\/+$/, '');
  const retries = options.retries ?? 10;
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { ...init.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method: init.method ?? 'GET',
        body: init.body ?? null,
        headers,
      });
    } catch (cause) {
      throw new ApiClientError(0, 'Network', `${base}${path}: ${(cause as Error).message}`);
    }
    if (response.ok) return response;
    const body = await errorBody(response);
    const error = (body.error ?? {}) as { code?: string; message?: string };
    const code = error.code ?? `HTTP${response.status}`;
    if (response.status === 503 && attempt < retries) {
      if (typeof body.leaderUrl === 'string' && body.leaderUrl !== base) {
        base = body.leaderUrl.replace(/\/+$/, '');
        continue;
      }
      const wait = Number(response.headers.get('retry-after') ?? '1');
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(wait, 0.1), 5) * 1000));
      continue;
    }
    throw new ApiClientError(
      response.status,
      code,
      `${response.status} ${code}: ${error.message ?? ''}`,
      body,
    );
  }
}

/** `apiRequest` with a JSON body in and the parsed JSON answer out. Rejects with `ApiClientError`. */
export async function apiJson<T>(
  baseUrl: string,
  path: string,
  init: { method?: string; json?: unknown } = {},
  options: ClientOptions = {},
): Promise<T> {
  const response = await apiRequest(
    baseUrl,
    path,
    {
      ...(init.method === undefined ? {} : { method: init.method }),
      ...(init.json === undefined
        ? {}
        : { body: JSON.stringify(init.json), headers: { 'content-type': 'application/json' } }),
    },
    options,
  );
  return (await response.json()) as T;
}

async function errorBody(response: Response): Promise<Record<string, unknown>> {
  try {
    const parsed = (await response.json()) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
