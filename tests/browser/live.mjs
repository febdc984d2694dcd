/*
 * live.mjs -- an edit to a handler updates the open page by itself, in two
 * tabs at once, and a request that fails with 500 shows up in the other
 * open tab. Needs build/cotdev, playwright-core and /usr/bin/chromium.
 */
import * as t from './lib.mjs';

const BOOM = `#include <cot.h>

static cot_result
boom(cot_ctx *c)
{
	return cot_fail(c, 500, "the boom handler went off");
}

COT_ROUTES(
	COT_GET("/boom", boom),
)
`;

const app = t.makeApp({ 'handlers/boom.c': BOOM });
const srv = await t.startServer(app);
const browser = await t.launch();
try {
	const ctx = await browser.newContext();
	const a = await ctx.newPage();
	const b = await ctx.newPage();

	await t.check('page gets the script and an open event stream', async () => {
		await a.goto(srv.url);
		await t.waitLive(a);
		const n = await a.evaluate(() =>
			document.querySelectorAll('script[src="/_cot/live.js"]').length);
		t.expect(n === 1, `${n} live.js script tags`);
	});

	await t.check('edit to handlers/home.c updates the open page', async () => {
		t.writeApp(app, 'handlers/home.c', t.homeWith(app, 'Edited once'));
		await t.waitText(a, 'h1', 'Edited once');
	});

	await t.check('two tabs both reload on one edit', async () => {
		await b.goto(srv.url);
		await Promise.all([t.waitLive(a), t.waitLive(b)]);
		t.writeApp(app, 'handlers/home.c', t.homeWith(app, 'Both tabs'));
		await Promise.all([t.waitText(a, 'h1', 'Both tabs'), t.waitText(b, 'h1', 'Both tabs')]);
	});

	await t.check('a 500 elsewhere shows in the open tab with its request', async () => {
		await t.waitLive(a);
		const r = await fetch(srv.url + 'boom', { headers: { Accept: 'text/html' } });
		t.expect(r.status === 500, `GET /boom answered ${r.status}`);
		const id = r.headers.get('x-request-id');
		await t.waitOverlay(a, 'GET /boom');
		const text = await t.overlayText(a);
		t.expect(text.includes('the boom handler went off'), `overlay: ${text}`);
		t.expect(text.includes(id), `overlay lacks request id ${id}: ${text}`);
		t.expect(await a.textContent('h1') === 'Both tabs', 'page underneath replaced');
	});

	await t.check('script is not injected into non-HTML responses', async () => {
		const r = await fetch(srv.url + 'hello/x');
		const body = await r.text();
		t.expect(!body.includes('live.js'), body);
		t.expect(Number(r.headers.get('content-length')) === Buffer.byteLength(body),
		         'content-length');
	});

	await t.check('injected HTML keeps Content-Length right', async () => {
		// identity: fetch would gunzip a gzip answer, whose Content-Length
		// counts the compressed bytes (tests/test_compress.c checks those)
		const r = await fetch(srv.url, {
			headers: { Accept: 'text/html', 'Accept-Encoding': 'identity' } });
		const body = await r.text();
		t.expect(r.headers.get('content-encoding') === null, 'asked for identity');
		t.expect(Number(r.headers.get('content-length')) === Buffer.byteLength(body),
		         `content-length ${r.headers.get('content-length')} vs ${Buffer.byteLength(body)}`);
		t.expect(/<script src="\/_cot\/live.js"[^>]*><\/script><\/body>/.test(body),
		         'script not right before </body>');
	});

	await t.check('/_cot/routes lists the routes', async () => {
		const text = await (await fetch(srv.url + '_cot/routes')).text();
		t.expect(/GET\s+\/boom\s+handlers\/boom.c:/.test(text), text);
	});
} finally {
	await browser.close();
	const code = await t.stopServer(srv);
	if (code === 0) t.ok('server stops cleanly with open event streams');
	else t.notOk('server stops cleanly with open event streams', `exit ${code}`);
}
process.exit(t.exitCode());
