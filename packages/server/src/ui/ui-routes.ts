import { Hono } from 'hono';
import { CHART_SCRIPT } from './chart-script.ts';
import { DASHBOARD_SCRIPT } from './dashboard-script.ts';
import { DASHBOARD_PAGE } from './page.ts';

/**
 * Only our own script, no inline script, nothing from elsewhere: the page holds the client token,
 * so nothing else may run beside it.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

/**
 * `GET /ui`: the live dashboard, one page and two small ES modules kept as strings, so they ship
 * inside the package's JavaScript with no build step and no files to find at run time. Open
 * without the client token: it holds no data; the page asks for the token to call the API.
 */
export function uiRoutes(): Hono {
  const js = { ...SECURITY_HEADERS, 'content-type': 'text/javascript; charset=utf-8' };
  return new Hono()
    .get('/', (c) =>
      c.body(DASHBOARD_PAGE, 200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' }),
    )
    .get('/dashboard.js', (c) => c.body(DASHBOARD_SCRIPT, 200, js))
    .get('/chart.js', (c) => c.body(CHART_SCRIPT, 200, js));
}
