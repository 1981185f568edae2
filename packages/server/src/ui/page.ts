/** The dashboard's page: markup and styles only; `dashboard-script.ts` fills it in. */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>raftkit dashboard</title>
<style>
  :root { color-scheme: light dark; --fg: #1b1f24; --muted: #656d76; --line: #d0d7de; --bg: #fff;
    --card: #f6f8fa; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --accent: #0969da; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --line: #30363d;
    --bg: #0d1117; --card: #161b22; --ok: #3fb950; --bad: #f85149; --warn: #d29922; --accent: #4493f8; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; gap: 1.5em; align-items: baseline; padding: .8em 1.2em; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 1.15em; margin: 0; }
  main { padding: 1em 1.2em; display: grid; gap: 1em; grid-template-columns: 1fr 1fr; max-width: 1200px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .8em 1em; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 1em; margin: 0 0 .6em; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { color: var(--muted); font-weight: 600; }
  td.num { text-align: right; }
  .muted { color: var(--muted); }
  .health-ok { color: var(--ok); }
  .health-unreachable, .health-stopping { color: var(--bad); }
  .health-no-leader, .health-applying { color: var(--warn); }
  .role-leader { font-weight: 700; color: var(--accent); }
  button { font: inherit; padding: .15em .6em; border: 1px solid var(--line); border-radius: 4px;
    background: var(--bg); color: var(--fg); cursor: pointer; }
  button:hover { border-color: var(--accent); }
  input, select { font: inherit; padding: .15em .4em; border: 1px solid var(--line); border-radius: 4px;
    background: var(--bg); color: var(--fg); }
  form { display: flex; gap: .5em; flex-wrap: wrap; align-items: center; }
  svg { width: 100%; height: 140px; display: block; }
  svg .axis { stroke: var(--line); } svg text { fill: var(--muted); font-size: 11px; }
  svg .line { fill: none; stroke: var(--accent); stroke-width: 1.5; }
  ol { margin: 0; padding-left: 1.4em; max-height: 170px; overflow-y: auto; }
  #message { min-height: 1.4em; }
  #message.error { color: var(--bad); }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<header>
  <h1>raftkit</h1>
  <span>leader <strong id="leader">?</strong></span>
  <span>term <strong id="term">?</strong></span>
  <span class="muted">via <span id="via">?</span></span>
  <span class="muted" id="updated">connecting…</span>
</header>
<main>
  <section class="wide" id="token-section" hidden>
    <h2>Client token</h2>
    <form id="token-form">
      <label>This cluster needs its client token: <input id="token" type="password" autocomplete="off" required></label>
      <button type="submit">Use token</button>
    </form>
  </section>
  <section class="wide">
    <h2>Members</h2>
    <table>
      <thead><tr><th>id</th><th>member</th><th>role</th><th>term</th><th>commit</th><th>applied</th>
        <th>lag</th><th>last contact</th><th>health</th><th>runtime</th><th></th></tr></thead>
      <tbody id="members"></tbody>
    </table>
    <p id="message"></p>
  </section>
  <section><h2>Writes per second</h2><svg id="write-rate" role="img" aria-label="writes per second"></svg></section>
  <section><h2>Commit latency (ms, mean of each second)</h2><svg id="latency" role="img" aria-label="commit latency"></svg></section>
  <section>
    <h2>Leader changes <span class="muted" id="changes-total"></span></h2>
    <ol id="changes" reversed></ol>
  </section>
  <section>
    <h2>Membership</h2>
    <form id="add-form">
      <input name="id" placeholder="id" required size="6">
      <input name="url" placeholder="http://127.0.0.1:7004" required size="22">
      <select name="role"><option value="learner">learner</option><option value="voter">voter</option></select>
      <button type="submit">Add member</button>
    </form>
    <p class="muted">Transfer, promote and remove act on a row of the table. Changes go through any node.</p>
  </section>
</main>
<script type="module" src="/ui/dashboard.js"></script>
</body>
</html>
`;
