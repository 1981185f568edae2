import { LatencyHistogram } from '@raftkit/node';
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { MetricsRegistry } from './registry.ts';

interface Series {
  readonly labels: { readonly method: string; readonly route: string; readonly code: string };
  readonly latency: LatencyHistogram;
}

/**
 * Client and peer HTTP requests by method, route pattern and status. The route is the pattern
 * that answered (`/v1/kv/:key`), never the path, so the label set stays as small as the route
 * table; anything no route matched is `unmatched`.
 */
export class HttpMetrics {
  readonly #series = new Map<string, Series>();

  /** Hono middleware: registered first, so it times everything after it, errors included. */
  readonly middleware: MiddlewareHandler = async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    this.#observe(c.req.method, answeringRoute(matchedRoutes(c)), c.res.status, seconds);
  };

  /** Requests and seconds so far for the routes `include` picks, summed: what the dashboard charts. */
  total(include: (method: string, route: string, code: string) => boolean): {
    count: number;
    seconds: number;
  } {
    let count = 0;
    let seconds = 0;
    for (const { labels, latency } of this.#series.values()) {
      if (!include(labels.method, labels.route, labels.code)) continue;
      const h = latency.snapshot();
      count += h.count;
      seconds += h.sum;
    }
    return { count, seconds };
  }

  register(registry: MetricsRegistry): void {
    const labels = ['method', 'route', 'code'] as const;
    registry.counter({ name: 'raftkit_http_requests_total', help: 'HTTP requests answered.', labels }, () =>
      [...this.#series.values()].map((s) => [s.labels, s.latency.snapshot().count]),
    );
    registry.histogram(
      { name: 'raftkit_http_request_duration_seconds', help: 'Time to answer an HTTP request.', labels },
      () => [...this.#series.values()].map((s) => [s.labels, s.latency.snapshot()]),
    );
  }

  #observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels: { method, route, code: String(status) }, latency: new LatencyHistogram() };
      this.#series.set(key, series);
    }
    series.latency.observe(seconds);
  }
}

/**
 * The last matched handler's pattern. Middleware (`use`, method ALL) is skipped, so a request the
 * token check refuses is still labelled with the route it asked for.
 */
function answeringRoute(routes: readonly { method: string; path: string }[]): string {
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== 'ALL') return routes[i]!.path;
  return 'unmatched';
}
