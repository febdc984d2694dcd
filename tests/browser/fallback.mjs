/*
 * fallback.mjs -- when a save must not be morphed into the page: a changed
 * <head> script reloads it fully; so does a page that opts out with
 * <meta name="cot-reload" content="full"> and an answer that is no longer
 * HTML; a POST-result page is neither refetched nor resent (it offers a
 * resend, which reloads); a compile error shows the overlay over the kept
 * page and its fix morphs the page back; an answer that turns into a 500
 * shows the overlay over the kept page and its fix morphs it back.
 */
import * as t from './lib.mjs';
import * as p from './pages.mjs';

const app = t.makeApp(p.appFiles());
const srv = await t.startServer(app);
const browser = await t.launch();

async function mark(page) {
	await page.evaluate(() => { window.__sameDocument = true; });
}
async function sameDocument(page) {
	return page.evaluate(() => window.__sameDocument === true);
}
/* Waits for a full reload of `page` that shows `title`; returns its reason. */
async function waitReloaded(page, title) {
	await page.waitForFunction(() => window.__sameDocument === undefined &&
	                           window.__cot && window.__cot.status === 'open', null,
	                           { timeout: t.DEADLINE_MS });
	await t.waitText(page, 'h1', title);
	return page.evaluate(() => window.__cot.lastReload);
}

try {
	const page = await browser.newPage();
	const refetches = t.countRefetches(page);
	await page.goto(srv.url + 'page');
	await t.waitLive(page);

	await t.check('a compile error shows the overlay; its fix morphs the page back', async () => {
		await page.fill('#name', 'kept through the error');
		await mark(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Broken', broken: true }));
		await t.waitOverlay(page, 'handlers/page.c:');
		t.expect(await page.textContent('h1') === 'First', 'the page underneath changed');
		const n = await t.morphs(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Fixed' }));
		await t.waitMorphs(page, n);
		await t.waitText(page, 'h1', 'Fixed');
		t.expect(await t.overlayText(page) === '', 'overlay still there');
		t.expect(await page.inputValue('#name') === 'kept through the error', 'typed value lost');
		t.expect(await sameDocument(page), 'the page was reloaded, not morphed');
	});

	await t.check('an answer turning into a 500 shows the overlay over the kept page', async () => {
		const before = refetches.n;
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Failing', status: 500 }));
		/* the page's own refetch failed (the dev console's replay of the
		 * request may report a 500 too, maybe first: not the one we want) */
		await page.waitForFunction(() => window.__cot.fails.some((f) => f.live &&
		                           f.status === 500), null, { timeout: t.DEADLINE_MS });
		await t.waitOverlay(page, 'request failed · 500');
		t.expect(refetches.n > before, 'no refetch');
		t.expect(await page.textContent('h1') === 'Fixed', 'the error answer was morphed in');
		t.expect(await sameDocument(page), 'the page reloaded');
		const n = await t.morphs(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Fine again' }));
		await t.waitMorphs(page, n);
		await t.waitText(page, 'h1', 'Fine again');
		t.expect(await t.overlayText(page) === '', 'overlay still there');
		t.expect(await page.inputValue('#name') === 'kept through the error', 'typed value lost');
	});

	await t.check('a changed <head> script reloads the page fully', async () => {
		await mark(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Head script',
			head: '<script src="/static/head.js"></script>' }));
		const why = await waitReloaded(page, 'Head script');
		t.expect(why === 'its scripts changed', `reload reason: ${why}`);
		t.expect(await page.evaluate(() => window.headScript) === 2, 'new script did not run');
	});

	await t.check('an unchanged <head> script is left alone (morph, no reload)', async () => {
		await t.waitLive(page);
		await mark(page);
		const n = await t.morphs(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Same script',
			head: '<script src="/static/head.js"></script>' }));
		await t.waitMorphs(page, n);
		await t.waitText(page, 'h1', 'Same script');
		t.expect(await sameDocument(page), 'the page reloaded');
	});

	await t.check('a page with <meta name="cot-reload" content="full"> reloads fully', async () => {
		const meta = '<meta name="cot-reload" content="full">';
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Opted out', head: meta }));
		await waitReloaded(page, 'Opted out'); /* the answer asked for it */
		await t.waitLive(page);
		await mark(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ title: 'Opted out 2', head: meta }));
		const why = await waitReloaded(page, 'Opted out 2');
		t.expect(why === 'the page asks for full reloads', `reload reason: ${why}`);
	});

	await t.check('an answer that is no longer HTML reloads the page', async () => {
		await t.waitLive(page);
		await mark(page);
		t.writeApp(app, 'handlers/page.c', p.pageC({ text: true }));
		await page.waitForFunction(() => window.__sameDocument === undefined &&
		                           document.body.textContent.includes('plain text now'), null,
		                           { timeout: t.DEADLINE_MS });
	});

	await t.check('a POST-result page is neither refetched nor resent; it offers a resend',
	              async () => {
		const post = await browser.newPage();
		const posts = { n: 0 };
		const postFetches = t.countRefetches(post);
		post.on('request', (r) => { if (r.method() === 'POST') posts.n++; });
		await post.goto(srv.url + 'form');
		await post.fill('#word', 'hello');
		await Promise.all([post.waitForNavigation(), post.click('#go')]);
		await t.waitText(post, '#posted', 'v1 hello');
		await t.waitLive(post);
		t.expect(await post.evaluate(() => window.__cot.page.method) === 'POST', 'method');
		await mark(post);
		t.writeApp(app, 'handlers/post.c', p.postC('v2'));
		await t.waitOverlay(post, 'answers a POST request');
		t.expect(postFetches.n === 0 && posts.n === 1,
		         `${postFetches.n} refetches, ${posts.n} POSTs`);
		t.expect(await sameDocument(post), 'the page reloaded');
		const resend = await post.evaluate(() => {
			const b = document.getElementById('cot-overlay').shadowRoot.querySelector('.resend');
			if (b) b.click();
			return b !== null;
		});
		t.expect(resend, 'no resend button');
		await t.waitText(post, '#posted', 'v2 hello');
		t.expect(posts.n === 2, `${posts.n} POSTs after the resend`);
		await post.close();
	});
} finally {
	await browser.close();
	await t.stopServer(srv);
}
process.exit(t.exitCode());
