/*
 * overlay.js -- the live-reload script `cotdev run` injects into HTML pages
 * (served as /_cot/live.js; embedded into the binary at build time).
 *
 * One EventSource on /_cot/events per page. Events:
 *   reload  a handler, template or other file changed: reload the page
 *   css     a stylesheet under static/ changed: swap its <link> with a
 *           cache-busting query (no reload, form state stays)
 *   compile-error  a handler failed to compile: overlay with file:line,
 *           message and source excerpt; the page underneath stays; the next
 *           `reload` clears it (the page reloads). Not named "error": that
 *           name would also fire EventSource's connection-error handler.
 *   fail    a request somewhere answered 5xx: overlay naming the request
 *           (its id links to the request inspector, /_cot/requests)
 *   replay  a handler save replayed its last request (dev console): a small
 *           note in a corner with the outcome and a link to the diff; a
 *           page that reloaded meanwhile asks /_cot/api/replays/latest
 *
 * Reconnects with its own back-off (0.5 s doubling to 8 s) instead of the
 * browser's fixed retry, so a stopped server costs a few requests a minute;
 * a connection that comes back after being lost reloads the page once (the
 * server restarted, its code may differ). window.__cot exposes the state for
 * the browser tests.
 */
(function () {
	'use strict';
	if (window.__cot) return;
	var script = document.currentScript;
	var own = script ? script.getAttribute('data-request-id') : null;
	var state = window.__cot = {
		status: 'connecting', errors: {}, fails: [], connects: 0, cssSwaps: 0
	};
	var delay = 500, lost = false, reloading = false, hidden = false;

	function reload() {
		if (reloading) return;
		reloading = true;
		state.status = 'reloading';
		location.reload();
	}

	function connect() {
		state.connects++;
		var es = new EventSource('/_cot/events');
		es.onopen = function () {
			if (lost) return reload();
			state.status = 'open';
			delay = 500;
			latestReplay();
		};
		es.onerror = function () {
			es.close();
			if (reloading) return;
			lost = true;
			state.status = 'lost';
			setTimeout(connect, delay);
			delay = Math.min(delay * 2, 8000);
		};
		function on(name, fn) {
			es.addEventListener(name, function (e) {
				var d;
				try { d = JSON.parse(e.data); } catch (x) { return; }
				fn(d);
			});
		}
		on('reload', function (d) {
			delete state.errors[d.file];
			reload();
		});
		on('css', swapCss);
		on('compile-error', function (d) {
			state.errors[d.file] = d;
			hidden = false;
			render();
		});
		on('replay', function (d) { replayNote(d); });
		on('fail', function (d) {
			if (d.request_id === own) return;
			state.fails.push(d);
			if (state.fails.length > 5) state.fails.shift();
			hidden = false;
			render();
		});
	}

	/* ---- stylesheets ---------------------------------------------------- */

	function sameOrigin(link) {
		try { return new URL(link.href, location.href).origin === location.origin; }
		catch (x) { return false; }
	}

	function swapCss(d) {
		var rel = '/' + d.file.replace(/^static\//, '');
		var links = Array.prototype.slice.call(
			document.querySelectorAll('link[rel~="stylesheet"]')).filter(sameOrigin);
		var hits = links.filter(function (l) {
			return new URL(l.href, location.href).pathname.slice(-rel.length) === rel;
		});
		(hits.length ? hits : links).forEach(function (old) {
			var u = new URL(old.href, location.href);
			u.searchParams.set('cot', String(Date.now()));
			var link = old.cloneNode();
			link.href = u.href;
			/* drop the old sheet once the new one applies: no unstyled flash */
			link.onload = link.onerror = function () {
				old.remove();
				state.cssSwaps++;
			};
			old.parentNode.insertBefore(link, old.nextSibling);
		});
	}

	/* ---- the overlay ---------------------------------------------------- */

	var CSS =
		':host{all:initial}' +
		'.bg{position:fixed;inset:0;z-index:2147483647;background:rgba(15,15,25,.55);' +
		'overflow:auto;font:14px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}' +
		'.panel{max-width:960px;margin:14vh auto 6vh;background:#1d1f27;color:#e8e8ea;' +
		'border-top:6px solid #e5484d;border-radius:8px;padding:20px 24px;' +
		'box-shadow:0 12px 40px rgba(0,0,0,.45)}' +
		'.item+.item{margin-top:22px;padding-top:18px;border-top:1px solid #333}' +
		'.kind{color:#ff8589;font-weight:700;text-transform:uppercase;font-size:12px;' +
		'letter-spacing:.06em}' +
		'.loc{color:#7cc4ff;font-size:15px;margin:4px 0}' +
		'.msg{font-size:16px;color:#fff;margin:6px 0 12px;white-space:pre-wrap}' +
		'pre{margin:0;background:#14151b;padding:10px 0;border-radius:6px;overflow:auto}' +
		'.ln{display:block;padding:0 12px;white-space:pre}' +
		'.ln.hit{background:rgba(229,72,77,.22)}.caret{color:#ff8589}' +
		'pre{tab-size:8}' +
		'.n{display:inline-block;width:4em;color:#777;text-align:right;margin-right:1em}' +
		'.hint{color:#999;margin-top:16px;font-family:system-ui,sans-serif}' +
		'button{float:right;background:none;border:0;color:#aaa;font-size:22px;' +
		'cursor:pointer;line-height:1}';

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text != null) e.textContent = text;
		return e;
	}

	function errorItem(d) {
		var item = el('div', 'item');
		item.appendChild(el('div', 'kind', 'compile error'));
		editorLink(item.appendChild(el('div', 'loc', d.at + (d.line ? ':' + d.line : '') +
			(d.col ? ':' + d.col : ''))), d.at, d.line);
		item.appendChild(el('div', 'msg', d.message));
		var pre = el('pre');
		(d.excerpt && d.excerpt.length ? d.excerpt : []).forEach(function (l) {
			var row = el('span', 'ln' + (l.n === d.line ? ' hit' : ''));
			row.appendChild(el('span', 'n', String(l.n)));
			row.appendChild(document.createTextNode(l.text));
			pre.appendChild(row);
			if (l.n === d.line && d.col > 0) {
				/* keep the tabs so the caret lines up under the column */
				var pad = l.text.slice(0, d.col - 1).replace(/[^\t]/g, ' ');
				var mark = el('span', 'ln caret');
				mark.appendChild(el('span', 'n', ''));
				mark.appendChild(document.createTextNode(pad + '^'));
				pre.appendChild(mark);
			}
		});
		if (!pre.childNodes.length) pre.appendChild(el('span', 'ln', d.text));
		item.appendChild(pre);
		return item;
	}

	/* Makes e (file:line text) open the editor, when the console says how. */
	function editorLink(e, file, line) {
		fetch('/_cot/api/editor?file=' + encodeURIComponent(file) + '&line=' + (line || 1))
			.then(function (r) { return r.ok ? r.json() : null; })
			.then(function (j) {
				if (!j || !j.href) return;
				e.style.cursor = 'pointer';
				e.title = 'open in ' + j.editor;
				e.onclick = function () {
					if (j.mode === 'command')
						fetch(j.href, { method: 'POST', headers: { 'X-Cot-Console': '1' } });
					else
						location.href = j.href;
				};
			}, function () {});
	}

	function failItem(d) {
		var item = el('div', 'item');
		item.appendChild(el('div', 'kind', 'request failed · ' + d.status));
		var loc = item.appendChild(el('div', 'loc', d.method + ' ' + d.path + '  ('));
		var link = loc.appendChild(el('a', null, 'request ' + d.request_id));
		link.href = '/_cot/requests#' + encodeURIComponent(d.request_id);
		link.style.color = 'inherit';
		loc.appendChild(document.createTextNode(')'));
		if (d.file)
			editorLink(loc.appendChild(el('span', null, '  at ' + d.file + ':' + d.line)),
				d.file, d.line);
		if (d.detail) item.appendChild(el('div', 'msg', d.detail));
		if (d.trace) item.appendChild(el('pre')).appendChild(el('span', 'ln', d.trace));
		return item;
	}

	function render() {
		var host = document.getElementById('cot-overlay');
		var files = Object.keys(state.errors);
		if (hidden || (!files.length && !state.fails.length)) {
			if (host) host.remove();
			return;
		}
		if (!host) {
			host = document.createElement('div');
			host.id = 'cot-overlay';
			host.attachShadow({ mode: 'open' });
			document.documentElement.appendChild(host);
		}
		var root = host.shadowRoot;
		root.textContent = '';
		root.appendChild(el('style', null, CSS));
		var bg = root.appendChild(el('div', 'bg'));
		var panel = bg.appendChild(el('div', 'panel'));
		var close = panel.appendChild(el('button', null, '\u00d7'));
		close.title = 'Hide (Esc)';
		close.onclick = hide;
		files.forEach(function (f) { panel.appendChild(errorItem(state.errors[f])); });
		state.fails.forEach(function (d) { panel.appendChild(failItem(d)); });
		panel.appendChild(el('div', 'hint', files.length ?
			'Fix the file and save: this page reloads by itself.' :
			'cotdev run shows the full trace in its terminal.'));
	}

	function hide() {
		hidden = true;
		state.fails = [];
		render();
	}

	/* ---- replay-on-save notes (devserver/console_replay.c) --------------- */

	var loadedAt = Date.now();
	state.replays = [];

	/* A page that reloaded after its handler's save missed the `replay`
	 * event of its own request: ask for the latest outcome once. */
	function latestReplay() {
		if (state.replayAsked) return;
		state.replayAsked = true;
		fetch('/_cot/api/replays/latest').then(function (r) {
			return r.ok ? r.json() : null;
		}).then(function (d) {
			if (d && d.replay && d.replay.path === location.pathname &&
			    d.replay.at > loadedAt - 15000) replayNote(d);
		}, function () {});
	}

	function replayNote(d) {
		var r = d.replay || {};
		state.replays.push(d);
		var host = document.getElementById('cot-replay-note');
		if (!host) {
			host = document.createElement('div');
			host.id = 'cot-replay-note';
			host.attachShadow({ mode: 'open' });
			document.documentElement.appendChild(host);
		}
		var root = host.shadowRoot;
		root.textContent = '';
		root.appendChild(el('style', null, ':host{all:initial}.n{position:fixed;right:12px;' +
			'bottom:12px;z-index:2147483646;max-width:420px;background:#1d1f27;color:#e8e8ea;' +
			'font:13px/1.4 system-ui,sans-serif;padding:10px 14px;border-radius:6px;' +
			'border-left:4px solid #7cc4ff;box-shadow:0 6px 20px rgba(0,0,0,.35);cursor:pointer}' +
			'a{color:#7cc4ff}'));
		var what = r.skipped ? 'not replayed: ' + r.skipped : r.error ? r.error :
			r.status_before + ' \u2192 ' + r.status_after + (r.changed ? ', the answer changed' :
			', same answer') + ' (writes rolled back)';
		var n = root.appendChild(el('div', 'n', 'replayed ' + r.method + ' ' + r.path +
			' after saving ' + r.file + ': ' + what + ' '));
		var a = n.appendChild(el('a', null, 'diff'));
		a.href = '/_cot/requests#' + encodeURIComponent(d.id);
		n.onclick = function (e) { if (e.target !== a) host.remove(); };
	}

	document.addEventListener('keydown', function (e) {
		if (e.key === 'Escape' && document.getElementById('cot-overlay')) hide();
	});
	connect();
})();
