/*
 * overlay.js -- the live-reload script `cotdev run` injects into HTML pages
 * (served as /_cot/live.js; embedded into the binary at build time).
 *
 * One EventSource on /_cot/events per page. Events:
 *   reload  a file changed (handler, template, static file, schema.sql):
 *           pages it concerns update themselves (below); the rest stay still
 *   css     a stylesheet under static/ changed: swap its <link> with a
 *           cache-busting query (no reload, form state stays)
 *   compile-error  a handler failed to compile: overlay with file:line,
 *           message and source excerpt; the page underneath stays; the
 *           `reload` of the fixed file clears it. Not named "error": that
 *           name would also fire EventSource's connection-error handler.
 *   fail    a request somewhere answered 5xx: overlay naming the request
 *           (its id links to the request inspector, /_cot/requests)
 *   replay  a handler save replayed its last request (dev console): a small
 *           note in a corner with the outcome and a link to the diff; a
 *           page that reloaded meanwhile asks /_cot/api/replays/latest
 *
 * Which pages a save concerns. The script tag carries the handshake
 * (livereload.c): the handler file that served this page and every
 * template its response read (data-files), and the method and status of
 * that request. A `reload` for one of those files, for a file declaring
 * middleware ("all"), for schema.sql or for a file of a kind we cannot
 * place concerns the page; so does any handler or template save while the
 * page is an error page (the save may be the fix). A static file other
 * than CSS concerns the pages that load it (src/href/poster/srcset): a
 * changed script or image reloads them. Every other page does nothing --
 * no fetch.
 *
 * Updating a concerned page: it refetches its own URL with GET (same
 * cookies, a browser's Accept, header X-Cot-Live: 1 so the server neither
 * logs it nor broadcasts its failure) and morphs the live DOM into the
 * answer (see "morph" below), keeping scroll, focus and caret, typed
 * values, open <details> and playing media. It falls back to a full reload
 * only when morphing would be wrong: the page or the answer has
 * <meta name="cot-reload" content="full">; the answer is not HTML or was
 * redirected (the page moved); its scripts differ (a morph cannot re-run
 * them; this script's own tag excepted). An answer whose status turned into
 * an error (4xx/5xx after a success) is not morphed and not reloaded: the
 * page stays and the overlay shows the failure; the save that fixes it
 * morphs the page back. A page made by a POST (data-method) is not
 * refetched -- its URL may mean something else to a GET -- and not
 * reloaded either: a reload sends the form again (Chromium does it without
 * asking), so a bar offers "reload and resend" instead. Saves that arrive
 * during a refetch are folded into one more refetch after it, so a burst of
 * saves ends showing the last version.
 *
 * The morph itself is devserver/morph.js. Why our own rather than
 * idiomorph or morphdom from npm: the script is embedded into cotdev by
 * the C build, which needs no node or npm today (only the browser tests
 * do), and the state rules we want -- typed values kept, <details> left as
 * the user set them, stylesheet links left alone when only our
 * cache-busting query differs, nodes other scripts added to <head>/<body>
 * kept -- are options or patches there but a few lines here.
 *
 * Reconnects with its own back-off (0.5 s doubling to 8 s) instead of the
 * browser's fixed retry, so a stopped server costs a few requests a minute;
 * a connection that comes back after being lost reloads the page once (the
 * server restarted, its code may differ). window.__cot exposes the state for
 * the browser tests and the benchmark.
 */
