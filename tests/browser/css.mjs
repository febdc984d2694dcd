/*
 * css.mjs -- a saved stylesheet under static/ is swapped in the open page
 * without a reload: a typed input value and page state survive, the new
 * rule applies; a later morph of the page keeps the swapped stylesheet. A
 * template the page did not render leaves it alone. The page links /static/app.css when the server serves
 * static files, else a test handler that reads static/app.css from disk
 * (static file serving is another concern of the runtime; the live-reload
 * path is the same either way: a change event for static/app.css).
 */
import * as t from './lib.mjs';

const FORM = `#include <cot.h>
#include <stdio.h>

static cot_result
form(cot_ctx *c)
{
	const char *css = cot_query(c, "css");
	return cot_html(c, 200, "<!doctype html><html><head><title>form</title>"
		"<link rel=\\"stylesheet\\" href=\\"%s\\"></head><body><h1>form</h1>"
		"<input id=\\"name\\" name=\\"name\\"></body></html>", css ? css : "/static/app.css");
}

static cot_result
css_from_disk(cot_ctx *c)
{
	char buf[8192];
	FILE *f = fopen("static/app.css", "r");
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	return cot_send(c, 200, "text/css; charset=utf-8", buf, n);
}

COT_ROUTES(
	COT_GET("/form", form),
	COT_GET("/test-assets/app.css", css_from_disk),
)
`;

const RED = 'input { border: 3px solid rgb(255, 0, 0); }\n';
const BLUE = 'input { border: 3px solid rgb(0, 0, 255); }\n';

const app = t.makeApp({ 'handlers/form.c': FORM, 'static/app.css': RED,
                        'templates/page.html': '<p>old</p>\n' });
const srv = await t.startServer(app);
const browser = await t.launch();

async function borderColor(page) {
	return page.$eval('#name', (e) => getComputedStyle(e).borderTopColor);
}

try {
	const page = await browser.newPage();
	const probe = await fetch(srv.url + 'static/app.css');
	const served = probe.status === 200 && (await probe.text()) === RED;
	const href = served ? '/static/app.css' : '/test-assets/app.css';
	console.log(`# stylesheet served from ${href}`);

	await t.check('page with a stylesheet and an input loads live', async () => {
		await page.goto(`${srv.url}form?css=${encodeURIComponent(href)}`);
		await t.waitLive(page);
		const c = await borderColor(page);
		t.expect(c === 'rgb(255, 0, 0)', `border is ${c}`);
	});

	await t.check('css edit applies without a reload and keeps the typed value', async () => {
		await page.fill('#name', 'typed by hand');
		await page.evaluate(() => { window.__notReloaded = true; });
		t.writeApp(app, 'static/app.css', BLUE);
		await page.waitForFunction(() =>
			getComputedStyle(document.getElementById('name')).borderTopColor === 'rgb(0, 0, 255)',
			null, { timeout: t.DEADLINE_MS });
		const v = await page.inputValue('#name');
		t.expect(v === 'typed by hand', `input value is "${v}"`);
		t.expect(await page.evaluate(() => window.__notReloaded === true), 'page reloaded');
	});

	await t.check('the swapped link carries a cache-busting query, one link left', async () => {
		const links = await page.$$eval('link[rel=stylesheet]', (ls) => ls.map((l) => l.href));
		t.expect(links.length === 1 && /[?&]cot=\d+/.test(links[0]), JSON.stringify(links));
	});

	await t.check('a template the page did not render leaves it alone', async () => {
		t.writeApp(app, 'templates/page.html', '<p>{{x}}</p>\n');
		await t.waitIgnored(page, 'templates/page.html');
		t.expect(await page.evaluate(() => window.__notReloaded === true &&
		                             window.__cot.fetches === 0), 'page refetched or reloaded');
	});

	await t.check('an edit of its handler morphs the page, the swapped stylesheet stays', async () => {
		const n = await t.morphs(page);
		t.writeApp(app, 'handlers/form.c', FORM.replace('<h1>form</h1>', '<h1>form two</h1>'));
		await t.waitMorphs(page, n);
		await t.waitText(page, 'h1', 'form two');
		const c = await borderColor(page);
		t.expect(c === 'rgb(0, 0, 255)', `border is ${c}`);
		const links = await page.$$eval('link[rel=stylesheet]', (ls) => ls.map((l) => l.href));
		t.expect(links.length === 1 && /[?&]cot=\d+/.test(links[0]), JSON.stringify(links));
		t.expect(await page.inputValue('#name') === 'typed by hand', 'typed value lost');
		t.expect(await page.evaluate(() => window.__notReloaded === true), 'page reloaded');
	});
} finally {
	await browser.close();
	await t.stopServer(srv);
}
process.exit(t.exitCode());
