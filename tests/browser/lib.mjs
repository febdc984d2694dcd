/*
 * lib.mjs -- what the browser tests share: a fresh app from `cotdev new`,
 * `cotdev run --port 0` started and stopped by pid, Debian's Chromium through
 * playwright-core, and the one-line-per-check protocol of tests/t.h
 * ("ok NAME" / "not ok NAME: why", non-zero exit on any failure).
 *
 * Every wait has a deadline and polls for a condition; nothing sleeps for a
 * fixed time to let an update "probably" land.
 *
 * Environment: COTDEV (default build/cotdev) picks the binary under test,
 * CHROMIUM (default /usr/bin/chromium) the browser.
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const COTDEV = path.resolve(REPO, process.env.COTDEV || 'build/cotdev');
export const DEADLINE_MS = 10000;

/* ---- the t.h protocol --------------------------------------------------- */

let failed = 0;
let passed = 0;

export function ok(name) {
	passed++;
	console.log(`ok ${name}`);
}

export function notOk(name, why) {
	failed++;
	console.log(`not ok ${name}: ${String(why).split('\n')[0]}`);
}

/* Runs one check; a throw (a timed-out wait) is its failure reason. */
export async function check(name, fn) {
	try {
		const r = await fn();
		if (r === false)
			notOk(name, 'condition false');
		else
			ok(name);
	} catch (e) {
		notOk(name, e && e.message ? e.message : e);
	}
}

export function expect(cond, why) {
	if (!cond)
		throw new Error(why);
}

export function exitCode() {
	return failed || passed === 0 ? 1 : 0;
}

/* ---- the app and the server --------------------------------------------- */

/* A new app in a temp dir; `files` maps app-relative paths to contents. */
export function makeApp(files = {}) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cot-browser-'));
	const app = path.join(dir, 'app');
	execFileSync(COTDEV, ['new', app], { stdio: 'ignore' });
	templateHome.set(app, readApp(app, 'handlers/home.c'));
	for (const [rel, text] of Object.entries(files))
		writeApp(app, rel, text);
	return app;
}

/* Writes in place (open, truncate, write, close): one CLOSE_WRITE, like an editor. */
export function writeApp(app, rel, text) {
	fs.mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
	fs.writeFileSync(path.join(app, rel), text);
}

export function readApp(app, rel) {
	return fs.readFileSync(path.join(app, rel), 'utf8');
}

const templateHome = new Map();

/* The template's home.c (as `cotdev new` wrote it) with its heading set to `title`. */
export function homeWith(app, title) {
	return templateHome.get(app).replace(/<h1>[^<]*<\/h1>/, `<h1>${title}</h1>`);
}

/* Starts `cotdev run` (--quiet unless opts.log); resolves once it printed its URL. */
export function startServer(app, port = 0, opts = {}) {
	return new Promise((resolve, reject) => {
		const args = ['run', '--port', String(port), ...(opts.log ? [] : ['--quiet']), app];
		const proc = spawn(COTDEV, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		const timer = setTimeout(() => {
			proc.kill('SIGKILL');
			reject(new Error(`no URL line from cotdev run within ${DEADLINE_MS} ms: ${out}`));
		}, DEADLINE_MS);
		const take = (chunk) => {
			out += chunk;
			const m = out.match(/cot dev server on (http:\/\/[0-9.]+:(\d+)\/)/);
			if (m && timer) {
				clearTimeout(timer);
				resolve({ proc, url: m[1], port: Number(m[2]), output: () => out });
			}
		};
		proc.stdout.on('data', take);
		proc.stderr.on('data', (c) => { out += c; });
		proc.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`cotdev run exited (${code}): ${out}`));
		});
	});
}

/* SIGTERM by pid, SIGKILL if it is still there after the deadline. */
export async function stopServer(srv) {
	if (srv.proc.exitCode !== null || srv.proc.signalCode !== null)
		return srv.proc.exitCode;
	const done = new Promise((r) => srv.proc.once('exit', (code) => r(code)));
	process.kill(srv.proc.pid, 'SIGTERM');
	const t = setTimeout(() => process.kill(srv.proc.pid, 'SIGKILL'), DEADLINE_MS);
	const code = await done;
	clearTimeout(t);
	return code;
}

