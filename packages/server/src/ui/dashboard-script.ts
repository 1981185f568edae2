/**
 * The dashboard's behaviour: poll `/v1/cluster` every second, render the members, keep a few
 * minutes of write rate and commit latency for the charts, and send admin actions to the API
 * with the client token when the cluster has one. Browser code served as-is (no build step),
 * so it is plain ES2020 in a string: no backticks.
 */
// biome-ignore lint/complexity/noUselessStringRaw: keeps any escape the browser code gains as written
export const DASHBOARD_SCRIPT = String.raw`
import { drawChart } from '/ui/chart.js';

const POLL_MS = 1000;
/** The charts cover the time since the page opened, from 20 s up to the last 5 minutes. */
const WINDOW_MS = 5 * 60 * 1000;
const MIN_WINDOW_MS = 20 * 1000;
const TOKEN_KEY = 'raftkit-client-token';
const $ = (id) => document.getElementById(id);

let token = sessionStorage.getItem(TOKEN_KEY);
/** Each member's write counters at the previous poll, to turn totals into rates. */
const previous = new Map();
const rate = [];
const latency = [];
let lastView = null;

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = 'Bearer ' + token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const json = text === '' ? null : JSON.parse(text);
  if (response.status === 401) {
    $('token-section').hidden = false;
    throw new Error('the client token is missing or wrong');
  }
  if (!response.ok) throw new Error((json && json.error && json.error.message) || 'HTTP ' + response.status);
  return json;
}

function say(text, isError) {
  const message = $('message');
  message.textContent = text;
  message.className = isError ? 'error' : '';
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '–' : String(text);
  if (className) td.className = className;
  row.append(td);
  return td;
}

function button(label, action) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      say(label + '…', false);
      await action();
      say(label + ': done', false);
      await poll();
    } catch (error) {
      say(label + ': ' + error.message, true);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

function renderMembers(view) {
  const rows = view.members.map((m) => {
    const s = m.stats && m.stats.status;
    const row = document.createElement('tr');
    row.dataset.member = m.id;
    row.dataset.health = m.health;
    row.dataset.role = s ? s.role : 'unknown';
    cell(row, m.id);
    cell(row, m.role);
    cell(row, s ? s.role : null, s ? 'role-' + s.role : '');
    cell(row, s ? s.term : null, 'num');
    cell(row, s ? s.commitIndex : null, 'num');
    cell(row, s ? s.appliedIndex : null, 'num');
    cell(row, m.lag, 'num');
    cell(row, m.lastContactMs === null ? null : m.lastContactMs + ' ms', 'num');
    cell(row, m.health, 'health-' + m.health).title = m.error || '';
    cell(row, m.stats ? m.stats.runtime : null, 'muted');
    const actions = document.createElement('td');
    if (m.role === 'voter' && m.id !== view.leader) {
      actions.append(button('Make leader', () => api('POST', '/v1/leader/transfer', { to: m.id })));
    }
    if (m.role === 'learner') {
      actions.append(button('Promote', () => api('POST', '/v1/members/' + encodeURIComponent(m.id) + '/promote')));
    }
    actions.append(' ', button('Remove', () => {
      if (!confirm('Remove ' + m.id + ' from the cluster?')) return Promise.resolve();
      return api('DELETE', '/v1/members/' + encodeURIComponent(m.id));
    }));
    row.append(actions);
    return row;
  });
  $('members').replaceChildren(...rows);
}

function renderChanges(view) {
  const via = view.members.find((m) => m.id === view.via);
  const changes = via && via.stats ? via.stats.leaderChanges : { total: 0, recent: [] };
  $('changes-total').textContent = '(' + changes.total + ' seen by ' + view.via + ')';
  const items = changes.recent.slice().reverse().map((c) => {
    const li = document.createElement('li');
    li.textContent = new Date(c.at).toLocaleTimeString() + '  term ' + c.term + ': ' +
      (c.leader === null ? 'no leader (election)' : c.leader + ' leads');
    return li;
  });
  $('changes').replaceChildren(...items);
}

/** Adds one point to each chart from the change in every reachable member's write counters. */
function sample(view) {
  let count = 0;
  let seconds = 0;
  let span = 0;
  for (const m of view.members) {
    if (!m.stats) continue;
    const before = previous.get(m.id);
    const now = m.stats.writes;
    // A restarted member starts its counters again; skip the poll where they went backwards.
    if (before && now.count >= before.writes.count) {
      count += now.count - before.writes.count;
      seconds += now.seconds - before.writes.seconds;
      span = Math.max(span, m.stats.at - before.at);
    }
    previous.set(m.id, { at: m.stats.at, writes: now });
  }
  if (span > 0) {
    rate.push({ t: view.at, v: count / (span / 1000) });
    latency.push({ t: view.at, v: count > 0 ? (seconds / count) * 1000 : null });
  }
  while (rate.length > 0 && rate[0].t < view.at - WINDOW_MS) rate.shift();
  while (latency.length > 0 && latency[0].t < view.at - WINDOW_MS) latency.shift();
}

function drawCharts() {
  if (!lastView) return;
  const now = lastView.at;
  const first = rate.length > 0 ? rate[0].t : now;
  const windowMs = Math.min(WINDOW_MS, Math.max(MIN_WINDOW_MS, now - first));
  const format = (v) => v.toFixed(v < 10 ? 1 : 0);
  drawChart($('write-rate'), rate, { windowMs, now, format });
  drawChart($('latency'), latency, { windowMs, now, format });
}

async function poll() {
  try {
    const view = await api('GET', '/v1/cluster');
    lastView = view;
    const leader = view.members.find((m) => m.id === view.leader);
    $('leader').textContent = view.leader || 'none';
    $('term').textContent = leader && leader.stats ? leader.stats.status.term : '?';
    $('via').textContent = view.via;
    $('updated').textContent = 'updated ' + new Date(view.at).toLocaleTimeString();
    renderMembers(view);
    renderChanges(view);
    sample(view);
    drawCharts();
  } catch (error) {
    $('updated').textContent = 'not updated: ' + error.message;
  }
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $('token').value;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token-section').hidden = true;
  poll();
});

$('add-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const member = { id: form.get('id'), url: form.get('url'), role: form.get('role') };
  try {
    say('adding ' + member.id + '…', false);
    await api('POST', '/v1/members', member);
    say('added ' + member.id, false);
    event.target.reset();
    await poll();
  } catch (error) {
    say('add ' + member.id + ': ' + error.message, true);
  }
});

window.addEventListener('resize', drawCharts);
poll();
setInterval(poll, POLL_MS);
`;
