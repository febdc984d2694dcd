/*
 * bench_browser.mjs -- save -> page updated in the browser, side by side
 * with a baseline measured in the same run.
 *
 *   live:    write handlers/home.c, wait until the open page shows the new
 *            heading (watcher + compile + SSE event + page reload + render)
 *   reload:  page.reload() of the same page until the heading is there
 *            (the round trip a developer pays when pressing F5, minus the
 *            time to reach for the key)
 *
 * Prints median and p90 of each over N saves (default 15, BENCH_N) and the
 * ratios live/reload: what live reload adds over a plain reload.
 */
import * as t from '../browser/lib.mjs';

const N = Number(process.env.BENCH_N || 15);
const app = t.makeApp();
const srv = await t.startServer(app);
const browser = await t.launch();

function pct(xs, p) {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
}

try {
	const page = await browser.newPage();
	await page.goto(srv.url);
	const live = [], reload = [];
	for (let i = 0; i < N + 2; i++) {
		await t.waitLive(page);
		const title = `Save ${i}`;
		const t0 = performance.now();
		t.writeApp(app, 'handlers/home.c', t.homeWith(app, title));
		await t.waitText(page, 'h1', title);
		const t1 = performance.now();
		await page.reload({ waitUntil: 'domcontentloaded' });
		await t.waitText(page, 'h1', title);
		const t2 = performance.now();
		if (i >= 2) { /* the first two warm up the compiler and the browser */
			live.push(t1 - t0);
			reload.push(t2 - t1);
		}
	}
	const row = (name, xs) => console.log(
		`${name.padEnd(28)} median ${pct(xs, 0.5).toFixed(1).padStart(6)} ms   ` +
		`p90 ${pct(xs, 0.9).toFixed(1).padStart(6)} ms`);
	console.log(`save -> page updated, ${N} saves, same page, same run`);
	row('live reload (save->shown)', live);
	row('baseline page.reload()', reload);
	console.log(`ratio live/reload: median ${(pct(live, 0.5) / pct(reload, 0.5)).toFixed(2)}x, ` +
	            `p90 ${(pct(live, 0.9) / pct(reload, 0.9)).toFixed(2)}x`);
	t.ok('bench_browser ran');
} catch (e) {
	t.notOk('bench_browser ran', e.message);
} finally {
	await browser.close();
	await t.stopServer(srv);
}
process.exit(t.exitCode());
