// stampede's HTML report and live dashboard: renders one ReportModel (see docs/report.md).
// Offline report: the model is embedded in the page, in a JSON script element with id report-data.
// Live dashboard: no embedded model; every server-sent event from `events` is a full model.
// Plain JS, no build step. Every text from the model goes through esc() before the DOM.
(function () {
  'use strict';

  var PALETTE = ['#0f766e', '#d97706', '#2563eb', '#dc2626', '#7c3aed', '#65a30d', '#db2777',
    '#0891b2', '#a16207', '#475569'];
  var CHART_HEIGHT = 220;
  var PRINT_WIDTH = 680; // CSS px that fit a portrait A4 or Letter page with default margins

  // ---- formatting ----------------------------------------------------------------------

  function esc(v) {
    return String(v).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function sig(v) { // about three significant digits
    var a = Math.abs(v);
    return a === 0 ? '0' : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }
  function fmtCount(v) { return isNum(v) ? Math.round(v).toLocaleString('en-US') : '–'; }
  function fmtNum(v) {
    if (!isNum(v)) return '–';
    return v === Math.round(v) ? fmtCount(v) : sig(v);
  }
  function fmtMs(ms) {
    if (!isNum(ms)) return '–';
    if (Math.abs(ms) < 1000) return sig(ms) + ' ms';
    if (Math.abs(ms) < 60000) return sig(ms / 1000) + ' s';
    return fmtDuration(ms / 1000);
  }
  function fmtDuration(s) {
    if (!isNum(s)) return '–';
    if (s < 60) return (s < 10 ? s.toFixed(1) : s.toFixed(0)) + ' s';
    var t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), r = t % 60;
    return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + r + 's';
  }
  function fmtBytes(b) {
    if (!isNum(b)) return '–';
    var units = ['B', 'kB', 'MB', 'GB', 'TB'], i = 0;
    while (Math.abs(b) >= 1000 && i < units.length - 1) { b /= 1000; i++; }
    return (i ? sig(b) : Math.round(b)) + ' ' + units[i];
  }
  function fmtRate(v) {
    if (!isNum(v)) return '–';
    var a = Math.abs(v);
    return (a >= 1000 ? fmtCount(v) : a >= 10 ? v.toFixed(1) : v.toFixed(2)) + '/s';
  }
  function fmtPct(share) {
    if (!isNum(share)) return '–';
    var p = share * 100;
    return (p === 0 || p === 100 ? p.toFixed(0) : p.toFixed(2)) + '%';
  }
  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function fmtTime(unix) {
    if (!isNum(unix)) return '–';
    var d = new Date(unix * 1000);
    return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' +
      pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
  }
  function fmtClock(unix, seconds) {
    var d = new Date(unix * 1000);
    return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + (seconds ? ':' + pad2(d.getSeconds()) : '');
  }
  function trimZeros(text) { return text.replace(/\.(\d*?)0+(?!\d)/, function (m, d) { return d ? '.' + d : ''; }); }
  function isoTime(unix) { return isNum(unix) ? new Date(unix * 1000).toISOString() : ''; }

  // A threshold's observed value, in the unit its metric and aggregation suggest.
  var COUNTERS = /^(http_reqs|iterations|data_sent|data_received|dropped_iterations|ws_msgs_sent|ws_msgs_received|ws_sessions)$/;
  function fmtObserved(metric, source, v) {
    var base = String(metric).split('{')[0], agg = String(source).split(/[<>=!]/)[0].trim();
    if (/^data_/.test(base) && agg !== 'rate') return fmtBytes(v);
    if (agg === 'rate') return COUNTERS.test(base) ? fmtRate(v) : fmtPct(v);
    if (agg === 'count') return fmtCount(v);
    if (/duration|_time|blocked|connecting|waiting|sending|receiving|handshaking|_ping/.test(base)) return fmtMs(v);
    return fmtNum(v);
  }

  // ---- small DOM helpers ---------------------------------------------------------------

  function $(id) { return document.getElementById(id); }
  function attr(name, value) { return ' ' + name + '="' + esc(value) + '"'; }
  // heads: [{ label, num }]; rows: [{ attrs, cells: [[column, html, class]] }]. Each cell
  // carries its column's label for the phone layout (td::before).
  function table(title, id, heads, rows, note) {
    if (!rows.length) return '';
    return '<section class="panel table-panel" id="' + id + '"><h2>' + esc(title) + '</h2>' +
      (note || '') + '<div class="table-wrap"><table><thead><tr>' +
      heads.map(function (h) {
        return '<th' + (h.num ? ' class="num"' : '') + '>' + esc(h.label) + '</th>';
      }).join('') + '</tr></thead><tbody>' +
      rows.map(function (r) {
        return '<tr' + r.attrs + '>' + r.cells.map(function (c, i) {
          var cls = ((heads[i].num ? 'num ' : '') + (c[2] || '')).trim();
          return '<td' + attr('data-col', c[0]) + attr('data-label', heads[i].label) +
            (cls ? attr('class', cls) : '') + '>' + c[1] + '</td>';
        }).join('') + '</tr>';
      }).join('') + '</tbody></table></div></section>';
  }

  // ---- sections ------------------------------------------------------------------------

  function renderHead(m) {
    var meta = m.meta || {}, scen = meta.scenarios || [];
    var failed = (m.thresholds || []).filter(function (t) { return !t.ok; }).length;
    var verdict = !(m.thresholds || []).length ? '' : failed
      ? '<span class="badge bad" data-verdict="failed">' + failed + ' of ' + m.thresholds.length + ' thresholds failed</span>'
      : '<span class="badge ok" data-verdict="passed">all ' + m.thresholds.length + ' thresholds passed</span>';
    var opts = meta.options == null ? '' :
      '<details id="options"><summary>Options</summary><pre>' +
      esc(JSON.stringify(meta.options, null, 2)) + '</pre></details>';
    return '<h1><span class="script" data-meta="script">' + esc(meta.script || '') + '</span>' + verdict + '</h1>' +
      '<dl class="facts">' +
      '<div><dt>Tool</dt><dd data-meta="tool">' + esc(meta.tool || '') + '</dd></div>' +
      '<div><dt>Started</dt><dd data-meta="started" title="' + esc(isoTime(meta.started)) + '">' + esc(fmtTime(meta.started)) + '</dd></div>' +
      '<div><dt>Ended</dt><dd data-meta="ended" title="' + esc(isoTime(meta.ended)) + '">' +
      (meta.ended == null ? 'running' : esc(fmtTime(meta.ended))) + '</dd></div>' +
      '<div><dt>Duration</dt><dd data-meta="duration">' + esc(fmtDuration((m.totals || {}).duration)) + '</dd></div>' +
      '<div class="wide"><dt>Scenarios</dt><dd data-meta="scenarios">' + (scen.map(function (s) {
        return '<span class="scen"><b>' + esc(s.name) + '</b> <span class="muted">' + esc(s.executor || '') +
          '</span>' + (s.description ? ': ' + esc(s.description) : '') + '</span>';
      }).join('') || '–') + '</dd></div></dl>' + opts;
  }

  function renderTiles(m) {
    var t = m.totals || {}, d = t.http_req_duration || {}, eps = m.endpoints || [];
    var failedCount = eps.length ? eps.reduce(function (n, e) { return n + (e.failed || 0); }, 0)
      : isNum(t.http_req_failed) && isNum(t.http_reqs) ? t.http_req_failed * t.http_reqs : null;
    var tiles = [
      ['http_reqs', 'Requests', fmtCount(t.http_reqs), t.http_reqs, fmtCount(t.iterations) + ' iterations'],
      ['http_reqs_rate', 'Request rate', fmtRate(t.http_reqs_rate), t.http_reqs_rate, fmtRate(t.iterations_rate) + ' iterations'],
      ['http_req_failed', 'Failed', fmtPct(t.http_req_failed), t.http_req_failed,
        isNum(failedCount) ? fmtCount(failedCount) + ' requests' : 'of requests',
        t.http_req_failed > 0 ? 'bad' : ''],
      ['http_req_duration.p95', 'Latency p95', fmtMs(d.p95), d.p95, 'avg ' + fmtMs(d.avg)],
      ['http_req_duration.p99', 'Latency p99', fmtMs(d.p99), d.p99, 'max ' + fmtMs(d.max)],
      ['checks', 'Checks passed', fmtPct(t.checks), t.checks, t.checks == null ? 'no checks' : 'of all checks',
        isNum(t.checks) && t.checks < 1 ? 'warn' : ''],
      ['vus_max', 'VUs max', fmtCount(t.vus_max), t.vus_max, 'allocated'],
      ['data_received', 'Data received', fmtBytes(t.data_received), t.data_received, fmtBytes(t.data_sent) + ' sent'],
    ];
    return tiles.map(function (x) {
      return '<div class="tile' + (x[5] ? ' ' + x[5] : '') + '"><div class="tile-label">' + esc(x[1]) +
        '</div><div class="tile-value"><span' + attr('data-total', x[0]) +
        attr('data-raw', x[3] == null ? '' : x[3]) + '>' + esc(x[2]) +
        '</span></div><div class="tile-sub">' + esc(x[4]) + '</div></div>';
    }).join('');
  }

  function renderNotices(m) {
    var und = (m.meta || {}).undelivered || [];
    if (!und.length) return '';
    return '<div class="notice warn" id="undelivered"><h2>Not delivered to every output</h2><ul>' +
      und.map(function (l) { return '<li data-undelivered>' + esc(l) + '</li>'; }).join('') + '</ul></div>';
  }

  function renderTables(m) {
    var out = '';
    var ms = function (col, v) { return [col, esc(fmtMs(v))]; };

    out += table('Thresholds', 'thresholds',
      [{ label: '' }, { label: 'Metric' }, { label: 'Threshold' }, { label: 'Observed', num: true }],
      (m.thresholds || []).map(function (t) {
        return { attrs: attr('class', t.ok ? 'ok' : 'fail') + attr('data-threshold', t.metric + ' ' + t.source) +
          attr('data-ok', t.ok ? 'true' : 'false'), cells: [
          ['ok', '<span class="verdict" title="' + (t.ok ? 'passed">✓' : 'failed">✗') + '</span>'],
          ['metric', '<code>' + esc(t.metric) + '</code>'],
          ['source', '<code>' + esc(t.source) + '</code>'],
          ['observed', esc(fmtObserved(t.metric, t.source, t.observed))]] };
      }));

    out += table('Endpoints', 'endpoints',
      [{ label: 'Endpoint' }, { label: 'Method' }, { label: 'Requests', num: true }, { label: 'Failed', num: true },
        { label: 'Error rate', num: true }, { label: 'avg', num: true }, { label: 'p50', num: true },
        { label: 'p95', num: true }, { label: 'p99', num: true }, { label: 'max', num: true }],
      (m.endpoints || []).map(function (e) {
        return { attrs: attr('data-endpoint', e.name) + (e.failed ? ' class="has-fail"' : ''), cells: [
          ['name', esc(e.name), 'name'], ['method', esc(e.method || '')],
          ['requests', fmtCount(e.requests)], ['failed', fmtCount(e.failed), e.failed ? 'bad' : ''],
          ['error_rate', fmtPct(e.error_rate), e.failed ? 'bad' : ''],
          ms('avg', e.avg), ms('p50', e.p50), ms('p95', e.p95), ms('p99', e.p99), ms('max', e.max)] };
      }), '<p class="note">One row per <code>name</code> tag; latencies are http_req_duration.</p>');

    var described = {};
    ((m.meta || {}).scenarios || []).forEach(function (s) { described[s.name] = s; });
    out += table('Scenarios', 'scenarios',
      [{ label: 'Scenario' }, { label: 'Executor' }, { label: 'Iterations', num: true }, { label: 'avg', num: true },
        { label: 'p95', num: true }, { label: 'p99', num: true }],
      (m.scenarios || []).map(function (s) {
        return { attrs: attr('data-scenario', s.name), cells: [
          ['name', esc(s.name), 'name'], ['executor', esc((described[s.name] || {}).executor || '')],
          ['iterations', fmtCount(s.iterations)], ms('avg', s.avg), ms('p95', s.p95), ms('p99', s.p99)] };
      }), '<p class="note">Latencies are iteration_duration.</p>');

    out += table('Checks', 'checks',
      [{ label: 'Check' }, { label: 'Group' }, { label: 'Passes', num: true }, { label: 'Fails', num: true },
        { label: 'Passed', num: true }],
      (m.checks || []).map(function (c) {
        var total = (c.passes || 0) + (c.fails || 0);
        return { attrs: attr('data-check', c.name) + (c.fails ? ' class="has-fail"' : ''), cells: [
          ['name', esc(c.name), 'name'], ['group', esc(c.group || '')],
          ['passes', fmtCount(c.passes)], ['fails', fmtCount(c.fails), c.fails ? 'bad' : ''],
          ['pass_rate', total ? fmtPct(c.passes / total) : '–']] };
      }));
    return out;
  }

  // ---- charts --------------------------------------------------------------------------

  function perSecond(arr, period) {
    return (arr || []).map(function (v) { return isNum(v) ? v / period : null; });
  }
  function pct(arr) { return (arr || []).map(function (v) { return isNum(v) ? v * 100 : null; }); }
  function has(arr) { return (arr || []).some(isNum); }
  function line(label, values, extra) {
    var s = { label: label, values: values || [] };
    for (var k in extra || {}) s[k] = extra[k];
    return s;
  }

  // What to draw: one entry per chart panel, in page order.
  function chartDefs(m) {
    var s = m.series || {}, period = (m.meta || {}).period || 1, defs = [];
    var lat = s.http_req_duration || {}, it = s.iteration_duration || {}, cor = s.iteration_duration_corrected;
    var fmtPctAxis = function (v) { return sig(v) + '%'; };
    defs.push({ id: 'vus', title: 'Virtual users', fmt: fmtCount,
      lines: [line('VUs', s.vus), line('VUs max', s.vus_max, { dash: [5, 4] })] });
    defs.push({ id: 'rates', title: 'Request and iteration rate', fmt: fmtRate,
      lines: [line('requests', perSecond(s.http_reqs, period)), line('iterations', perSecond(s.iterations, period))] });
    defs.push({ id: 'latency', title: 'Request duration', fmt: fmtMs,
      lines: ['p50', 'p90', 'p95', 'p99'].map(function (p) { return line(p, lat[p]); }) });
    defs.push({ id: 'failures', title: 'Failed requests by status', fmt: fmtRate,
      empty: (m.failures || []).length ? '' : 'No failed requests.',
      lines: (m.failures || []).map(function (f) {
        return line(f.status + (f.error_code ? ' (' + f.error_code + ')' : ''), perSecond(f.per_second, period));
      }) });
    defs.push({ id: 'error_rate', title: 'Error rate', fmt: fmtPctAxis, empty: has(s.http_req_failed) ? '' : 'No requests.',
      lines: [line('failed', pct(s.http_req_failed), { color: '#dc2626' })] });
    defs.push({ id: 'data', title: 'Data', fmt: function (v) { return fmtBytes(v) + '/s'; },
      lines: [line('received', perSecond(s.data_received, period)), line('sent', perSecond(s.data_sent, period))] });
    defs.push({ id: 'checks', title: 'Checks passed', fmt: fmtPctAxis, yMax: 100,
      empty: has(s.checks) ? '' : 'No checks.', lines: [line('passed', pct(s.checks))] });
    var itLines = ['p50', 'p95', 'p99'].map(function (p, i) { return line(p, it[p], { color: PALETTE[i] }); });
    if (cor) {
      itLines = itLines.concat(['p50', 'p95', 'p99'].map(function (p, i) {
        return line(p + ' corrected', cor[p], { color: PALETTE[i], dash: [6, 4] });
      }));
    }
    defs.push({ id: 'iteration_duration', fmt: fmtMs, lines: itLines,
      title: cor ? 'Iteration duration (dashed: from the scheduled start)' : 'Iteration duration' });
    if (s.ws) {
      defs.push({ id: 'ws', title: 'WebSocket sessions and messages', fmt: fmtNum, lines: [
        line('sessions', s.ws.sessions), line('sent/s', perSecond(s.ws.msgs_sent, period)),
        line('received/s', perSecond(s.ws.msgs_received, period))] });
      defs.push({ id: 'ws_connecting', title: 'WebSocket connecting p95', fmt: fmtMs,
        lines: [line('connecting p95', s.ws.connecting_p95, { points: true })] });
    }
    defs.forEach(function (d) {
      d.t = s.t || [];
      if (!d.empty && !d.t.length) d.empty = 'Waiting for data.';
    });
    return defs;
  }

  var charts = {}; // id -> { panel, box, plot, key }

  var AXIS_FONT = '11px system-ui, sans-serif', measure = null;
  function textWidth(text) {
    if (!measure) { measure = document.createElement('canvas').getContext('2d'); measure.font = AXIS_FONT; }
    return measure.measureText(String(text)).width;
  }
  function axis(values, size) {
    return { stroke: '#475569', grid: { stroke: '#e2e8f0', width: 1 }, ticks: { stroke: '#cbd5e1', width: 1 },
      font: AXIS_FONT, values: values, size: size };
  }

  function plotOptions(d, width) {
    var x = axis(function (u, splits) {
      var secs = splits.some(function (v) { return v % 60 !== 0; });
      return splits.map(function (v) { return fmtClock(v, secs); });
    }, 30);
    x.space = 70; // clock labels are wide
    var y = axis(function (u, splits) {
      return splits.map(function (v) { return trimZeros(d.fmt(v)); });
    }, function (u, values) { // room for the widest label
      return Math.ceil((values || ['000']).reduce(function (w, v) { return Math.max(w, textWidth(v)); }, 0)) + 18;
    });
    return {
      width: width, height: CHART_HEIGHT,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true }, y: { range: function (u, min, max) {
        var top = d.yMax != null ? d.yMax : max > 0 ? max * 1.08 : 1;
        return [Math.min(0, min), top];
      } } },
      axes: [x, y],
      series: [{ label: 'time', value: function (u, v) { return v == null ? '–' : fmtClock(v, true); } }].concat(d.lines.map(function (l, i) {
        return { label: l.label, stroke: l.color || PALETTE[i % PALETTE.length], width: 1.5,
          dash: l.dash, points: { show: !!l.points, size: 5 },
          value: function (u, v) { return v == null ? '–' : d.fmt(v); } };
      })),
    };
  }

  function chartWidth(box) { return Math.max(200, box.clientWidth || 0); }

  function syncCharts(defs) {
    var host = $('charts'), seen = {};
    defs.forEach(function (d) {
      seen[d.id] = true;
      var c = charts[d.id];
      if (!c) {
        var panel = document.createElement('div');
        panel.className = 'panel chart-panel';
        panel.innerHTML = '<h2></h2><div class="chart"' + attr('data-chart', d.id) + '></div>';
        c = charts[d.id] = { panel: panel, box: panel.lastChild, plot: null, key: null };
      }
      host.appendChild(c.panel); // keeps page order; moving a node keeps its canvas
      c.panel.firstChild.textContent = d.title;
      var key = d.empty ? 'empty' : d.lines.map(function (l) { return l.label; }).join('\n');
      var data = [d.t].concat(d.lines.map(function (l) { return l.values; }));
      if (c.plot && key === c.key) {
        c.plot.setData(data);
      } else {
        if (c.plot) c.plot.destroy();
        c.plot = null;
        c.box.textContent = '';
        if (d.empty) {
          c.box.setAttribute('data-empty', '');
          c.box.innerHTML = '<p class="empty">' + esc(d.empty) + '</p>';
        } else {
          c.box.removeAttribute('data-empty');
          c.plot = new uPlot(plotOptions(d, chartWidth(c.box)), data, c.box);
        }
        c.key = key;
      }
    });
    Object.keys(charts).forEach(function (id) {
      if (seen[id]) return;
      if (charts[id].plot) charts[id].plot.destroy();
      host.removeChild(charts[id].panel);
      delete charts[id];
    });
  }

  function resizeCharts(width) {
    Object.keys(charts).forEach(function (id) {
      var c = charts[id];
      if (c.plot) c.plot.setSize({ width: width || chartWidth(c.box), height: CHART_HEIGHT });
    });
  }

  // ---- page ----------------------------------------------------------------------------

  var received = 0, lastModel = null, receivedAt = 0, connection = 'offline';

  function setStatus() {
    var m = lastModel, live = !!(m && m.meta && m.meta.live), state, text;
    var lost = connection === 'lost' || connection === 'closed';
    if (!m) { state = lost ? 'lost' : 'loading'; text = lost ? 'no connection' : 'waiting for data'; }
    else if (live && lost) { state = 'lost'; text = connection === 'closed' ? 'disconnected' : 'reconnecting'; }
    else if (live) { state = 'live'; text = connection === 'frozen' ? 'live (frozen)' : 'live'; }
    else { state = 'finished'; text = 'finished'; }
    $('status').setAttribute('data-state', state);
    $('status-text').textContent = text;
    document.body.setAttribute('data-state', state);
  }

  function tickElapsed() {
    var m = lastModel;
    if (!m) return;
    var s = (m.totals || {}).duration;
    if (m.meta && m.meta.live && connection === 'open' && isNum(s)) s += (Date.now() - receivedAt) / 1000;
    var el = $('elapsed');
    el.textContent = fmtDuration(s);
    el.setAttribute('data-elapsed', isNum(s) ? s.toFixed(1) : '');
  }

  function keepOpen(fn) { // re-rendering must not close what the reader opened
    var open = {};
    document.querySelectorAll('details[id]').forEach(function (d) { open[d.id] = d.open; });
    fn();
    Object.keys(open).forEach(function (id) { var d = $(id); if (d) d.open = open[id]; });
  }

  function checkOverflow() {
    var sw = document.documentElement.scrollWidth, iw = window.innerWidth;
    document.body.setAttribute('data-scroll-width', sw);
    document.body.setAttribute('data-inner-width', iw);
    document.body.setAttribute('data-overflow', sw > iw ? 'yes' : 'no');
  }

  function render(m) {
    if (!m || typeof m !== 'object' || m.version !== 1) throw new Error('not a ReportModel v1');
    lastModel = m;
    receivedAt = Date.now();
    received++;
    var meta = m.meta || {};
    document.title = (meta.script ? meta.script + ' · ' : '') + 'stampede ' + (meta.live ? 'live' : 'report');
    $('bar-title').textContent = meta.script || '';
    keepOpen(function () {
      $('head').innerHTML = renderHead(m);
      $('tiles').innerHTML = renderTiles(m);
      $('notices').innerHTML = renderNotices(m);
      $('tables').innerHTML = renderTables(m);
    });
    syncCharts(chartDefs(m));
    $('foot').textContent = (meta.tool || 'stampede') + ' · charts drawn with uPlot (MIT)';
    setStatus();
    tickElapsed();
    $('error').hidden = true;
    document.body.setAttribute('data-rendered', String(received));
    checkOverflow();
  }

  function showError(msg) {
    var e = $('error');
    e.hidden = false;
    e.className = 'notice bad';
    e.setAttribute('data-error', '');
    e.textContent = msg;
  }

  function safeRender(m) {
    try { render(m); } catch (err) { showError('Cannot show this report: ' + (err && err.message || err)); }
  }

  function start() {
    var embedded = $('report-data');
    if (embedded) {
      document.body.setAttribute('data-mode', 'offline');
      var model;
      try { model = JSON.parse(embedded.textContent); } catch (err) {
        showError('The embedded report data is not valid JSON: ' + err.message);
        return;
      }
      safeRender(model);
    } else {
      document.body.setAttribute('data-mode', 'live');
      connection = 'connecting';
      setStatus();
      if (!window.EventSource) { showError('This browser cannot receive live updates (no EventSource).'); return; }
      // `?updates=N` freezes the view after N updates (a snapshot to print or to save).
      var updates = parseInt(new URLSearchParams(location.search).get('updates'), 10);
      var source = new EventSource('events');
      source.onopen = function () { connection = 'open'; setStatus(); };
      source.onmessage = function (ev) {
        var model;
        try { model = JSON.parse(ev.data); } catch (err) { return; }
        connection = 'open';
        safeRender(model);
        if (model && model.meta && model.meta.live === false) source.close(); // the run is over
        else if (updates > 0 && received >= updates) { source.close(); connection = 'frozen'; }
      };
      source.onerror = function () {
        if (lastModel && lastModel.meta && !lastModel.meta.live) { source.close(); return; }
        connection = source.readyState === EventSource.CLOSED ? 'closed' : 'lost';
        setStatus();
      };
      setInterval(tickElapsed, 1000);
    }
    var timer = null;
    window.addEventListener('resize', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { resizeCharts(); checkOverflow(); }, 100);
    });
    window.addEventListener('beforeprint', function () { resizeCharts(PRINT_WIDTH); });
    window.addEventListener('afterprint', function () { resizeCharts(); });
  }

  start();
})();
