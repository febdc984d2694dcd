/*
 * reconnect.mjs -- when `cotdev run` stops, the open page backs off instead
 * of retrying in a tight loop; when it comes back on the same port, the page
 * reconnects and reloads exactly once.
 */
import * as t from './lib.mjs';

const app = t.makeApp();
let srv = await t.startServer(app);
const port = srv.port;
const browser = await t.launch();

try {
	const page = await browser.newPage();
	let streams = 0, loads = 0;
	page.on('request', (r) => { if (r.url().endsWith('/_cot/events')) streams++; });
	page.on('load', () => { loads++; });
	await page.goto(srv.url);
	await t.waitLive(page);
	await page.evaluate(() => { window.__beforeRestart = true; });

	await t.check('a stopped server is noticed by the page', async () => {
		await t.stopServer(srv);
		await page.waitForFunction(() => window.__cot.status === 'lost', null,
		                           { timeout: t.DEADLINE_MS });
	});

	await t.check('no busy loop while the server is gone (back-off)', async () => {
		/* measuring a rate needs a window of time: 4 s, in which the
		   back-off (0.5, 1, 2, 4 s) allows at most 4 attempts */
		const before = streams;
		await new Promise((r) => setTimeout(r, 4000));
		const n = streams - before;
		t.expect(n >= 1 && n <= 5, `${n} reconnect attempts in 4 s`);
		console.log(`# ${n} reconnect attempts in 4 s while the server was down`);
	});

	await t.check('page reloads once after the server restarts', async () => {
		loads = 0;
		srv = await t.startServer(app, port);
		await page.waitForFunction(() => window.__beforeRestart === undefined &&
		                           window.__cot && window.__cot.status === 'open',
		                           null, { timeout: 15000 });
		/* a second reload would come at once if it came at all */
		await new Promise((r) => setTimeout(r, 700));
		t.expect(loads === 1, `${loads} loads after the restart`);
	});
} finally {
	await browser.close();
	await t.stopServer(srv);
}
process.exit(t.exitCode());
