/*
 * pages.mjs -- the app the morph tests (morph.mjs, fallback.mjs) and the
 * browser benchmark share: handler sources written from parameters, so a
 * test can save a new version of a page in one call.
 *
 *   /page    handlers/page.c: cot_html with a form, <details>, a keyed list,
 *            a list without ids,
 *            an <audio>, an <img>, a part that never changes, a tall block
 *            to scroll, a static script; includes handlers/shared.h
 *   /tpl     handlers/tpl.c: templates/tpl.html inside templates/layout.html
 *   /other   handlers/other.c: a page no test edit concerns
 *   /form    handlers/post.c: a form that POSTs to /submit, which answers
 *            200 with HTML (no redirect): a POST-result page
 */

/* A JS string as a C string literal (ASCII text: JSON's escapes are C's). */
export function cstr(s) {
	return JSON.stringify(s);
}

/* The HTML of /page; `@SUB@` is where shared.h's SUBTITLE goes. */
export function pageHtml(o = {}) {
	const order = o.order || ['a', 'b', 'c'];
	return '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>page</title>' +
		(o.head || '') + '</head><body>\n' +
		`<h1>${o.title || 'First'}</h1>\n` +
		'<p id="sub">@SUB@</p>\n' +
		'<form><input id="name" name="name"> <input id="fresh" value="' +
		(o.fresh || 'v1') + '"> <textarea id="notes"></textarea></form>\n' +
		'<details id="more"><summary>more</summary><p>inside</p></details>\n' +
		'<ul id="list">' + order.map((k) => `<li id="item-${k}">${k}</li>`).join('') + '</ul>\n' +
		'<ol id="rows">' + (o.rows || ['r1', 'r2', 'r3', 'r4']).map((r) => `<li>${r}</li>`)
			.join('\n') + '</ol>\n' +
		'<audio id="tone" src="/static/tone.wav" loop></audio>\n' +
		'<img id="dot" src="/static/dot.svg" alt="dot" width="8" height="8">\n' +
		'<section id="still"><p>This part never changes.</p><p>Nor this.</p></section>\n' +
		'<div id="tall" style="height:4000px">tall</div>\n' +
		(o.body || '') +
		'<script src="/static/used.js"></script>\n' +
		'</body></html>\n';
}

/* handlers/page.c serving pageHtml(o) with status o.status (default 200);
 * o.broken: a compile error on the cot_html line; o.text: text, not HTML. */
export function pageC(o = {}) {
	const [a, b] = pageHtml(o).split('@SUB@');
	const call = o.text ? `cot_text(c, 200, "plain text now\\n")`
		: `cot_html(c, ${o.broken ? 'no_such_status' : o.status || 200}, "%s%s%s", ` +
		  `${cstr(a)}, SUBTITLE, ${cstr(b)})`;
	return `#include <cot.h>
#include "shared.h"

static cot_result
page(cot_ctx *c)
{
	return ${call};
}

COT_ROUTES(
	COT_GET("/page", page),
)
`;
}

export function sharedH(sub) {
	return `#define SUBTITLE ${cstr(sub)}\n`;
}

export const TPL_C = `#include <cot.h>
#include <jansson.h>

static cot_result
tpl(cot_ctx *c)
{
	json_t *d = json_pack("{s:s}", "title", "Tpl");
	cot_result r = cot_render(c, 200, "tpl.html", d);
	json_decref(d);
	return r;
}

COT_ROUTES(
	COT_GET("/tpl", tpl),
)
`;

export function otherC(text) {
	return `#include <cot.h>

static cot_result
other(cot_ctx *c)
{
	return cot_html(c, 200, "<!doctype html><title>other</title><h1>%s</h1>", ${cstr(text)});
}

COT_ROUTES(
	COT_GET("/other", other),
)
`;
}

/* /form posts to /submit; /submit answers with HTML naming `version`. */
export function postC(version) {
	return `#include <cot.h>

static cot_result
form(cot_ctx *c)
{
	const char *token = cot_csrf_token(c); /* unsafe methods need it */
	return cot_html(c, 200, "<!doctype html><title>form</title><form method=\\"post\\" "
		"action=\\"/submit\\"><input type=\\"hidden\\" name=\\"_csrf\\" value=\\"%s\\">"
		"<input name=\\"word\\" id=\\"word\\"><button id=\\"go\\">go</button></form>",
		token ? token : "");
}

static cot_result
submit(cot_ctx *c)
{
	const char *w = cot_form(c, "word");
	return cot_html(c, 200, "<!doctype html><title>posted</title><h1 id=\\"posted\\">%s %s</h1>",
		${cstr(version)}, w ? w : "");
}

COT_ROUTES(
	COT_GET("/form", form),
	COT_POST("/submit", submit),
)
`;
}

/* A short silent 8 kHz WAV, for an <audio> that can play in a test. */
export function wav(seconds = 3, rate = 8000) {
	const n = seconds * rate;
	const b = Buffer.alloc(44 + n, 128);
	b.write('RIFF', 0);
	b.writeUInt32LE(36 + n, 4);
	b.write('WAVEfmt ', 8);
	b.writeUInt32LE(16, 16);
	b.writeUInt16LE(1, 20);     /* PCM */
	b.writeUInt16LE(1, 22);     /* mono */
	b.writeUInt32LE(rate, 24);
	b.writeUInt32LE(rate, 28);  /* bytes per second */
	b.writeUInt16LE(1, 32);     /* block align */
	b.writeUInt16LE(8, 34);     /* bits */
	b.write('data', 36);
	b.writeUInt32LE(n, 40);
	return b;
}

export function dotSvg(color) {
	return `<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">` +
		`<rect width="8" height="8" fill="${color}"/></svg>\n`;
}

/* Every file of the app the tests start from. */
export function appFiles() {
	return {
		'handlers/page.c': pageC(),
		'handlers/shared.h': sharedH('first sub'),
		'handlers/tpl.c': TPL_C,
		'handlers/other.c': otherC('other one'),
		'handlers/post.c': postC('v1'),
		'templates/tpl.html': '<h1 id="tpl">{{title}} one</h1>\n',
		'templates/unused.html': '<p>nobody renders this</p>\n',
		'static/tone.wav': wav(),
		'static/dot.svg': dotSvg('red'),
		'static/used.js': 'window.usedJs = 1;\n',
		'static/unused.js': 'window.unusedJs = 1;\n',
		'static/head.js': 'window.headScript = 2;\n', /* no inline scripts: the CSP */
	};
}
