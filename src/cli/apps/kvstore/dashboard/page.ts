import { createHash } from 'node:crypto';
import { DASHBOARD_SCRIPT } from './page-script.ts';

/**
 * The dashboard page: one self-contained HTML document, its style and script inline, that loads
 * nothing else (no CDN, no fonts, no images) and talks only to `dashboard/events` on its own node.
 * Kept as a string in a module so that it ships in `dist` with the code, with no build step of its own.
 */

const STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --ink: #1c2430; --dim: #677386; --line: #dde2ea;
  --ok: #1f8a4c; --bad: #c2362f; --warn: #b7791f; --accent: #2c5fd6; }
@media (prefers-color-scheme: dark) { :root { --bg: #11151c; --card: #1a2029; --ink: #e4e9f0; --dim: #8b97a8; --line: #2b3340;
  --ok: #45c27a; --bad: #ef6b63; --warn: #e0a84a; --accent: #7aa2ff; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 12px; padding: 16px 24px; border-bottom: 1px solid var(--line); background: var(--card); }
h1 { margin: 0; font-size: 20px; }
h1 small, #served { color: var(--dim); font-weight: normal; font-size: 14px; }
h2 { margin: 0 0 8px; font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--dim); }
h2 small { text-transform: none; letter-spacing: 0; }
#stream { margin-left: auto; padding: 2px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; }
#stream[data-state="live"] { color: var(--ok); }
#stream[data-state="connecting"], #stream[data-state="stale"] { color: var(--warn); }
#stream[data-state="reconnecting"] { color: var(--bad); }
#stream-note { margin: 0; padding: 0 24px; color: var(--dim); min-height: 0; }
#stream-note:not(:empty) { padding-top: 8px; }
main { padding: 16px 24px 32px; display: grid; gap: 16px; max-width: 1200px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 16px; }
.card, section.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.big { font-size: 28px; font-weight: 650; font-variant-numeric: tabular-nums; }
.detail { color: var(--dim); }
svg { width: 100%; height: 40px; display: block; margin-top: 6px; }
polyline { fill: none; stroke: var(--accent); stroke-width: 2; vector-effect: non-scaling-stroke; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--dim); font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; }
td.behind { color: var(--warn); font-weight: 600; }
tr.is-leader td { background: color-mix(in srgb, var(--ok) 9%, transparent); }
tr[data-state="down"] td { color: var(--dim); }
.tag { margin-left: 6px; padding: 0 6px; border-radius: 4px; font-size: 11px; border: 1px solid var(--line); color: var(--dim); }
.tag.lead { color: var(--ok); border-color: var(--ok); }
.role-leader { color: var(--ok); font-weight: 600; }
.role-candidate, .role-precandidate { color: var(--warn); font-weight: 600; }
.state { font-weight: 600; }
.state.up { color: var(--ok); }
.state.down { color: var(--bad); }
.reason { margin-left: 8px; color: var(--dim); white-space: normal; }
ol#events { list-style: none; margin: 0; padding: 0; max-height: 360px; overflow: auto; }
ol#events li { display: flex; gap: 10px; padding: 4px 0; border-bottom: 1px solid var(--line); }
ol#events time { color: var(--dim); font-variant-numeric: tabular-nums; }
.kind { min-width: 92px; font-size: 12px; font-weight: 600; color: var(--accent); }
.kind-connection { color: var(--bad); }
.kind-snapshot { color: var(--warn); }
.empty { color: var(--dim); }
`;

const BODY = `
<header>
  <h1>Graft <small id="cluster"></small></h1>
  <span id="served"></span>
  <span id="stream" data-state="connecting">connecting\u2026</span>
</header>
<p id="stream-note"></p>
<main>
  <div class="cards">
    <div class="card"><h2>Leader</h2><div id="leader" class="big" data-leader="">\u2013</div><div id="leader-detail" class="detail"></div></div>
    <div class="card"><h2>Term</h2><div id="term" class="big">\u2013</div><div class="detail">highest term a member reports</div></div>
    <div class="card"><h2>Commits per second</h2><div id="throughput" class="big">\u2013</div>
      <svg viewBox="0 0 300 60" preserveAspectRatio="none" aria-hidden="true"><polyline id="chart-line" points=""></polyline></svg>
      <div id="chart-caption" class="detail"></div></div>
  </div>
  <section class="panel"><h2>Members</h2>
    <table id="members">
      <thead><tr><th>id</th><th>address</th><th>suffrage</th><th>role</th><th class="num">term</th><th class="num">commit</th><th class="num">applied</th><th class="num" title="entries the leader has committed that this member has not applied">lag</th><th>connection</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section class="panel"><h2>Recent events <small id="events-seen"></small></h2><ol id="events"></ol></section>
</main>
`;

/** The dashboard's HTML document. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Graft</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;

/** The CSP source that allows exactly one inline block: `'sha256-...'` of its text. */
function hashSource(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The page's Content-Security-Policy: its own inline style and script only (by hash), connections
 * only to its own origin, no framing by other pages. An injected tag could then neither run nor
 * load anything.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${hashSource(DASHBOARD_SCRIPT)}`,
  `style-src ${hashSource(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
