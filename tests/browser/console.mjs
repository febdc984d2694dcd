/*
 * console.mjs -- the dev console at /_cot/ in Chromium: the routes page and
 * its filter (a broken file marked), "did you mean" on the dev 404, the
 * request inspector filling live as requests arrive (a POST with its INSERT
 * and timing, a crash with its trace), a hostile request body shown as
 * text, replay-on-save showing the changed answer (in the inspector, and as
 * a note on the page whose handler was saved), and the database page:
 * rows, then the apply button applying a held drop after a confirmation
 * that names the values lost. Saves build/console.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as t from './lib.mjs';

const XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
const SENT = JSON.stringify({ title: XSS, body: 'b' });
const app = t.makeApp();
const srv = await t.startServer(app);
const browser = await t.launch();

async function ready(page, url) {
	await page.goto(srv.url + url);
	await page.waitForFunction(() => window.__cotConsole && window.__cotConsole.ready, null,
	                           { timeout: t.DEADLINE_MS });
}

async function visibleRows(page) {
	return page.$$eval('#routes tbody tr', (rows) => rows.filter((r) => !r.hidden)
		.map((r) => r.textContent));
}

/* Polls fn (in node) until it returns a truthy value. */
async function until(fn, what) {
	const end = Date.now() + t.DEADLINE_MS;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > end) throw new Error(`no ${what} after ${t.DEADLINE_MS} ms`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

try {
	const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
	page.on('dialog', (d) => { page.lastDialog = d.message(); d.accept(); });

	await t.check('routes page lists handler, function and file:line', async () => {
		await ready(page, '_cot/routes');
		const rows = await visibleRows(page);
		t.expect(rows.length >= 8, `${rows.length} rows`);
		t.expect(rows.some((r) => r.includes('/notes/:id') && r.includes('show_note') &&
		                          /handlers\/notes\.c:\d+/.test(r)), rows.join(' | '));
		const href = await page.$eval('#routes a.editor', (a) => a.href);
		t.expect(href.startsWith('vscode://file/'), href);
	});

	await t.check('the filter box narrows the routes', async () => {
		await page.fill('#filter', 'hello');
		const rows = await visibleRows(page);
		t.expect(rows.length === 1 && rows[0].includes('/hello/:name'), rows.join(' | '));
	});

	await t.check('a file that does not compile is listed, marked', async () => {
		t.writeApp(app, 'handlers/broken.c', '#include <cot.h>\nstatic cot_result b(cot_ctx *c)' +
		           ' { return cot_text(c, 200, "b") }\nCOT_ROUTES(COT_GET("/broken/x", b),)\n');
		await until(async () => {
			await ready(page, '_cot/routes');
			return page.$('#routes tr.broken');
		}, 'broken row');
		const text = await page.textContent('#routes tr.broken');
		t.expect(text.includes('/broken/x') && text.includes('error'), text);
		fs.unlinkSync(path.join(app, 'handlers/broken.c'));
	});

	await t.check('the dev 404 suggests the nearest route', async () => {
		const resp = await page.goto(srv.url + 'note/3');
		t.expect(resp.status() === 404, `status ${resp.status()}`);
		const s = await page.textContent('#cot-routes .cot-suggest');
		t.expect(s.includes('GET /notes/:id'), s);
	});

	let postId;
	await t.check('a POST /notes appears in the inspector live, with its INSERT and timing',
	              async () => {
		await ready(page, '_cot/requests');
		await page.waitForFunction(() => window.__cotConsole.live, null, { timeout: t.DEADLINE_MS });
		const r = await fetch(srv.url + 'notes', { method: 'POST',
			headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
			body: SENT });
		t.expect(r.status === 201, `POST status ${r.status}`);
		postId = r.headers.get('x-request-id');
		await page.waitForSelector(`#list tr[data-id="${postId}"]`, { timeout: t.DEADLINE_MS });
		await page.click(`#list tr[data-id="${postId}"]`);
		await page.waitForSelector('#sql .sql', { timeout: t.DEADLINE_MS });
		const sql = await page.textContent('#sql');
		t.expect(sql.includes('INSERT INTO notes') && / ms/.test(sql) && sql.includes('1 rows'), sql);
	});

	await t.check('a hostile request body is shown as text, not run', async () => {
		const body = await page.$eval('#detail pre.body', (e) => e.textContent);
		t.expect(body === SENT, body);
		const ran = await page.evaluate(() => window.__xss);
		t.expect(ran === undefined, `window.__xss = ${ran}`);
		t.expect(await page.$('#detail img') === null, 'an <img> from the body is in the page');
	});

	await t.check('a crash\'s entry shows the trace', async () => {
		t.writeApp(app, 'handlers/boom.c', '#include <cot.h>\nstatic cot_result boom(cot_ctx *c)\n{\n' +
		           '\tvolatile int *p = 0;\n\t*p = 1;\n\treturn cot_text(c, 200, "no");\n}\n' +
		           'COT_ROUTES(COT_GET("/boom", boom),)\n');
		const id = await until(async () => {
			const r = await fetch(srv.url + 'boom');
			return r.status === 500 && r.headers.get('x-request-id');
		}, '500 from /boom');
		await page.waitForSelector(`#list tr[data-id="${id}"]`, { timeout: t.DEADLINE_MS });
		await page.click(`#list tr[data-id="${id}"]`);
		await page.waitForSelector('#detail pre.trace', { timeout: t.DEADLINE_MS });
		const trace = await page.textContent('#detail pre.trace');
		t.expect(trace.includes('handlers/boom.c:5'), trace);
	});

	await t.check('saving a handler replays its last request and shows the diff', async () => {
		const r = await fetch(srv.url + 'hello/world');
		const id = r.headers.get('x-request-id');
		t.expect((await r.text()).startsWith('Hello'), 'hello answers');
		await page.evaluate((i) => { location.hash = i; }, id);
		await page.waitForSelector('#detail-title', { timeout: t.DEADLINE_MS });
		t.writeApp(app, 'handlers/hello.c', t.readApp(app, 'handlers/hello.c')
			.replace('Hello, %s!', 'Howdy, %s!'));
		await page.waitForSelector('#replay .diff .add', { timeout: t.DEADLINE_MS });
		const del = await page.textContent('#replay .diff .del');
		const add = await page.textContent('#replay .diff .add');
		t.expect(del.includes('Hello, world!') && add.includes('Howdy, world!'), `${del} / ${add}`);
	});

	await t.check('a page whose handler is saved shows a note about its replay', async () => {
		const home = await browser.newPage();
		await home.goto(srv.url);
		await t.waitLive(home);
		t.writeApp(app, 'handlers/home.c', t.homeWith(app, 'Replayed'));
		await t.waitText(home, 'h1', 'Replayed');
		await home.waitForFunction(() => {
			const h = document.getElementById('cot-replay-note');
			return h && h.shadowRoot.textContent.includes('replayed GET / after saving handlers/home.c');
		}, null, { timeout: t.DEADLINE_MS });
		const note = await home.evaluate(() =>
			document.getElementById('cot-replay-note').shadowRoot.textContent);
		t.expect(note.includes('the answer changed'), note);
		await home.close();
	});

	await t.check('screenshot of the inspector saved to build/console.png', async () => {
		const shot = path.join(t.REPO, 'build', 'console.png');
		fs.mkdirSync(path.dirname(shot), { recursive: true });
		await page.screenshot({ path: shot });
		t.expect(fs.statSync(shot).size > 10000, 'screenshot is suspiciously small');
	});

	await t.check('the database page shows the rows, as text', async () => {
		await ready(page, '_cot/db');
		await page.click('#tables a.table:text-is("notes")');
		await page.waitForSelector('#rows table.rows', { timeout: t.DEADLINE_MS });
		const text = await page.textContent('#rows table.rows');
		t.expect(text.includes(XSS), text);
		t.expect(await page.evaluate(() => window.__xss) === undefined, 'the title ran');
	});

	await t.check('the database page refuses writes', async () => {
		const r = await page.evaluate(() => fetch('/_cot/api/db/notes', { method: 'DELETE',
			headers: { 'X-Cot-Console': '1' } }).then((x) => x.status));
		t.expect(r === 405, `DELETE answered ${r}`);
	});

	await t.check('the apply button applies a held drop after a confirmation naming the loss',
	              async () => {
		const schema = t.readApp(app, 'schema.sql').replace(/\n\s*body TEXT[^\n]*/, '');
		t.writeApp(app, 'schema.sql', schema);
		await until(async () => {
			await ready(page, '_cot/db');
			return page.$('#apply');
		}, 'apply button');
		await page.click('#apply');
		await page.waitForFunction(() => window.__cotConsole.applied, null, { timeout: t.DEADLINE_MS });
		t.expect(/1 value of column notes\.body/.test(page.lastDialog || ''), page.lastDialog);
		const out = await page.textContent('#apply-output');
		t.expect(out.includes('applied 1 step'), out);
		const cols = await page.textContent('#tables');
		t.expect(!/\bbody TEXT/.test(cols), cols);
	});
} finally {
	await browser.close();
	const code = await t.stopServer(srv);
	if (code === 0) t.ok('server stops cleanly');
	else t.notOk('server stops cleanly', `exit ${code}`);
}
process.exit(t.exitCode());
