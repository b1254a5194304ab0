/**
 * The page's own script, inlined as text (plain browser JavaScript, no build step). It reads the embedded JSON
 * and builds the page with createElement/textContent only: no data ever goes through innerHTML, so names from
 * MongoDB or the registry (a tag, an environment name) are shown as text and cannot run (domain-spec §6.2).
 */
export const PAGE_SCRIPT = String.raw`
'use strict';
(function () {
  var data = JSON.parse(document.getElementById('drc-data').textContent);
  var PAGE = 500;
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function human(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], v = n, i = 0;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return i === 0 ? v + ' B' : Number(v.toFixed(v < 10 ? 2 : 1)) + ' ' + u[i];
  }
  function section(id, title) {
    var s = el('section', {id: id});
    s.appendChild(el('h2', null, title));
    document.getElementById('main').appendChild(s);
    return s;
  }
  function card(parent, key, label, value, bytes) {
    var c = el('div', {'class': 'card', 'data-card': key, 'data-value': String(value)});
    c.appendChild(el('div', {'class': 'card-value'}, bytes ? human(value) : value));
    c.appendChild(el('div', {'class': 'card-label'}, label));
    parent.appendChild(c);
  }
  function linkCell(td, links) {
    for (var i = 0; i < links.length; i++) {
      var a = el('a', {href: links[i].href, rel: 'noopener noreferrer', target: '_blank'}, links[i].label);
      if (i > 0) td.appendChild(document.createTextNode(' '));
      td.appendChild(a);
    }
  }
  // columns: {key, label, value(row) -> number|string, bytes?, links?(row)}; sortable, filterable, paged.
  function table(parent, name, columns, rows) {
    var wrap = el('div', {'class': 'table-wrap', 'data-table': name});
    var filter = el('input', {type: 'search', placeholder: 'Filter ' + rows.length + ' rows', 'aria-label': 'Filter'});
    var info = el('span', {'class': 'info'});
    var more = el('button', {type: 'button'}, 'Show more');
    var t = el('table'), thead = el('thead'), tbody = el('tbody'), hr = el('tr');
    var state = {key: null, dir: 1, shown: PAGE, view: rows};
    columns.forEach(function (c) {
      var th = el('th', {'data-key': c.key, tabindex: '0', 'class': c.bytes || c.number ? 'num' : ''}, c.label);
      th.addEventListener('click', function () { sortBy(c); });
      hr.appendChild(th);
    });
    thead.appendChild(hr); t.appendChild(thead); t.appendChild(tbody);
    var text = rows.map(function (r) {
      return columns.map(function (c) { return String(c.value(r)); }).join(' ').toLowerCase();
    });
    function apply() {
      var q = filter.value.trim().toLowerCase();
      var idx = [];
      for (var i = 0; i < rows.length; i++) if (!q || text[i].indexOf(q) >= 0) idx.push(i);
      if (state.key) {
        var c = state.key;
        idx.sort(function (a, b) {
          var x = c.value(rows[a]), y = c.value(rows[b]);
          return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * state.dir;
        });
      }
      state.view = idx;
      draw();
    }
    function draw() {
      tbody.textContent = '';
      var n = Math.min(state.shown, state.view.length);
      var frag = document.createDocumentFragment();
      for (var i = 0; i < n; i++) {
        var r = rows[state.view[i]], tr = el('tr');
        columns.forEach(function (c) {
          var v = c.value(r);
          var td = el('td', {'data-key': c.key, 'data-value': String(v), 'class': c.bytes || c.number ? 'num' : ''});
          if (c.links) linkCell(td, c.links(r)); else td.textContent = c.bytes ? human(v) : String(v);
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      }
      tbody.appendChild(frag);
      info.textContent = n + ' of ' + state.view.length + ' shown (' + rows.length + ' in all)';
      more.hidden = n >= state.view.length;
    }
    function sortBy(c) {
      state.dir = state.key === c ? -state.dir : (c.bytes || c.number ? -1 : 1);
      state.key = c;
      Array.prototype.forEach.call(hr.children, function (th) {
        th.setAttribute('aria-sort', th.getAttribute('data-key') === c.key ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
      });
      apply();
    }
    filter.addEventListener('input', function () { state.shown = PAGE; apply(); });
    more.addEventListener('click', function () { state.shown += PAGE; draw(); });
    var bar = el('div', {'class': 'table-bar'});
    bar.appendChild(filter); bar.appendChild(info);
    wrap.appendChild(bar); wrap.appendChild(t); wrap.appendChild(more);
    parent.appendChild(wrap);
    apply();
  }
  var STATUS = ['used', 'unused', 'unknown'];
  var COLORS = {used: '#2f7d4f', unused: '#c0392b', unknown: '#8e8e8e'};

  document.getElementById('generated').textContent = 'Generated ' + data.generated_at;
  var reg = section('registry', 'Registry size by repository and usage');
  var cards = el('div', {'class': 'cards'});
  card(cards, 'tags', 'tags', data.registry.total.tags, false);
  STATUS.forEach(function (s) { card(cards, s + '_bytes', s + (s === 'unknown' ? ' to MongoDB' : ''), data.registry.total[s].bytes, true); });
  reg.appendChild(cards);
  if (window.Chart && data.registry.repositories.length > 0) {
    var box = el('div', {'class': 'chart'}), canvas = el('canvas', {id: 'repo-chart', 'aria-label': 'Bytes by repository and usage'});
    box.appendChild(canvas); reg.appendChild(box);
    new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: data.registry.repositories.map(function (r) { return r.repository; }),
        datasets: STATUS.map(function (s) {
          return {label: s, backgroundColor: COLORS[s], data: data.registry.repositories.map(function (r) { return r[s].bytes; })};
        })
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, indexAxis: 'y',
        scales: {x: {stacked: true, ticks: {callback: function (v) { return human(v); }}}, y: {stacked: true}},
        plugins: {tooltip: {callbacks: {label: function (c) { return c.dataset.label + ': ' + human(c.raw); }}}}
      }
    });
  }
  var cols = [{key: 'repository', label: 'Repository', value: function (r) { return r.repository; }},
    {key: 'tags', label: 'Tags', number: true, value: function (r) { return r.tags; }}];
  STATUS.forEach(function (s) {
    cols.push({key: s + '_tags', label: s + ' tags', number: true, value: function (r) { return r[s].tags; }});
    cols.push({key: s + '_bytes', label: s + ' bytes', bytes: true, value: function (r) { return r[s].bytes; }});
  });
  table(reg, 'repositories', cols, data.registry.repositories);

  var img = section('images', 'Top images by bytes freed if deleted');
  table(img, 'images', [
    {key: 'repository', label: 'Repository', value: function (r) { return r.repository; }},
    {key: 'tags', label: 'Tags', value: function (r) { return r.tags.join(', '); }},
    {key: 'status', label: 'Usage', value: function (r) { return r.status; }},
    {key: 'owner', label: 'Owner', value: function (r) { return r.owner || ''; }},
    {key: 'freed_bytes', label: 'Freed if deleted', bytes: true, value: function (r) { return r.freed_bytes; }},
    {key: 'total_bytes', label: 'Total', bytes: true, value: function (r) { return r.total_bytes; }},
    {key: 'links', label: 'Domino', value: function (r) { return r.links.map(function (l) { return l.label; }).join(' '); }, links: function (r) { return r.links; }}
  ], data.images);
  var own = section('owners', 'Top owners by bytes freed if all their images were deleted');
  table(own, 'owners', [
    {key: 'owner', label: 'Owner', value: function (r) { return r.owner; }},
    {key: 'images', label: 'Images', number: true, value: function (r) { return r.images; }},
    {key: 'stored_bytes', label: 'Stored', bytes: true, value: function (r) { return r.stored_bytes; }},
    {key: 'freed_bytes', label: 'Freed if all deleted', bytes: true, value: function (r) { return r.freed_bytes; }},
    {key: 'links', label: 'Domino', value: function (r) { return r.links.map(function (l) { return l.label; }).join(' '); }, links: function (r) { return r.links; }}
  ], data.owners);

  var st = section('strategies', 'Candidates of each strategy');
  if (data.strategies.length === 0) st.appendChild(el('p', null, 'No plan or audit report in the output directory.'));
  data.strategies.forEach(function (s) {
    var h = el('h3', {'data-strategy': s.strategy}, s.strategy + ' (' + s.kind + ', ' + s.generated_at + ')');
    st.appendChild(h);
    var c2 = el('div', {'class': 'cards'});
    card(c2, 'candidates', 'candidates', s.candidates.length, false);
    card(c2, 'predicted_freed_bytes', 'predicted freed', s.predicted_freed_bytes, true);
    st.appendChild(c2);
    table(st, 'strategy:' + s.strategy, [
      {key: 'repository', label: 'Repository', value: function (r) { return r.repository; }},
      {key: 'tags', label: 'Tags', value: function (r) { return r.tags.join(', '); }},
      {key: 'evidence', label: 'Evidence', value: function (r) { return r.evidence.join('; '); }},
      {key: 'kept', label: 'Kept because', value: function (r) { return r.kept || ''; }},
      {key: 'digest', label: 'Digest', value: function (r) { return r.digest; }}
    ], s.candidates);
  });

  var au = section('audit', 'Last audit');
  var a = data.audit;
  if (!a) { au.appendChild(el('p', null, 'No audit report yet (no --apply run).')); }
  else {
    au.appendChild(el('p', null, a.strategy + ': ' + a.status + ', ' + a.started_at + ' to ' + a.finished_at + ', lock ' + a.lock));
    var c3 = el('div', {'class': 'cards'});
    card(c3, 'deleted', 'deleted', a.deleted.length, false);
    card(c3, 'kept', 'kept', a.kept.length, false);
    card(c3, 'failed', 'failed', a.failed.length, false);
    card(c3, 'predicted_freed_bytes', 'freed (predicted)', a.predicted_freed_bytes, true);
    if (a.measured_freed_bytes === null) c3.appendChild(el('div', {'class': 'card', 'data-card': 'measured_freed_bytes'}, 'freed (measured): not measured'));
    else card(c3, 'measured_freed_bytes', 'freed (measured)', a.measured_freed_bytes, true);
    au.appendChild(c3);
    au.appendChild(el('h3', null, 'Deleted'));
    table(au, 'audit-deleted', [
      {key: 'repository', label: 'Repository', value: function (r) { return r.repository; }},
      {key: 'tags', label: 'Tags', value: function (r) { return r.tags.join(', '); }},
      {key: 'unverified', label: 'Verified', value: function (r) { return r.unverified ? 'no (202, not confirmed)' : 'yes'; }},
      {key: 'digest', label: 'Digest', value: function (r) { return r.digest; }}
    ], a.deleted);
    au.appendChild(el('h3', null, 'Kept, with reasons'));
    table(au, 'audit-kept', [
      {key: 'repository', label: 'Repository', value: function (r) { return r.repository; }},
      {key: 'tag', label: 'Tag', value: function (r) { return r.tag; }},
      {key: 'reason', label: 'Reason', value: function (r) { return r.reason; }}
    ], a.kept);
    au.appendChild(el('h3', null, 'Failed'));
    table(au, 'audit-failed', [
      {key: 'repository', label: 'Repository', value: function (r) { return r.repository; }},
      {key: 'tags', label: 'Tags', value: function (r) { return r.tags.join(', '); }},
      {key: 'reason', label: 'Reason', value: function (r) { return r.reason; }}
    ], a.failed);
  }
  document.body.setAttribute('data-ready', '1');
})();
`
