/*
 * overlay.mjs -- a compile error shows an overlay on the open page naming
 * file:line with the message and a source excerpt, the page underneath is
 * kept; fixing the file clears the overlay and shows the new content. A
 * first load of the broken route (the 500 page) carries the overlay too and
 * reloads itself once the file is fixed. Saves build/overlay.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as t from './lib.mjs';

const app = t.makeApp();
const srv = await t.startServer(app);
const browser = await t.launch();
const shot = path.join(t.REPO, 'build', 'overlay.png');

/* home.c with an undeclared identifier on the `return cot_html(` line */
function broken(title) {
	return t.homeWith(app, title).replace('return cot_html(c, 200,',
	                                       'return cot_html(c, no_such_status,');
}

try {
	const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
	let src, line;

	await t.check('compile error shows an overlay naming file and line', async () => {
		await page.goto(srv.url);
		await t.waitLive(page);
		src = broken('Broken soon');
		line = t.lineOf(src, 'no_such_status');
		t.writeApp(app, 'handlers/home.c', src);
		await t.waitOverlay(page, `handlers/home.c:${line}`);
		const text = await t.overlayText(page);
		t.expect(text.includes('no_such_status'), `no message/excerpt: ${text}`);
	});

	await t.check('overlay shows the source excerpt with the line marked', async () => {
		const hit = await page.evaluate(() => {
			const r = document.getElementById('cot-overlay').shadowRoot;
			const e = r.querySelector('.ln.hit');
			return e ? e.textContent : null;
		});
		t.expect(hit !== null && hit.includes('no_such_status'), `marked line: ${hit}`);
	});

	await t.check('the page underneath the overlay is kept', async () => {
		const h1 = await page.textContent('h1');
		t.expect(h1 === 'Your cot app is running', `h1 is "${h1}"`);
	});

	await t.check('screenshot of the overlay saved to build/overlay.png', async () => {
		fs.mkdirSync(path.dirname(shot), { recursive: true });
		await page.screenshot({ path: shot });
		t.expect(fs.statSync(shot).size > 10000, 'screenshot is suspiciously small');
	});

	await t.check('fixing the file clears the overlay and shows the new content', async () => {
		t.writeApp(app, 'handlers/home.c', t.homeWith(app, 'Fixed'));
		await t.waitText(page, 'h1', 'Fixed');
		t.expect(await t.overlayText(page) === '', 'overlay still there');
	});

	await t.check('first load of a broken route shows the overlay on the 500 page', async () => {
		t.writeApp(app, 'handlers/home.c', broken('Fixed'));
		await t.waitOverlay(page, `handlers/home.c:${line}`);
		const fresh = await browser.newPage();
		const resp = await fresh.goto(srv.url);
		t.expect(resp.status() === 500, `status ${resp.status()}`);
		await t.waitOverlay(fresh, `handlers/home.c:${line}`);
		const trace = await fresh.textContent('pre.cot-trace');
		t.expect(trace.includes(`handlers/home.c:${line}`), `trace: ${trace}`);
		await t.waitLive(fresh);
		t.writeApp(app, 'handlers/home.c', t.homeWith(app, 'Fixed again'));
		await Promise.all([t.waitText(fresh, 'h1', 'Fixed again'),
		                   t.waitText(page, 'h1', 'Fixed again')]);
		t.expect(await t.overlayText(fresh) === '', 'overlay still on the fixed page');
		await fresh.close();
	});

	await t.check('terminal shows the error gcc-style with a caret', async () => {
		const out = srv.output();
		const re = new RegExp(`handlers/home\\.c:${line}:\\d+: error: .*no_such_status[^\\n]*\\n` +
		                      `\\s*${line} \\|[^\\n]*\\n\\s*\\|\\s*\\^`);
		t.expect(re.test(out), `terminal output: ${out}`);
		t.expect(!out.includes('\x1b['), 'colour codes although stdout is not a tty');
	});
} finally {
	await browser.close();
	await t.stopServer(srv);
}
process.exit(t.exitCode());
