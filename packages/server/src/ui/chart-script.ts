/**
 * A line chart as inline SVG, drawn by hand: a handful of lines of code against a dependency.
 * Browser code served as-is (no build step), so it is plain ES2020 in a string: no backticks.
 */
// biome-ignore lint/complexity/noUselessStringRaw: keeps any escape the browser code gains as written
export const CHART_SCRIPT = String.raw`
const SVG = 'http://www.w3.org/2000/svg';

function el(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round number at or above max, so the axis reads 0 .. 50 rather than 0 .. 47.3. */
function niceCeiling(max) {
  if (!(max > 0)) return 1;
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 5, 10]) if (m * step >= max) return m * step;
  return 10 * step;
}

/**
 * Draws points [{ t, v }] (v null for a gap) over the window ending now: time on x, value on y.
 */
export function drawChart(svg, points, { windowMs, now, format }) {
  const width = svg.clientWidth || 500;
  const height = svg.clientHeight || 140;
  const left = 44;
  const bottom = height - 18;
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
  svg.replaceChildren();
  const values = points.filter((p) => p.v !== null).map((p) => p.v);
  const top = niceCeiling(Math.max(0, ...values));
  const x = (t) => left + ((t - (now - windowMs)) / windowMs) * (width - left - 4);
  const y = (v) => bottom - (v / top) * (bottom - 6);
  svg.append(el('line', { class: 'axis', x1: left, y1: bottom, x2: width - 4, y2: bottom }));
  svg.append(el('line', { class: 'axis', x1: left, y1: 6, x2: left, y2: bottom }));
  svg.append(el('text', { x: left - 4, y: 12, 'text-anchor': 'end' }, format(top)));
  svg.append(el('text', { x: left - 4, y: bottom, 'text-anchor': 'end' }, '0'));
  const span = windowMs >= 120000 ? Math.round(windowMs / 60000) + ' min' : Math.round(windowMs / 1000) + ' s';
  svg.append(el('text', { x: left, y: height - 4 }, '-' + span));
  svg.append(el('text', { x: width - 4, y: height - 4, 'text-anchor': 'end' }, 'now'));
  let path = '';
  let pen = 'M';
  for (const p of points) {
    if (p.t < now - windowMs) continue;
    if (p.v === null) {
      pen = 'M';
      continue;
    }
    path += pen + x(p.t).toFixed(1) + ' ' + y(p.v).toFixed(1) + ' ';
    pen = 'L';
  }
  if (path !== '') svg.append(el('path', { class: 'line', d: path }));
  if (values.length === 0) svg.append(el('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'no writes yet'));
}
`;
