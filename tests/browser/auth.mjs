/*
 * auth.mjs -- the app of `cotdev new --auth` driven in headless Chromium:
 * sign up, log in, create a note, log out, and a second user (another
 * browser context, so other cookies) who never sees the first one's note;
 * a wrong password is refused, and a form posted from another origin is
 * refused by the CSRF check.
 *
 * Then, on `cotdev run` only, the plain app of `cotdev new` (no --auth):
 * its note forms, which carry {{{csrf_field}}}, still create, edit and
 * delete in a real browser with CSRF checking on.
 *
 * COT_EXPORT=1 runs the same against the binary of `cotdev export` (given
 * the app's .cot-secret with --secret-file) instead of `cotdev run`;
 * COTDEV=build/cotdev-san runs it on the sanitizer build.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as t from './lib.mjs';

const EXPORT = process.env.COT_EXPORT === '1';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cot-browser-auth-'));
const app = path.join(dir, 'app');
execFileSync(t.COTDEV, ['new', '--auth', app], { stdio: 'ignore' });

/* The exported binary, started like cotdev run: resolves on its URL line. */
function startExport() {
	const bin = path.join(app, '.cot-export-bin');
	execFileSync(t.COTDEV, ['export', app, '-o', bin], { stdio: 'ignore' });
	return new Promise((resolve, reject) => {
		const proc = spawn(bin, ['--port', '0', '--quiet', '--db', path.join(app, 'app.db'),
		                         '--secret-file', path.join(app, '.cot-secret')],
		                   { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		const timer = setTimeout(() => {
			proc.kill('SIGKILL');
			reject(new Error(`no URL line from the export within ${t.DEADLINE_MS} ms: ${out}`));
		}, t.DEADLINE_MS);
		proc.stdout.on('data', (c) => {
			out += c;
			const m = out.match(/cot app on (http:\/\/[0-9.]+:(\d+)\/)/);
			if (m) {
				clearTimeout(timer);
				resolve({ proc, url: m[1], port: Number(m[2]), output: () => out });
			}
		});
		proc.stderr.on('data', (c) => { out += c; });
		proc.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`the export exited (${code}): ${out}`));
		});
	});
}

const srv = EXPORT ? await startExport() : await t.startServer(app);
const browser = await t.launch();
const WAIT = { timeout: t.DEADLINE_MS };
const where = EXPORT ? 'export' : 'dev';

async function signUp(page, email, password) {
	await page.goto(srv.url + 'signup');
	await page.fill('#email', email);
	await page.fill('#password', password);
	await Promise.all([page.waitForURL(/\/notes$/, WAIT), page.click('button[type=submit]')]);
}

let noteUrl = '';
try {
	const alice = await (await browser.newContext()).newPage();
	await t.check(`${where}: alice signs up and lands on her notes`, async () => {
		await signUp(alice, 'alice@example.org', 'correct-horse');
		t.expect((await alice.textContent('.nav-user')) === 'alice@example.org',
		         'the nav does not show alice');
	});
	await t.check(`${where}: alice creates a note`, async () => {
		await alice.goto(srv.url + 'notes/new');
		await alice.fill('#title', 'Alice only');
		await alice.fill('#body', 'the secret recipe');
		await Promise.all([alice.waitForURL(/\/notes\/\d+$/, WAIT),
		                   alice.click('form[action="/notes"] button[type=submit]')]);
		noteUrl = alice.url();
		t.expect((await alice.textContent('h1')) === 'Alice only', 'the note page lacks its title');
	});
	await t.check(`${where}: alice logs out; the notes ask for a log-in`, async () => {
		await Promise.all([alice.waitForURL(srv.url, WAIT), alice.click('.nav-logout button')]);
		await alice.goto(srv.url + 'notes');
		t.expect(/\/login$/.test(alice.url()), `went to ${alice.url()}`);
	});
	await t.check(`${where}: a wrong password is refused`, async () => {
		await alice.fill('#email', 'alice@example.org');
		await alice.fill('#password', 'wrong-horse');
		await alice.click('button[type=submit]');
		await alice.waitForSelector('.alert', WAIT);
		t.expect((await alice.textContent('.alert')).includes('do not match'), 'no error shown');
	});
	await t.check(`${where}: alice logs in and sees her note`, async () => {
		await alice.fill('#email', 'alice@example.org');
		await alice.fill('#password', 'correct-horse');
		await Promise.all([alice.waitForURL(/\/notes$/, WAIT), alice.click('button[type=submit]')]);
		t.expect((await alice.textContent('.note-list')).includes('Alice only'), 'note missing');
	});

	const bob = await (await browser.newContext()).newPage();
	await t.check(`${where}: bob signs up and does not see alice's note`, async () => {
		await signUp(bob, 'bob@example.org', 'battery-staple');
		t.expect(!(await bob.content()).includes('Alice only'), "alice's note is listed for bob");
		const r = await bob.goto(noteUrl);
		t.expect(r.status() === 404, `bob got ${r.status()} for ${noteUrl}`);
		t.expect(!(await bob.content()).includes('secret recipe'), 'the body shows');
	});

	await t.check(`${where}: a form posted from another origin is refused (CSRF)`, async () => {
		const evil = await (await browser.newContext()).newPage();
		await evil.setContent(`<form method="post" action="${srv.url}notes">
			<input name="title" value="forged"><button>go</button></form>`);
		const [resp] = await Promise.all([evil.waitForNavigation(WAIT), evil.click('button')]);
		t.expect(resp.status() === 403, `status ${resp.status()}`);
		t.expect((await evil.content()).includes('refused'), 'no explanation on the page');
	});

	if (!EXPORT) {
		const plain = t.makeApp();
		const psrv = await t.startServer(plain);
		try {
			const page = await (await browser.newContext()).newPage();
			await t.check('template app: the new-note form posts with its token', async () => {
				await page.goto(psrv.url + 'notes/new');
				await page.fill('#title', 'plain note');
				await Promise.all([page.waitForURL(/\/notes\/\d+$/, WAIT),
				                   page.click('form[action="/notes"] button[type=submit]')]);
				t.expect((await page.textContent('h1')) === 'plain note', 'no note page');
			});
			await t.check('template app: the edit and delete forms post too', async () => {
				await page.click('details.edit summary');
				await page.fill('#title', 'plain note, edited');
				await Promise.all([page.waitForNavigation(WAIT),
				                   page.click('details.edit button[type=submit]')]);
				t.expect((await page.textContent('h1')) === 'plain note, edited', 'not edited');
				await Promise.all([page.waitForURL(/\/notes$/, WAIT), page.click('button.danger')]);
				t.expect(!(await page.content()).includes('plain note, edited'), 'not deleted');
			});
		} finally {
			const code = await t.stopServer(psrv);
			if (code !== 0)
				t.notOk('template app: server exits cleanly', `exit code ${code}`);
			fs.rmSync(path.dirname(plain), { recursive: true, force: true });
		}
	}
} finally {
	await browser.close();
	const code = await t.stopServer(srv);
	if (code !== 0)
		t.notOk(`${where}: server exits cleanly`, `exit code ${code}: ${srv.output().slice(-400)}`);
	fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(t.exitCode());