(function () {
	'use strict';
	if (window.__cot) return;
	var script = document.currentScript;
	var state = window.__cot = {
		status: 'connecting', errors: {}, fails: [], connects: 0, cssSwaps: 0,
		page: pageInfo(script),
		busy: false, fetches: 0, morphs: 0, timing: {}, ignored: [], eventAt: 0, morphedAt: 0,
		postNotice: null, lastReload: takeReloadReason()
	};
	var delay = 500, lost = false, reloading = false, hidden = false;
	state.morphInto = morphInto; /* devserver/morph.js */
	morphStart();

	function now() { return performance.timeOrigin + performance.now(); }

	/* What the server said about this page in the script tag. */
	function pageInfo(tag) {
		var files = tag ? tag.getAttribute('data-files') : '';
		return {
			request: tag ? tag.getAttribute('data-request-id') : null,
			method: (tag && tag.getAttribute('data-method')) || 'GET',
			status: Number(tag && tag.getAttribute('data-status')) || 200,
			files: files ? files.split(' ').filter(Boolean) : []
		};
	}

	/* Why the previous page of this tab reloaded itself (tests read it). */
	function takeReloadReason() {
		try {
			var r = sessionStorage.getItem('cot-reload');
			sessionStorage.removeItem('cot-reload');
			return r;
		} catch (x) { return null; }
	}

	function reload(why) {
		if (reloading) return;
		reloading = true;
		state.status = 'reloading';
		try { sessionStorage.setItem('cot-reload', why); } catch (x) { /* private mode */ }
		location.reload();
	}

	function connect() {
		state.connects++;
		var es = new EventSource('/_cot/events');
		es.onopen = function () {
			if (lost) return reload('the server restarted');
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
		on('reload', changed);
		on('css', swapCss);
		on('compile-error', function (d) {
			state.errors[d.file] = d;
			hidden = false;
			render();
		});
		on('replay', function (d) { replayNote(d); });
		on('fail', function (d) {
			if (d.request_id === state.page.request) return;
			addFail(d);
		});
	}

	/* ---- which saves concern this page ---------------------------------- */

	function changed(d) {
		if (d.file in state.errors) {
			delete state.errors[d.file];
			render();
		}
		if (/^static\//.test(d.file)) {
			if (usesStatic(d.file)) return reload('it uses ' + d.file);
			return ignore(d.file);
		}
		if (!concerns(d)) return ignore(d.file);
		state.eventAt = now();
		refresh(d.file);
	}

	function concerns(d) {
		var p = state.page;
		if (d.all || d.file === 'schema.sql') return true;
		if (!/^(handlers|templates)\//.test(d.file)) return true; /* cannot place it */
		return p.files.indexOf(d.file) >= 0 || p.status >= 400;
	}

	function ignore(file) {
		state.ignored.push(file);
		if (state.ignored.length > 20) state.ignored.shift();
	}

	var ASSET_ATTRS = ['src', 'href', 'poster', 'srcset', 'data'];

	/* Whether an element of the page loads static/REL (links <a> do not). */
	function usesStatic(file) {
		var rel = file.replace(/^static\//, '');
		var els = document.querySelectorAll('[src],[href],[poster],[srcset],[data]');
		for (var i = 0; i < els.length; i++) {
			if (els[i].nodeName === 'A' || els[i].nodeName === 'AREA') continue;
			for (var k = 0; k < ASSET_ATTRS.length; k++) {
				var v = els[i].getAttribute(ASSET_ATTRS[k]);
				if (v && v.split(',').some(function (u) { return samePath(u.trim().split(/\s+/)[0], rel); }))
					return true;
			}
		}
		/* a module imported by a module script does not show in the DOM */
		return /\.m?js$/.test(rel) && document.querySelector('script[type="module"]') !== null;
	}

	function samePath(url, rel) {
		try {
			var u = new URL(url, location.href);
			return u.origin === location.origin && u.pathname.slice(-rel.length - 1) === '/' + rel;
		} catch (x) { return false; }
	}

	/* ---- refetch ---------------------------------------------------------- */

	var again = false;
	var ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

	function optedOut(doc) {
		return doc.querySelector('meta[name="cot-reload"][content="full"]') !== null;
	}

	/* A save concerns the page: refetch it, or queue one more refetch. */
	function refresh(file) {
		if (reloading) return;
		if (optedOut(document)) return reload('the page asks for full reloads');
		var m = state.page.method;
		if (m !== 'GET' && m !== 'HEAD') {
			state.postNotice = { file: file, method: m };
			return render();
		}
		if (state.busy) {
			again = true;
			return;
		}
		state.busy = true;
		refetch().then(settle, settle);
	}

	function settle() {
		state.busy = false;
		if (again) {
			again = false;
			refresh('');
		}
	}

	function refetch() {
		state.fetches++;
		var t0 = now();
		return fetch(location.href, {
			headers: { 'X-Cot-Live': '1', 'Accept': ACCEPT },
			credentials: 'same-origin', cache: 'no-store'
		}).then(function (r) {
			return r.text().then(function (text) {
				state.timing = { fetch: now() - t0 };
				try {
					apply(r, text);
				} catch (e) { /* a bug of ours must not leave a half-morphed page */
					reload('the morph failed: ' + e);
				}
			});
		}, function () {
			/* the server is gone: the event stream notices and reconnects */
		});
	}

	function apply(r, text) {
		if (reloading) return;
		if (r.redirected) return reload('the page now redirects');
		if (!/^text\/html/i.test(r.headers.get('Content-Type') || ''))
			return reload('the page is no longer HTML');
		var t0 = now();
		var doc = new DOMParser().parseFromString(text, 'text/html');
		state.timing.parse = now() - t0;
		if (r.status >= 400 && state.page.status < 400) return failed(r, doc);
		if (optedOut(doc)) return reload('the page asks for full reloads');
		if (scriptsOf(document) !== scriptsOf(doc)) return reload('its scripts changed');
		var info = pageInfo(doc.querySelector('script[src="/_cot/live.js"]'));
		t0 = now();
		morphPage(doc);
		state.timing.morph = now() - t0;
		state.page = info;
		state.fails = []; /* they are about code this save replaced */
		render();
		state.morphs++;
		state.morphedAt = now();
	}

	/* Scripts of a document as one string: the page's code, this one excepted. */
	function scriptsOf(doc) {
		var out = [];
		for (var i = 0; i < doc.scripts.length; i++) {
			var s = doc.scripts[i], src = s.getAttribute('src');
			if (src === '/_cot/live.js') continue;
			out.push((s.getAttribute('type') || '') + ' ' + (src !== null ? 'src=' + src : s.text));
		}
		return out.join('\n');
	}

	/* The refetch answered an error: keep the page, show why in the overlay. */
	function failed(r, doc) {
		for (var f in state.errors)
			if (state.page.files.indexOf(f) >= 0) return; /* its compile error shows */
		var h1 = doc.querySelector('h1'), p = h1 && h1.nextElementSibling;
		var trace = doc.querySelector('pre.cot-trace');
		state.fails = state.fails.filter(function (x) { return !x.live; });
		addFail({
			live: true, status: r.status, method: 'GET',
			path: location.pathname + location.search,
			request_id: r.headers.get('X-Request-Id') || '?',
			detail: p && p.nodeName === 'P' ? p.textContent : (h1 ? h1.textContent : ''),
			trace: trace ? trace.textContent : null
		});
	}

	function addFail(d) {
		state.fails.push(d);
		if (state.fails.length > 5) state.fails.shift();
		hidden = false;
		render();
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
			if (served && served.has(old)) served.add(link); /* the morph may update it */
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
		'cursor:pointer;line-height:1}' +
		'.bar{position:fixed;left:16px;right:16px;bottom:16px;z-index:2147483647;' +
		'background:#1d1f27;color:#e8e8ea;border-left:6px solid #f5a623;border-radius:6px;' +
		'padding:10px 14px;font:14px/1.5 system-ui,sans-serif;' +
		'box-shadow:0 6px 24px rgba(0,0,0,.35)}' +
		'.bar button{font-size:18px;margin-left:8px}' +
		'.bar .resend{float:none;font-size:14px;color:#1d1f27;background:#f5a623;' +
		'border-radius:4px;padding:2px 10px;margin-left:12px}';

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

	function noticeBar(n) {
		var bar = el('div', 'bar');
		bar.appendChild(el('span', null, n.file ? n.file + ' changed. ' : 'The code changed. '));
		bar.appendChild(el('span', null, 'This page answers a ' + n.method + ' request: it ' +
			'is not refetched, and reloading it sends the form again.'));
		var again = bar.appendChild(el('button', 'resend', 'Reload and resend'));
		again.onclick = function () { reload('resend asked by hand'); };
		var close = bar.appendChild(el('button', null, '\u00d7'));
		close.title = 'Hide';
		close.onclick = function () { state.postNotice = null; render(); };
		return bar;
	}

	function render() {
		var host = document.getElementById('cot-overlay');
		var files = Object.keys(state.errors);
		var modal = !hidden && (files.length || state.fails.length);
		if (!modal && !state.postNotice) {
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
		if (state.postNotice) root.appendChild(noticeBar(state.postNotice));
		if (!modal) return;
		var bg = root.appendChild(el('div', 'bg'));
		var panel = bg.appendChild(el('div', 'panel'));
		var close = panel.appendChild(el('button', null, '\u00d7'));
		close.title = 'Hide (Esc)';
		close.onclick = hide;
		files.forEach(function (f) { panel.appendChild(errorItem(state.errors[f])); });
		state.fails.forEach(function (d) { panel.appendChild(failItem(d)); });
		var live = state.fails.some(function (d) { return d.live; });
		panel.appendChild(el('div', 'hint', files.length || live ?
			'Fix the file and save: this page updates by itself.' :
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
