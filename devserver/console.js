/*
 * console.js -- the dev console's pages (/_cot/, /_cot/routes,
 * /_cot/requests, /_cot/db), drawn from the JSON under /_cot/api/.
 * Served as /_cot/console.js; embedded into cotdev at build time.
 *
 * Everything shown comes from the app or its clients (paths, headers,
 * request bodies, rows) and is put in the page with textContent or as an
 * attribute value, never as HTML: a hostile body is shown as text.
 * Links to the editor come ready-made from the server (console_editor.c);
 * a command editor's link is POSTed with X-Cot-Console.
 * window.__cotConsole exposes the state for the browser tests.
 */
(function () {
	'use strict';
	var page = document.body.getAttribute('data-page');
	var state = window.__cotConsole = { page: page, ready: false, entries: [], live: false };

	var CSS =
		'body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1f27;background:#fafafa}' +
		'header{background:#1d1f27;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center}' +
		'header a{color:#9fd0ff;text-decoration:none}header a.on{color:#fff;font-weight:700}' +
		'main{padding:16px 20px}table{border-collapse:collapse;width:100%;background:#fff}' +
		'td,th{border-bottom:1px solid #e3e3e8;padding:4px 8px;text-align:left;vertical-align:top}' +
		'code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}' +
		'pre{background:#f1f1f4;padding:8px;overflow:auto;white-space:pre-wrap;word-break:break-all;margin:4px 0}' +
		'.broken{color:#b00020}.s2{color:#0a7d2c}.s3{color:#6b5b00}.s4{color:#b35c00}.s5{color:#b00020}' +
		'.split{display:grid;grid-template-columns:minmax(320px,40%) 1fr;gap:16px}' +
		'#list tr{cursor:pointer}#list tr.sel{background:#e8f0ff}' +
		'.del{background:#ffecec}.add{background:#e9ffe9}.note{color:#666}' +
		'input[type=search]{padding:4px 8px;width:320px}button{cursor:pointer}' +
		'h2{font-size:16px;margin:18px 0 6px}.danger{background:#b00020;color:#fff;border:0;padding:6px 12px}';

	function el(tag, attrs, kids) {
		var e = document.createElement(tag);
		for (var k in attrs || {}) {
			if (k === 'text') e.textContent = attrs[k];
			else if (k === 'class') e.className = attrs[k];
			else if (k.slice(0, 2) === 'on') e[k] = attrs[k];
			else e.setAttribute(k, attrs[k]);
		}
		(kids || []).forEach(function (c) {
			if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
		});
		return e;
	}

	function api(path, opts) {
		return fetch('/_cot/api/' + path, opts).then(function (r) {
			return r.json().then(function (j) { j.__status = r.status; return j; });
		});
	}

	/* file:line as a link that opens the editor, or plain text */
	function fileLink(file, line, href) {
		var label = file + (line ? ':' + line : '');
		if (!href) return el('span', { class: 'mono', text: label });
		var a = el('a', { class: 'mono editor', href: href, text: label });
		if (href.indexOf('/_cot/api/open') === 0) {
			a.onclick = function (e) {
				e.preventDefault();
				fetch(href, { method: 'POST', headers: { 'X-Cot-Console': '1' } });
			};
		}
		return a;
	}

	function frame(title) {
		var style = el('style');
		style.textContent = CSS;
		document.head.appendChild(style);
		var nav = el('header', {}, [el('strong', { text: 'cot dev console' })]);
		[['routes', 'Routes'], ['requests', 'Requests'], ['db', 'Database']].forEach(function (p) {
			nav.appendChild(el('a', { href: '/_cot/' + p[0], text: p[1],
				class: p[0] === page ? 'on' : '' }));
		});
		document.body.appendChild(nav);
		var main = el('main', {}, [el('h1', { text: title })]);
		document.body.appendChild(main);
		return main;
	}

	/* ---- routes ----------------------------------------------------------- */

	function routes(main) {
		var filter = el('input', { type: 'search', id: 'filter',
			placeholder: 'filter: method, path, file or function' });
		var body = el('tbody');
		main.appendChild(filter);
		main.appendChild(el('table', { id: 'routes' }, [el('thead', {}, [el('tr', {}, [
			el('th', { text: 'Method' }), el('th', { text: 'Pattern' }),
			el('th', { text: 'Handler' }), el('th', { text: 'File' })])]), body]));
		return api('routes').then(function (list) {
			list.forEach(function (r) {
				var tr = el('tr', { class: r.error ? 'broken' : '' }, [
					el('td', { class: 'mono', text: r.method }),
					el('td', { class: 'mono', text: r.pattern }),
					el('td', { class: 'mono', text: r.function || (r.error ? '(compile error)' : '') }),
					el('td', {}, [fileLink(r.file, r.line, r.href),
						r.error ? el('div', { class: 'broken', text: r.error }) : null])]);
				tr.dataset.search = [r.method, r.pattern, r.file, r.function || '',
					r.error ? 'broken error' : ''].join(' ').toLowerCase();
				body.appendChild(tr);
			});
			filter.oninput = function () {
				var q = filter.value.toLowerCase().trim();
				Array.prototype.forEach.call(body.rows, function (tr) {
					tr.hidden = q !== '' && tr.dataset.search.indexOf(q) < 0;
				});
			};
		});
	}

	/* ---- requests --------------------------------------------------------- */

	function statusClass(s) { return 's' + String(s).charAt(0); }

	function bodyView(b) {
		if (!b || !b.size) return el('div', { class: 'note', text: '(empty)' });
		var cut = b.shown < b.size ? ' (first ' + b.shown + ' of ' + b.size + ' bytes)' : '';
		if (b.text != null) return el('div', {}, [el('pre', { class: 'body', text: b.text }),
			cut ? el('div', { class: 'note', text: cut }) : null]);
		return el('div', {}, [el('div', { class: 'note', text: 'binary, ' + b.size + ' bytes' + cut }),
			el('pre', { class: 'body hex', text: b.hex || '' })]);
	}

	function diffView(lines) {
		var pre = el('pre', { class: 'diff' });
		(lines || []).forEach(function (l) {
			pre.appendChild(el('div', { class: l.op === '-' ? 'del' : 'add',
				text: l.op + ' ' + (l.text || '') }));
		});
		if (!pre.childNodes.length) pre.appendChild(el('div', { class: 'note', text: '(same)' }));
		return pre;
	}

	function replayView(r) {
		var box = el('section', { id: 'replay' }, [el('h2', { text: 'Replay after saving ' + r.file })]);
		if (r.skipped) { box.appendChild(el('p', { class: 'note', text: 'not replayed: ' + r.skipped })); return box; }
		if (r.error) { box.appendChild(el('p', { class: 'broken', text: r.error })); return box; }
		box.appendChild(el('p', {}, ['status ', el('span', { class: statusClass(r.status_before), text: String(r.status_before) }),
			' → ', el('span', { class: 'status-after ' + statusClass(r.status_after), text: String(r.status_after) }),
			r.changed ? ' (the answer changed)' : ' (same answer)', ' · writes rolled back · ',
			el('a', { href: '#' + r.replay_id, text: 'replay entry' })]));
		box.appendChild(el('div', { text: 'headers' }));
		box.appendChild(diffView(r.headers_diff));
		box.appendChild(el('div', { text: 'body' }));
		box.appendChild(diffView(r.body_diff));
		return box;
	}

	function detail(pane, key) {
		return api('requests/' + encodeURIComponent(key)).then(function (d) {
			pane.textContent = '';
			if (d.error) { pane.appendChild(el('p', { class: 'note', text: d.error })); return; }
			state.detail = d;
			pane.appendChild(el('h2', { id: 'detail-title' }, [
				el('span', { class: statusClass(d.status), text: d.status + ' ' }),
				d.method + ' ' + d.path]));
			pane.appendChild(el('p', { class: 'note' }, ['request ' + d.id + ' · ' +
				d.ms.toFixed(2) + ' ms · ' + new Date(d.at).toLocaleTimeString() +
				(d.replay ? ' · replay (writes rolled back)' : ''),
				d.file ? ' · ' : '', d.file ? fileLink(d.file, d.route_line, d.route_href) : null]));
			if (d.replayed) pane.appendChild(replayView(d.replayed));
			if (d.trace) {
				pane.appendChild(el('h2', { text: 'Trace' }));
				pane.appendChild(el('pre', { class: 'trace', text: d.trace }));
				(d.trace_links || []).forEach(function (l) {
					pane.appendChild(el('div', {}, [fileLink(l.file, l.line, l.href)]));
				});
			}
			pane.appendChild(el('h2', { text: 'SQL (' + d.sql.length + ')' }));
			var t = el('table', { id: 'sql' });
			d.sql.forEach(function (q) {
				t.appendChild(el('tr', {}, [el('td', {}, [el('code', { class: 'sql', text: q.sql }),
					q.params ? el('div', { class: 'note mono', text: 'params: ' + q.params }) : null]),
					el('td', { class: 'rows', text: q.rows < 0 ? 'failed' : q.rows + ' rows' }),
					el('td', { class: 'ms', text: q.ms.toFixed(3) + ' ms' })]));
			});
			if (d.sql_dropped) t.appendChild(el('tr', {}, [el('td', { text: d.sql_dropped + ' more not kept' })]));
			pane.appendChild(t);
			pane.appendChild(el('h2', { text: 'Request headers' }));
			pane.appendChild(el('pre', { class: 'req-headers', text: d.request_headers }));
			pane.appendChild(el('h2', { text: 'Request body' }));
			pane.appendChild(bodyView(d.request_body));
			pane.appendChild(el('h2', { text: 'Response headers' }));
			pane.appendChild(el('pre', { class: 'resp-headers', text: d.response_headers }));
			pane.appendChild(el('h2', { text: 'Response body' }));
			pane.appendChild(bodyView(d.response_body));
		});
	}

	function requests(main) {
		var list = el('tbody');
		var pane = el('div', { id: 'detail' }, [el('p', { class: 'note', text: 'pick a request' })]);
		main.appendChild(el('div', { class: 'split' }, [
			el('div', {}, [el('table', { id: 'list' }, [list])]), pane]));
		var last = 0, rows = {};
		function select(key) {
			Array.prototype.forEach.call(list.rows, function (tr) {
				tr.classList.toggle('sel', tr.dataset.id === key || tr.dataset.seq === key);
			});
			return detail(pane, key);
		}
		function add(e) {
			state.entries.push(e);
			var tr = rows[e.seq] || el('tr');
			tr.textContent = '';
			tr.dataset.seq = String(e.seq);
			tr.dataset.id = e.id;
			tr.appendChild(el('td', { class: statusClass(e.status), text: String(e.status) }));
			tr.appendChild(el('td', { class: 'mono', text: e.method }));
			tr.appendChild(el('td', { class: 'mono path', text: e.path }));
			tr.appendChild(el('td', { class: 'note', text: e.ms.toFixed(2) + ' ms' +
				(e.queries ? ' · ' + e.queries + ' SQL' : '') + (e.replay ? ' · replay' : '') }));
			tr.onclick = function () { location.hash = e.id; };
			if (!rows[e.seq]) list.insertBefore(tr, list.firstChild);
			rows[e.seq] = tr;
		}
		/* one fetch at a time: a burst of `request` events costs one more */
		var inflight = null, again = false;
		function poll() {
			if (inflight) { again = true; return inflight; }
			inflight = api('requests?after=' + last).then(function (j) {
				j.entries.forEach(add);
				last = Math.max(last, j.last);
			}).then(function () {
				inflight = null;
				if (again) { again = false; return poll(); }
			}, function (e) { inflight = null; throw e; });
			return inflight;
		}
		function route() {
			var key = decodeURIComponent(location.hash.slice(1));
			if (key) return select(key);
		}
		window.addEventListener('hashchange', route);
		var es = new EventSource('/_cot/events');
		es.onopen = function () { state.live = true; poll(); };
		es.addEventListener('request', function () { poll(); });
		es.addEventListener('replay', function (ev) {
			var d = JSON.parse(ev.data);
			state.lastReplay = d;
			if (state.detail && state.detail.id === d.id) select(d.id);
		});
		return poll().then(route);
	}

	/* ---- database --------------------------------------------------------- */

	function rowsView(box, table, offset) {
		return api('db/' + encodeURIComponent(table) + '?offset=' + offset).then(function (j) {
			box.textContent = '';
			box.appendChild(el('h2', { text: table + ' (rows ' + (j.total ? j.offset + 1 : 0) + '–' +
				(j.offset + j.rows.length) + ' of ' + j.total + ', read-only)' }));
			var t = el('table', { class: 'rows', 'data-table': table },
				[el('tr', {}, j.columns.map(function (c) { return el('th', { text: c }); }))]);
			j.rows.forEach(function (r) {
				t.appendChild(el('tr', {}, r.map(function (v) {
					return el('td', { class: 'mono', text: v === null ? 'NULL' : String(v) });
				})));
			});
			box.appendChild(t);
			if (j.offset > 0) box.appendChild(el('button', { text: '← previous',
				onclick: function () { rowsView(box, table, Math.max(0, j.offset - j.limit)); } }));
			if (j.offset + j.rows.length < j.total) box.appendChild(el('button', { text: 'next →',
				class: 'next', onclick: function () { rowsView(box, table, j.offset + j.limit); } }));
		});
	}

	function planView(main, plan) {
		main.appendChild(el('h2', { text: 'Plan: schema.sql against the database' }));
		if (plan.error) { main.appendChild(el('pre', { class: 'broken', text: plan.error })); return; }
		main.appendChild(el('p', { id: 'plan-summary', text: plan.summary }));
		var held = plan.steps.filter(function (s) { return s.destructive; });
		plan.steps.forEach(function (s) {
			main.appendChild(el('div', { class: s.destructive ? 'broken' : '' }, [
				el('div', { text: s.summary + (s.destructive ? ' — held: loses ' + s.loses : '') }),
				el('pre', { text: s.sql })]));
		});
		if (!held.length) return;
		var out = el('pre', { id: 'apply-output' });
		var lost = held.map(function (s) { return s.summary + ': ' + s.loses; }).join('\n');
		main.appendChild(el('button', { id: 'apply', class: 'danger',
			text: 'Apply (' + plan.command + ')', onclick: function () {
				if (!window.confirm('Apply ' + held.length + ' destructive change' +
					(held.length === 1 ? '' : 's') + '? This loses:\n' + lost)) return;
				fetch('/_cot/api/db/apply?plan=' + plan.id, { method: 'POST',
					headers: { 'X-Cot-Console': '1' } }).then(function (r) { return r.json(); })
					.then(function (j) {
						out.textContent = (j.output || '') + (j.errors || '') + (j.error || '');
						return dbPage(main).then(function () { state.applied = j; });
					});
			} }));
		main.appendChild(out);
	}

	function dbPage(main) {
		return api('db').then(function (j) {
			var keep = document.getElementById('apply-output');
			main.textContent = '';
			main.appendChild(el('h1', { text: 'Database ' + j.database }));
			if (keep) main.appendChild(keep);
			var rowsBox = el('div', { id: 'rows' });
			var t = el('table', { id: 'tables' }, [el('tr', {}, ['Table', 'Rows', 'Columns', 'Indexes']
				.map(function (h) { return el('th', { text: h }); }))]);
			j.tables.forEach(function (tb) {
				t.appendChild(el('tr', {}, [
					el('td', {}, [el('a', { href: '#', class: 'table', text: tb.name,
						onclick: function (e) { e.preventDefault(); rowsView(rowsBox, tb.name, 0); } })]),
					el('td', { class: 'count', text: String(tb.rows) }),
					el('td', { class: 'mono', text: tb.columns.map(function (c) {
						return c.name + ' ' + c.type + (c.pk ? ' PK' : '') + (c.notnull ? ' NOT NULL' : '');
					}).join(', ') }),
					el('td', { class: 'mono', text: tb.indexes.map(function (i) {
						return i.name + (i.unique ? ' (unique)' : '') + ' [' +
							i.columns.map(function (c) { return c.name; }).join(', ') + ']';
					}).join('; ') })]));
			});
			main.appendChild(t);
			main.appendChild(rowsBox);
			planView(main, j.plan);
			main.appendChild(el('div', { class: 'split' }, [
				el('div', {}, [el('h2', { text: 'Live schema' }), el('pre', { id: 'schema-live', text: j.schema_live || '' })]),
				el('div', {}, [el('h2', { text: 'schema.sql' }), el('pre', { id: 'schema-sql', text: j.plan.schema_sql || '' })])]));
		});
	}

	/* ---- home ------------------------------------------------------------- */

	function home(main) {
		main.appendChild(el('ul', {}, [
			el('li', {}, [el('a', { href: '/_cot/routes', text: 'Routes' }), ' — every route, its handler and file']),
			el('li', {}, [el('a', { href: '/_cot/requests', text: 'Requests' }), ' — the last 200 requests with their SQL, live']),
			el('li', {}, [el('a', { href: '/_cot/db', text: 'Database' }), ' — tables, rows, schema and the migration plan'])]));
		return Promise.resolve();
	}

	var pages = { routes: [routes, 'Routes'], requests: [requests, 'Requests'],
		db: [dbPage, 'Database'], home: [home, 'Dev console'] };
	var p = pages[page] || pages.home;
	var main = frame(p[1]);
	p[0](main).then(function () { state.ready = true; }, function (e) {
		main.appendChild(el('pre', { class: 'broken', text: String(e) }));
		state.ready = true;
		state.error = String(e);
	});
})();
