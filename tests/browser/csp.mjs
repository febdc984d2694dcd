/*
 * csp.mjs -- the template's pages under the default Content-Security-Policy:
 * every page of `cotdev new`'s app, a form post, the live reload and the
 * error overlay work, and the browser reports no policy violation. An
 * inline script, which the policy exists to stop, is reported and does not
 * run (so the check can fail).
 */
import * as t from './lib.mjs';

const app = t.makeApp({
	'handlers/inline.c':
		'#include <cot.h>\n\n' +
		'static cot_result\n' +
		'inline_script(cot_ctx *c)\n' +
		'{\n' +
		'\treturn cot_html(c, 200, "<!doctype html><html><body><h1 id=\\"h\\">static</h1>"\n' +
		'\t                "<script>document.getElementById(\'h\').textContent = \'ran\';</script>"\n' +
		'\t                "</body></html>");\n' +
		'}\n\n' +
		'COT_ROUTES(\n\tCOT_GET("/inline", inline_script),\n)\n',
});
const srv = await t.startServer(app);
const browser = await t.launch();

/* Every violation the page reports, kept across navigations. */
async function watchedPage() {
	const page = await browser.newPage();
	const seen = [];
	await page.exposeFunction('__cspViolation', (v) => seen.push(v));
	await page.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) =>
			window.__cspViolation(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
	});
	return { page, seen };
}

try {
	const { page, seen } = await watchedPage();

	await t.check('the home page carries the policy', async () => {
		const r = await page.goto(srv.url);
		const csp = r.headers()['content-security-policy'] || '';
		t.expect(csp.includes("script-src 'self'"), `Content-Security-Policy: "${csp}"`);
		await t.waitLive(page);
	});

	await t.check('the notes pages and a form post work without a violation', async () => {
		await page.goto(srv.url + 'notes/new');
		await page.fill('input[name="title"]', 'Under a policy');
		await Promise.all([page.waitForNavigation(), page.click('form button, form [type=submit]')]);
		await t.waitText(page, 'h1', 'Under a policy');
		await page.goto(srv.url + 'notes');
		await t.waitLive(page);
		t.expect(seen.length === 0, `violations: ${seen.join('; ')}`);
	});

	await t.check('the overlay shows a compile error under the policy', async () => {
		await page.goto(srv.url);
		await t.waitLive(page);
		const broken = t.homeWith(app, 'Broken').replace('cot_render(c, 200,',
		                                                   'cot_render(c, no_such,');
		t.writeApp(app, 'handlers/home.c', broken);
		await t.waitOverlay(page, 'handlers/home.c:');
	});

	await t.check('the live reload brings the fixed page under the policy', async () => {
		t.writeApp(app, 'handlers/home.c', t.homeWith(app, 'Fixed under a policy'));
		await t.waitText(page, 'h1', 'Fixed under a policy');
		t.expect(seen.length === 0, `violations: ${seen.join('; ')}`);
	});

	await t.check('an inline script is reported and does not run', async () => {
		const p = await watchedPage();
		await p.page.goto(srv.url + 'inline');
		await p.page.waitForFunction(() => true);
		const h = await p.page.textContent('#h');
		const deadline = Date.now() + t.DEADLINE_MS;
		while (p.seen.length === 0 && Date.now() < deadline)
			await p.page.waitForTimeout(20);
		t.expect(h === 'static', `the inline script ran: h1 is "${h}"`);
		t.expect(p.seen.some((v) => v.startsWith('script-src')), `reported: ${p.seen.join('; ')}`);
		await p.page.close();
	});
} finally {
	await browser.close();
	const code = await t.stopServer(srv);
	if (code !== 0)
		t.notOk('cotdev run exits 0 at SIGTERM', `exit ${code}: ${srv.output().slice(-400)}`);
}
process.exit(t.exitCode());
