/**
 * The dashboard page's script, as the browser runs it: plain ES2017, no modules, no build step. It
 * listens to `dashboard/events` and redraws the page from each view. It puts data on the page only
 * through textContent and attributes, never as HTML, so a member's id or address cannot inject markup.
 * The page says when its stream drops (the browser then reconnects on its own; after a refusal, the
 * script opens a new stream) and when it comes back.
 */
export const DASHBOARD_SCRIPT = `
(function () {
  'use strict';
  var EVENTS_URL = 'dashboard/events';
  var STALE_MS = 3000;
  var REOPEN_MS = 2000;
  // A lag this large is marked: a few entries behind is only replication in flight, under load.
  var BEHIND = 100;
  var source = null;
  var reopen = null;
  var lastView = 0;
  var lostAt = 0;

  function el(id) { return document.getElementById(id); }
  function make(tag, className, value) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (value !== undefined && value !== null) node.textContent = String(value);
    return node;
  }
  function clock(ms) { return new Date(ms).toLocaleTimeString(); }
  function count(n) { return n === null || n === undefined ? '\\u2013' : n.toLocaleString(); }
  function rate(n) { return n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString(); }

  function setStream(state, label) {
    var node = el('stream');
    node.dataset.state = state;
    node.textContent = label;
  }
  function note(words) { el('stream-note').textContent = words; }
  function lost() {
    if (lostAt === 0) {
      lostAt = Date.now();
      note('Stream lost at ' + clock(lostAt) + '; reconnecting\\u2026');
    }
    setStream('reconnecting', 'reconnecting\\u2026');
  }
  function back() {
    if (lostAt !== 0) {
      var now = Date.now();
      note('Stream lost at ' + clock(lostAt) + ', back at ' + clock(now) + ' (' + ((now - lostAt) / 1000).toFixed(1) + ' s without updates).');
      lostAt = 0;
    }
    setStream('live', 'live');
  }

  function connect() {
    reopen = null;
    source = new EventSource(EVENTS_URL);
    source.addEventListener('view', function (event) {
      lastView = Date.now();
      back();
      render(JSON.parse(event.data));
    });
    source.addEventListener('error', function () {
      lost();
      // The browser retries a dropped stream itself, but gives up after a refusal (a 503, say): then start again.
      if (source.readyState === EventSource.CLOSED && reopen === null) {
        source.close();
        reopen = setTimeout(connect, REOPEN_MS);
      }
    });
  }

  // A stream can stay open while nothing comes (the node is paused, a proxy holds it): say so.
  setInterval(function () {
    if (lostAt === 0 && lastView !== 0 && Date.now() - lastView > STALE_MS) {
      setStream('stale', 'no update for ' + Math.round((Date.now() - lastView) / 1000) + ' s');
    }
  }, 1000);

  function render(view) {
    el('cluster').textContent = view.clusterId ? 'cluster ' + view.clusterId : '';
    el('served').textContent = 'served by node ' + view.servedBy;
    el('events-seen').textContent = 'as seen by node ' + view.servedBy;
    var leader = null;
    for (var i = 0; i < view.members.length; i++) if (view.members[i].id === view.leader) leader = view.members[i];
    var leaderNode = el('leader');
    leaderNode.dataset.leader = view.leader === null ? '' : view.leader;
    leaderNode.textContent = view.leader === null ? 'none' : 'node ' + view.leader;
    el('leader-detail').textContent =
      view.leader === null ? 'election in progress, or no majority reachable' : leader === null ? '' : leader.address + (leader.state === 'down' ? ' \\u2013 down' : '');
    document.title = (view.leader === null ? 'no leader' : 'leader ' + view.leader) + ' \\u00b7 Graft';
    el('term').textContent = String(view.term);
    el('throughput').textContent = rate(view.commitsPerSecond);
    chart(view.throughput, view.sampleMs);
    members(view);
    events(view.events);
  }

  function members(view) {
    var rows = document.createDocumentFragment();
    view.members.forEach(function (m) {
      var row = document.createElement('tr');
      row.dataset.memberId = m.id;
      row.dataset.state = m.state;
      row.dataset.role = m.role === null ? '' : m.role;
      if (m.id === view.leader) row.classList.add('is-leader');
      var id = make('td', 'id', m.id);
      if (m.id === view.leader) id.appendChild(make('span', 'tag lead', 'leader'));
      if (m.self) id.appendChild(make('span', 'tag', 'this node'));
      row.appendChild(id);
      row.appendChild(make('td', 'address', m.address));
      row.appendChild(make('td', 'suffrage', m.suffrage));
      row.appendChild(make('td', 'role role-' + (m.role === null ? 'unknown' : m.role.toLowerCase()), m.role === null ? '\\u2013' : m.role));
      row.appendChild(make('td', 'num', count(m.term)));
      row.appendChild(make('td', 'num', count(m.commitIndex)));
      row.appendChild(make('td', 'num', count(m.appliedIndex)));
      row.appendChild(make('td', 'num' + (m.lag !== null && m.lag >= BEHIND ? ' behind' : ''), count(m.lag)));
      var connection = make('td', 'connection');
      connection.appendChild(make('span', 'state ' + m.state, m.state));
      if (m.reason !== null) connection.appendChild(make('span', 'reason', m.reason));
      row.appendChild(connection);
      rows.appendChild(row);
    });
    el('members').tBodies[0].replaceChildren(rows);
  }

  function events(list) {
    var items = document.createDocumentFragment();
    for (var i = list.length - 1; i >= 0; i--) {
      var e = list[i];
      var item = document.createElement('li');
      item.dataset.kind = e.kind;
      item.appendChild(make('time', null, clock(e.at)));
      item.appendChild(make('span', 'kind kind-' + e.kind, e.kind));
      item.appendChild(make('span', 'text', e.text));
      items.appendChild(item);
    }
    if (list.length === 0) items.appendChild(make('li', 'empty', 'nothing yet'));
    el('events').replaceChildren(items);
  }

  function chart(rates, sampleMs) {
    var peak = 0;
    rates.forEach(function (r) { if (r > peak) peak = r; });
    var scale = Math.max(peak, 1);
    var points = rates.map(function (r, i) {
      var x = rates.length < 2 ? 0 : (i * 300) / (rates.length - 1);
      return x.toFixed(1) + ',' + (58 - (r / scale) * 56).toFixed(1);
    });
    el('chart-line').setAttribute('points', points.join(' '));
    el('chart-caption').textContent = 'last ' + Math.round((rates.length * sampleMs) / 1000) + ' s, peak ' + rate(peak) + '/s';
  }

  connect();
})();
`;
