/*
 * morph.mjs -- a save updates the pages it concerns by morphing them in
 * place, and only those: typed text, caret, scroll, open <details> and a
 * playing <audio> survive an edit of the page's handler; unchanged nodes
 * see no mutation; id-keyed elements keep their nodes when reordered; a
 * header the handler includes and a template the page rendered refresh it;
 * an unrelated handler or template save makes no request; a static script
 * the page loads reloads it, another one does not; 20 saves in 2 s end
 * with the last version; the refetches are not in the access log.
 */
import * as t from './lib.mjs';
import * as p from './pages.mjs';

const app = t.makeApp(p.appFiles());
const srv = await t.startServer(app, 0, { log: true });
const browser = await t.launch();

/* Marks the current document; a full reload loses the mark. */
async function mark(page) {
	await page.evaluate(() => { window.__sameDocument = true; });
}
async function sameDocument(page) {
	return page.evaluate(() => window.__sameDocument === true);
}

try {
	const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
	const refetches = t.countRefetches(page);

	await t.check('the script tag names the page handler, method and status', async () => {
		await page.goto(srv.url + 'page');
		await t.waitLive(page);
		const info = await page.evaluate(() => window.__cot.page);
		t.expect(info.files.includes('handlers/page.c') && info.method === 'GET' &&
		         info.status === 200, JSON.stringify(info));
	});

	await t.check('typed text, caret, scroll, <details> and playing audio survive a handler edit',
	              async () => {
		await page.fill('#name', 'typed by hand');
		await page.fill('#notes', 'a longer note\nover two lines');
		await page.click('#more summary');
		await page.evaluate(() => {
			const n = document.getElementById('name');
			n.focus();
			n.setSelectionRange(3, 5);
			window.scrollTo(0, 1500);
			window.__h1 = document.querySelector('h1');
			window.__audio = document.getElementById('tone');
			window.__still = [];
			new MutationObserver((r) => window.__still.push(...r)).observe(
				document.getElementById('still'),
				{ subtree: true, childList: true, attributes: true, characterData: true });
		});
		const played = await page.evaluate(() => document.getElementById('tone').play()
			.then(() => true, (e) => String(e)));
		t.expect(played === true, `audio does not play: ${played}`);
		await mark(page);
		const n = await t.morphs(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Second' }));
		await t.waitMorphs(page, n);
		const s = await page.evaluate(() => {
			const n = document.getElementById('name');
			const a = document.getElementById('tone');
			return {
				h1: document.querySelector('h1').textContent,
				sameH1: window.__h1 === document.querySelector('h1'),
				name: n.value, notes: document.getElementById('notes').value,
				focus: document.activeElement && document.activeElement.id,
				caret: [n.selectionStart, n.selectionEnd],
				open: document.getElementById('more').open,
				y: window.scrollY,
				audio: window.__audio === a && !a.paused,
				still: window.__still.length,
			};
		});
		t.expect(s.h1 === 'Second', `h1 is ${s.h1}`);
		t.expect(s.sameH1, 'the <h1> node was replaced, not updated');
		t.expect(s.name === 'typed by hand', `input is "${s.name}"`);
		t.expect(s.notes === 'a longer note\nover two lines', `textarea is "${s.notes}"`);
		t.expect(s.focus === 'name' && s.caret[0] === 3 && s.caret[1] === 5,
		         `focus ${s.focus}, selection ${s.caret}`);
		t.expect(s.open === true, '<details> closed');
		t.expect(s.y === 1500, `scrollY is ${s.y}`);
		t.expect(s.audio, 'the audio element was replaced or paused');
		t.expect(s.still === 0, `${s.still} mutations in a part that did not change`);
		t.expect(await sameDocument(page), 'the page was reloaded, not morphed');
	});

	await t.check('an untouched input takes its new default value', async () => {
		const n = await t.morphs(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Second', fresh: 'v2' }));
		await t.waitMorphs(page, n);
		const v = await page.inputValue('#fresh');
		t.expect(v === 'v2', `#fresh is "${v}"`);
		t.expect(await page.inputValue('#name') === 'typed by hand', 'typed value lost');
	});

	await t.check('id-keyed elements keep their nodes when the list is reordered', async () => {
		await page.evaluate(() => {
			window.__items = {};
			for (const li of document.querySelectorAll('#list li')) window.__items[li.id] = li;
		});
		const n = await t.morphs(page);
		t.writeApp(app, 'handlers/page.c',
		           p.pageC({ title: 'Second', fresh: 'v2', order: ['c', 'a', 'b'] }));
		await t.waitMorphs(page, n);
		const r = await page.evaluate(() => {
			const lis = [...document.querySelectorAll('#list li')];
			return { ids: lis.map((l) => l.id).join(','),
			         same: lis.every((l) => window.__items[l.id] === l) };
		});
		t.expect(r.ids === 'item-c,item-a,item-b', `order ${r.ids}`);
		t.expect(r.same, 'list items were recreated');
	});

	await t.check('a row added on top or removed from a list without ids moves no other row',
	              async () => {
		const order = ['c', 'a', 'b'];
		const rows = async () => page.evaluate(() => {
			const lis = [...document.querySelectorAll('#rows li')];
			const same = lis.filter((l) => window.__rows && window.__rows.includes(l)).length;
			window.__rows = lis;
			return { text: lis.map((l) => l.textContent).join(','), same };
		});
		await rows();
		let n = await t.morphs(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Second', fresh: 'v2', order,
			rows: ['r0', 'r1', 'r2', 'r3', 'r4'] }));
		await t.waitMorphs(page, n);
		let r = await rows();
		t.expect(r.text === 'r0,r1,r2,r3,r4' && r.same === 4, JSON.stringify(r));
		n = await t.morphs(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Second', fresh: 'v2', order,
			rows: ['r0', 'r1', 'r3', 'r4'] }));
		await t.waitMorphs(page, n);
		r = await rows();
		t.expect(r.text === 'r0,r1,r3,r4' && r.same === 4, JSON.stringify(r));
	});

	await t.check('the morph turns random trees into random edits of them, exactly', async () => {
		/* property test in the page: whatever the edit (insert, delete, move,
		 * retag, re-id, text and attribute changes), the morphed tree
		 * serializes exactly like the target */
		const bad = await page.evaluate((seed) => {
			let x = seed;
			const rnd = (n) => { x = (x * 1103515245 + 12345) % 2147483648; return x % n; };
			const tags = ['div', 'p', 'span', 'li', 'section'];
			function tree(depth) {
				let h = '';
				for (let i = rnd(6); i > 0; i--) {
					if (rnd(3) === 0) { h += ['\n', 'text ' + rnd(9), ' '][rnd(3)]; continue; }
					const tag = tags[rnd(tags.length)];
					const id = rnd(3) === 0 ? ` id="k${rnd(8)}"` : '';
					const cls = rnd(2) ? ` class="c${rnd(3)}"` : '';
					h += `<${tag}${id}${cls}>${depth ? tree(depth - 1) : 'leaf ' + rnd(4)}</${tag}>`;
				}
				return h;
			}
			function edit(html) {
				const d = document.createElement('div');
				d.innerHTML = html;
				const all = [...d.querySelectorAll('*')];
				for (let n = rnd(5) + 1; n > 0 && all.length; n--) {
					const e = all[rnd(all.length)];
					if (!e.isConnected) continue;
					switch (rnd(6)) {
					case 0: e.remove(); break;
					case 1: e.parentNode.insertBefore(e, e.parentNode.firstChild); break;
					case 2: e.setAttribute('class', 'c' + rnd(5)); break;
					case 3: e.insertAdjacentHTML('beforebegin', tree(1)); break;
					case 4: e.textContent = 'changed ' + rnd(9); break;
					case 5: if (e.id) e.removeAttribute('id'); else e.id = 'k' + rnd(8); break;
					}
				}
				return d.innerHTML;
			}
			const fails = [];
			for (let i = 0; i < 400; i++) {
				const a = tree(2), b = rnd(4) === 0 ? tree(2) : edit(a);
				const live = document.createElement('div');
				live.innerHTML = a;
				const doc = new DOMParser().parseFromString(`<div>${b}</div>`, 'text/html');
				const want = doc.body.firstChild.innerHTML;
				window.__cot.morphInto(live, doc.body.firstChild);
				if (live.innerHTML !== want) fails.push({ a, b, got: live.innerHTML });
			}
			return fails.length ? `${fails.length} of 400 differ, e.g. ${JSON.stringify(fails[0])}` : null;
		}, 20261201);
		t.expect(bad === null, bad);
	});

	await t.check('a header the page handler includes refreshes the page', async () => {
		const n = await t.morphs(page);
		t.writeApp(app, 'handlers/shared.h', p.sharedH('second sub'));
		await t.waitMorphs(page, n);
		await t.waitText(page, '#sub', 'second sub');
		t.expect(await sameDocument(page), 'the page was reloaded, not morphed');
	});

	const tpl = await browser.newPage();
	const tplFetches = t.countRefetches(tpl);

	await t.check('a template the page rendered refreshes it, and its layout too', async () => {
		await tpl.goto(srv.url + 'tpl');
		await t.waitLive(tpl);
		const files = await tpl.evaluate(() => window.__cot.page.files);
		t.expect(['handlers/tpl.c', 'templates/tpl.html', 'templates/layout.html']
		         .every((f) => files.includes(f)), JSON.stringify(files));
		await mark(tpl);
		let n = await t.morphs(tpl);
		t.writeApp(app, 'templates/tpl.html', '<h1 id="tpl">{{title}} two</h1>\n');
		await t.waitMorphs(tpl, n);
		await t.waitText(tpl, '#tpl', 'Tpl two');
		n = await t.morphs(tpl);
		t.writeApp(app, 'templates/layout.html', t.readApp(app, 'templates/layout.html')
		           .replace('<main class="wrap">', '<main class="wrap"><p id="lay">layout two</p>'));
		await t.waitMorphs(tpl, n);
		await t.waitText(tpl, '#lay', 'layout two');
		t.expect(await sameDocument(tpl), 'the template page was reloaded, not morphed');
	});

	await t.check('a template the page did not render leaves it alone (no request)', async () => {
		const before = [refetches.n, tplFetches.n];
		t.writeApp(app, 'templates/unused.html', '<p>still nobody</p>\n');
		await Promise.all([t.waitIgnored(page, 'templates/unused.html'),
		                   t.waitIgnored(tpl, 'templates/unused.html')]);
		t.expect(refetches.n === before[0] && tplFetches.n === before[1],
		         `refetches ${before} -> ${[refetches.n, tplFetches.n]}`);
	});

	await t.check('an unrelated handler edit does not touch the page (no request)', async () => {
		const before = [refetches.n, tplFetches.n];
		const m = await t.morphs(page);
		t.writeApp(app, 'handlers/other.c', p.otherC('other two'));
		await Promise.all([t.waitIgnored(page, 'handlers/other.c'),
		                   t.waitIgnored(tpl, 'handlers/other.c')]);
		t.expect(refetches.n === before[0] && tplFetches.n === before[1],
		         `refetches ${before} -> ${[refetches.n, tplFetches.n]}`);
		t.expect(await t.morphs(page) === m, 'the page morphed');
		t.expect(await sameDocument(page), 'the page reloaded');
	});

	await t.check('a page handler save does not touch the template page', async () => {
		const before = tplFetches.n;
		const n = await t.morphs(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Third', fresh: 'v2' }));
		await t.waitMorphs(page, n);
		await t.waitIgnored(tpl, 'handlers/page.c');
		t.expect(tplFetches.n === before, `template page refetched ${tplFetches.n - before}x`);
	});

	await t.check('20 saves in 2 s end with the page showing the last version', async () => {
		for (let i = 0; i < 20; i++) {
			t.writeApp(app, 'handlers/page.c', p.pageC({ title: `Burst ${i}`, fresh: 'v2' }));
			await new Promise((r) => setTimeout(r, 100)); /* pacing the saves, not a wait */
		}
		await t.waitText(page, 'h1', 'Burst 19');
		/* the last save's refetch may still be going: let it land, then look again */
		await page.waitForFunction(() => !window.__cot.busy, null, { timeout: t.DEADLINE_MS });
		t.expect(await page.textContent('h1') === 'Burst 19', 'an older version came back');
		t.expect(await page.inputValue('#name') === 'typed by hand', 'typed value lost');
		t.expect(await sameDocument(page), 'the page reloaded');
	});

	await t.check('refetches are not in the access log nor in the request inspector',
	              async () => {
		/* the dev console's replay-on-save resends GET /page after each save
		 * of page.c (request id "...-replayN"): those are requests, ours not */
		const lines = srv.output().split('\n')
			.filter((l) => /^GET \/page /.test(l) && !/-replay\d+$/.test(l));
		t.expect(refetches.n >= 5, `only ${refetches.n} refetches seen`);
		t.expect(lines.length === 1, `${lines.length} access-log lines for GET /page`);
		const r = await fetch(srv.url + '_cot/api/requests');
		if (r.status === 404)
			return; /* no inspector in this build */
		const list = (await r.json()).entries
			.filter((e) => e.method === 'GET' && e.path === '/page' && !e.replay);
		t.expect(list.length === 1, `${list.length} inspector entries for GET /page`);
	});

	await t.check('a static script the page does not load leaves it alone', async () => {
		const before = refetches.n;
		t.writeApp(app, 'static/unused.js', 'window.unusedJs = 2;\n');
		await t.waitIgnored(page, 'static/unused.js');
		t.expect(refetches.n === before && await sameDocument(page), 'the page was touched');
	});

	await t.check('a static script the page loads reloads it', async () => {
		t.writeApp(app, 'static/used.js', 'window.usedJs = 2;\n');
		await page.waitForFunction(() => window.usedJs === 2, null, { timeout: t.DEADLINE_MS });
		t.expect(!(await sameDocument(page)), 'no reload');
		const why = await page.evaluate(() => window.__cot.lastReload);
		t.expect(/static\/used\.js/.test(why), `reload reason: ${why}`);
	});

	await t.check('a static image the page shows reloads it', async () => {
		await t.waitLive(page);
		await mark(page);
		t.writeApp(app, 'static/dot.svg', p.dotSvg('blue'));
		await page.waitForFunction(() => window.__sameDocument === undefined &&
		                           window.__cot && window.__cot.status === 'open', null,
		                           { timeout: t.DEADLINE_MS });
		const why = await page.evaluate(() => window.__cot.lastReload);
		t.expect(/static\/dot\.svg/.test(why), `reload reason: ${why}`);
	});
} finally {
	await browser.close();
	await t.stopServer(srv);
}
process.exit(t.exitCode());