/* ---- the browser -------------------------------------------------------- */

export async function launch() {
	return chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		chromiumSandbox: false,
		args: ['--disable-gpu', '--disable-quic', '--no-first-run',
		       '--disable-background-networking', '--disable-component-update',
		       '--disable-sync'],
	});
}

/* Waits until the page's live-reload script holds an open event stream. */
export async function waitLive(page, ms = DEADLINE_MS) {
	await page.waitForFunction(() => window.__cot && window.__cot.status === 'open',
	                           null, { timeout: ms });
}

/* Waits for `selector`'s text to equal `text` (across reloads). */
export async function waitText(page, selector, text, ms = DEADLINE_MS) {
	try {
		await page.waitForFunction(([s, t]) => {
			const e = document.querySelector(s);
			return e !== null && e.textContent === t;
		}, [selector, text], { timeout: ms, polling: 5 });
	} catch (e) {
		const now = await page.evaluate((s) => {
			const e = document.querySelector(s);
			return e ? e.textContent : null;
		}, selector).catch(() => '(page gone)');
		throw new Error(`${selector} is not "${text}" after ${ms} ms (it is ${JSON.stringify(now)})`);
	}
}

/* Resolves once the page's live-reload script has morphed more than `n` times. */
export async function waitMorphs(page, n, ms = DEADLINE_MS) {
	try {
		await page.waitForFunction((k) => window.__cot && window.__cot.morphs > k, n,
		                           { timeout: ms, polling: 5 });
	} catch (e) {
		const st = await page.evaluate(() => window.__cot &&
			{ morphs: window.__cot.morphs, fetches: window.__cot.fetches,
			  ignored: window.__cot.ignored }).catch(() => '(page gone)');
		throw new Error(`no morph after ${ms} ms: ${JSON.stringify(st)}`);
	}
}

/* The page's count of morphs so far. */
export async function morphs(page) {
	return page.evaluate(() => window.__cot.morphs);
}

/* Resolves once the page's script has looked at a save of `file` and let it be. */
export async function waitIgnored(page, file, ms = DEADLINE_MS) {
	try {
		await page.waitForFunction((f) => window.__cot && window.__cot.ignored.includes(f),
		                           file, { timeout: ms, polling: 5 });
	} catch (e) {
		const st = await page.evaluate(() => window.__cot &&
			{ fetches: window.__cot.fetches, ignored: window.__cot.ignored })
			.catch(() => '(page gone)');
		throw new Error(`the save of ${file} was not let be in ${ms} ms: ${JSON.stringify(st)}`);
	}
}

/* Counts the page's live-reload refetches (requests with X-Cot-Live). */
export function countRefetches(page) {
	const seen = { n: 0 };
	page.on('request', (r) => { if (r.headers()['x-cot-live'] === '1') seen.n++; });
	return seen;
}

/* The overlay's text ("" when there is none). */
export async function overlayText(page) {
	return page.evaluate(() => {
		const h = document.getElementById('cot-overlay');
		return h && h.shadowRoot ? h.shadowRoot.textContent : '';
	});
}

export async function waitOverlay(page, needle, ms = DEADLINE_MS) {
	try {
		await page.waitForFunction((n) => {
			const h = document.getElementById('cot-overlay');
			return h && h.shadowRoot && h.shadowRoot.textContent.includes(n);
		}, needle, { timeout: ms });
	} catch (e) {
		const now = await overlayText(page).catch(() => '(page gone)');
		throw new Error(`no overlay with "${needle}" after ${ms} ms (overlay: ${JSON.stringify(now)})`);
	}
}

/* 1-based line of the first line of `text` that contains `needle`. */
export function lineOf(text, needle) {
	return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}
