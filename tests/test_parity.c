/*
 * test_parity.c -- the exported binary answers exactly as `cotdev run` does.
 *
 * usage: test_parity COTDEV
 *
 * One app (the scaffold plus handlers/00_mw.c and handlers/parity.c below,
 * which reach for most of cot.h) is served at the same time by `cotdev run`
 * (libtcc) and by the binary `cotdev export` builds from it (gcc -O2). Every
 * request is sent to both and the two answers are compared: status, body
 * and every response header in the order sent (Date aside; X-Request-Id and
 * Content-Length as below). One line per request:
 *
 *     ok GET /p/query?a=1: same status, body, headers
 *
 * and on a mismatch both answers follow as "#" lines.
 *
 * What differs by design, and how it is compared instead:
 *   - X-Request-Id: fresh per request. Each body is compared with its own
 *     id replaced by "{request-id}"; a valid id the client sends must come
 *     back from both, an invalid one from neither.
 *   - the live-reload script the dev server puts into HTML pages is removed
 *     from the dev body (and its length from the dev Content-Length).
 *   - error answers: in development they may carry the trace of where the
 *     error was decided (error_dev_mode; error.c), the export's clients get
 *     the production form. For a status >= 400 the bodies must be equal, or
 *     the export's must be exactly the dev body without its trace (text:
 *     the trace lines; problem+json: "trace"; HTML: the <pre class=
 *     "cot-trace"> block, or the app's templates/errors/STATUS.html page,
 *     which development leaves out to show the trace). A crash or a stuck
 *     handler gives the production client no detail either. For HEAD, the
 *     Content-Lengths must differ exactly as the GET bodies do.
 *   - static files: Cache-Control is "no-cache" in development and a year
 *     in the export (static.c); the ETag names size, mtime and inode, and
 *     the export serves an extracted copy (another inode), so only the size
 *     part must agree, and each server's own ETag must give a 304.
 *   - a symlink leaving static/ is a 404 on both; development's says
 *     "symlink leaves static/", the export, which did not embed it, "no
 *     such file".
 *   - /_cot/ belongs to the dev server (live reload, the dev console); the
 *     export 404s it. The console's additions to dev's error answers (the
 *     routes and nearest matches of a 404, the link from an HTML error page
 *     to the request inspector) are taken out of the dev body.
 *
 * The servers share the app directory and so app.db: every write below is
 * idempotent (INSERT OR REPLACE of fixed rows) or fails, so both servers
 * see the same rows. Both run with --timeout 1000, --max-body 64K and --cors
 * (every answer then carries the CORS headers, compared like the rest), and
 * from the app directory, so relative cot_file paths name the same files.
 * Last, with the servers stopped: what `cotdev run` refuses to load (SQL
 * that does not prepare) `cotdev export` refuses to build, at the same line.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "t.h"

/* ==== the app ========================================================== */

static const char mw_src[] = "#include <cot.h>\n"
                             "#include <string.h>\n"
                             "\n"
                             "static cot_result\n"
                             "mw_before(cot_ctx *c)\n"
                             "{\n"
                             "\tcot_set_header(c, \"X-Mw-Before\", cot_method(c));\n"
                             "\tif (strcmp(cot_path(c), \"/p/mw/blocked\") == 0)\n"
                             "\t\treturn cot_fail(c, 403, \"blocked by the before hook\");\n"
                             "\tif (strcmp(cot_path(c), \"/p/mw/short\") == 0)\n"
                             "\t\treturn cot_text(c, 200, \"answered by the before hook\\n\");\n"
                             "\treturn cot_next(c);\n"
                             "}\n"
                             "\n"
                             "static cot_result\n"
                             "mw_after(cot_ctx *c)\n"
                             "{\n"
                             "\tcot_set_header(c, \"X-Mw-After\", cot_sprintf(c, \"%s %s\", "
                             "cot_method(c), cot_path(c)));\n"
                             "\treturn cot_next(c);\n"
                             "}\n"
                             "\n"
                             "COT_MIDDLEWARE(mw_before, mw_after)\n";

static const char parity_src[] =
        "#include <cot.h>\n"
        "#include <jansson.h>\n"
        "#include <string.h>\n"
        "\n"
        "static volatile unsigned long spin;\n"
        "\n"
        "static const char *\n"
        "or_null(const char *s)\n"
        "{\n"
        "\treturn s != NULL ? s : \"(null)\";\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "params(cot_ctx *c)\n"
        "{\n"
        "\tlong long id = cot_param_int(c, \"id\");\n"
        "\treturn cot_text(c, 200, \"id=%lld name=[%s] path=[%s] method=%s\\n\", id,\n"
        "\t                cot_param(c, \"name\"), cot_path(c), cot_method(c));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "query(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"a=[%s] b=[%s] empty=[%s] missing=[%s] u=[%s]\\n\",\n"
        "\t                or_null(cot_query(c, \"a\")), or_null(cot_query(c, \"b\")),\n"
        "\t                or_null(cot_query(c, \"empty\")), or_null(cot_query(c, \"missing\")),\n"
        "\t                or_null(cot_query(c, \"u\")));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "headers(cot_ctx *c)\n"
        "{\n"
        "\tcot_set_header(c, \"X-Parity\", \"custom value\");\n"
        "\tcot_set_header(c, \"Cache-Control\", \"private, max-age=60\");\n"
        "\treturn cot_text(c, 200, \"x-thing=[%s] X-THING=[%s] missing=[%s] id=[%s]\\n\",\n"
        "\t                or_null(cot_header(c, \"x-thing\")), or_null(cot_header(c, "
        "\"X-THING\")),\n"
        "\t                or_null(cot_header(c, \"X-Missing\")), cot_request_id(c));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "cookies(cot_ctx *c)\n"
        "{\n"
        "\tcot_cookie_opts strict = { .path = \"/p\", .max_age = 3600, .http_only = 1,\n"
        "\t                           .same_site = COT_SAMESITE_STRICT };\n"
        "\tcot_cookie_opts gone = { .max_age = -1 };\n"
        "\tcot_cookie_opts cross = { .domain = \"example.test\", .secure = 1,\n"
        "\t                          .same_site = COT_SAMESITE_NONE };\n"
        "\tcot_set_cookie(c, \"session\", \"abc123\", &strict);\n"
        "\tcot_set_cookie(c, \"plain\", \"v\", NULL);\n"
        "\tcot_set_cookie(c, \"old\", \"\", &gone);\n"
        "\tcot_set_cookie(c, \"cross\", \"x\", &cross);\n"
        "\treturn cot_text(c, 200, \"a=[%s] b=[%s] quoted=[%s] missing=[%s]\\n\",\n"
        "\t                or_null(cot_cookie(c, \"a\")), or_null(cot_cookie(c, \"b\")),\n"
        "\t                or_null(cot_cookie(c, \"quoted\")), or_null(cot_cookie(c, "
        "\"missing\")));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "cookie_bad(cot_ctx *c)\n"
        "{\n"
        "\tcot_set_cookie(c, \"bad name\", \"v\", NULL);\n"
        "\treturn cot_text(c, 200, \"the handler went on\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "form(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"title=[%s] body=[%s] missing=[%s] error=[%s]\\n\",\n"
        "\t                or_null(cot_form(c, \"title\")), or_null(cot_form(c, \"body\")),\n"
        "\t                or_null(cot_form(c, \"missing\")), or_null(cot_form_error(c)));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "upload(cot_ctx *c)\n"
        "{\n"
        "\tconst cot_upload *f = cot_form_file(c, \"file\");\n"
        "\tunsigned long h = 5381;\n"
        "\tfor (size_t i = 0; f != NULL && i < f->len; i++)\n"
        "\t\th = h * 33 + (unsigned char)f->data[i];\n"
        "\treturn cot_text(c, 200, \"note=[%s] file=%s name=[%s] filename=[%s] type=[%s] \"\n"
        "\t                \"len=%zu hash=%lx none=%s\\n\", or_null(cot_form(c, \"note\")),\n"
        "\t                f ? \"yes\" : \"no\", f ? f->name : \"\", f ? f->filename : \"\",\n"
        "\t                f ? f->content_type : \"\", f ? f->len : 0, h,\n"
        "\t                cot_form_file(c, \"none\") ? \"yes\" : \"no\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "json_echo(cot_ctx *c)\n"
        "{\n"
        "\tjson_t *in = cot_body_json(c);\n"
        "\tif (in == NULL)\n"
        "\t\treturn cot_text(c, 200, \"no JSON\\n\");\n"
        "\tjson_t *out = json_pack(\"{s:O, s:s, s:i}\", \"got\", in, \"type\",\n"
        "\t                        json_is_object(in) ? \"object\" : \"other\", \"size\",\n"
        "\t                        (int)json_object_size(in));\n"
        "\treturn cot_json_value(c, 201, out);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "json_out(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_json(c, 200, \"{s:s, s:i, s:I, s:f, s:b, s:n, s:[i, i, s], s:{s:s}}\",\n"
        "\t                \"text\", \"caf\\xc3\\xa9 \\\"quoted\\\" <tag> \\\\ /\", \"int\", 42, "
        "\"big\",\n"
        "\t                (json_int_t)9007199254740993LL, \"real\", 3.25, \"yes\", 1, "
        "\"nothing\",\n"
        "\t                \"list\", 1, 2, \"three\", \"obj\", \"k\", \"v\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "json_bad(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_json(c, 200, \"{s:s\", \"unterminated\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "item_put(cot_ctx *c)\n"
        "{\n"
        "\tjson_t *in = cot_body_json(c);\n"
        "\tif (in == NULL)\n"
        "\t\treturn cot_text(c, 200, \"no JSON\\n\");\n"
        "\tjson_t *name = json_object_get(in, \"name\"), *note = json_object_get(in, \"note\");\n"
        "\tcot_db_exec(c, \"INSERT INTO items (id, name, price, note) VALUES (?, ?, ?, ?) \"\n"
        "\t            \"ON CONFLICT (id) DO UPDATE SET name = excluded.name, \"\n"
        "\t            \"price = excluded.price, note = excluded.note\",\n"
        "\t            (long long)json_integer_value(json_object_get(in, \"id\")),\n"
        "\t            json_is_string(name) ? json_string_value(name) : (const char *)0,\n"
        "\t            json_number_value(json_object_get(in, \"price\")),\n"
        "\t            json_is_string(note) ? json_string_value(note) : (const char *)0);\n"
        "\tif (cot_db_failed(c))\n"
        "\t\treturn cot_text(c, 200, \"not reached: a failed statement answers\\n\");\n"
        "\treturn cot_db_json_row(c, 200, cot_db_one(c, \"SELECT id, name, price, note FROM items "
        "\"\n"
        "\t                       \"WHERE id = ?\", (long "
        "long)json_integer_value(json_object_get(in, \"id\"))));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "item_insert(cot_ctx *c)\n"
        "{\n"
        "\tcot_db_exec(c, \"INSERT INTO items (id, name) VALUES (?, ?)\", cot_param_int(c, "
        "\"id\"),\n"
        "\t            cot_query(c, \"name\"));\n"
        "\treturn cot_text(c, 201, \"inserted\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "items_json(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_db_json_rows(c, 200, cot_db_all(c, \"SELECT id, name, price, note FROM items "
        "\"\n"
        "\t                                           \"ORDER BY id\"));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "items_page(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_render(c, 200, \"items.html\", cot_db_all(c, \"SELECT id, name, price, note "
        "\"\n"
        "\t                                                   \"FROM items ORDER BY id\"));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "item_page(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, \"SELECT id, name, price, note FROM items WHERE id = ?\",\n"
        "\t                        cot_param_int(c, \"id\"));\n"
        "\tif (r == NULL)\n"
        "\t\treturn cot_fail(c, 404, \"no item %s\", cot_param(c, \"id\"));\n"
        "\treturn cot_render(c, 200, \"item.html\", r);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "items_sum(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, \"SELECT count(*) AS n, coalesce(sum(price), 0.0) AS total, "
        "\"\n"
        "\t                        \"max(name) AS last FROM items\");\n"
        "\treturn cot_text(c, 200, \"n=%lld total=%.2f last=[%s] json=%s\\n\", cot_row_int(r, "
        "\"n\"),\n"
        "\t                cot_row_double(r, \"total\"), cot_row_text(r, \"last\"), "
        "cot_row_json(r));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "transaction(cot_ctx *c)\n"
        "{\n"
        "\tcot_db_begin(c);\n"
        "\tcot_db_exec(c, \"INSERT INTO items (id, name, price) VALUES (?, ?, ?) \"\n"
        "\t            \"ON CONFLICT (id) DO UPDATE SET name = excluded.name, price = "
        "excluded.price\",\n"
        "\t            100, \"rolled back\", 9.5);\n"
        "\tlong long changes = cot_db_changes(c), id = cot_db_last_id(c);\n"
        "\tcot_row *inside = cot_db_one(c, \"SELECT count(*) AS n FROM items\");\n"
        "\tlong long n_inside = cot_row_int(inside, \"n\");\n"
        "\tcot_db_rollback(c);\n"
        "\tcot_row *after = cot_db_one(c, \"SELECT count(*) AS n FROM items\");\n"
        "\treturn cot_text(c, 200, \"changes=%lld id=%lld inside=%lld after=%lld\\n\", changes, "
        "id,\n"
        "\t                n_inside, cot_row_int(after, \"n\"));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "blob(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, \"SELECT ? AS b, ? AS t, ? AS n, ? AS d, length(?) AS "
        "len\",\n"
        "\t                        cot_blob(\"\\0\\1\\2\\377\", 4), \"text\", cot_null(), 0.1,\n"
        "\t                        cot_blob(\"abc\", 3));\n"
        "\tsize_t n = 0;\n"
        "\tconst unsigned char *b = cot_row_blob(r, \"b\", &n);\n"
        "\treturn cot_text(c, 200, \"json=%s n=%zu last=%u null=%d double=%.17g\\n\", "
        "cot_row_json(r),\n"
        "\t                n, n ? b[n - 1] : 0u, cot_row_is_null(r, \"n\"), cot_row_double(r, "
        "\"d\"));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "render_sub(cot_ctx *c)\n"
        "{\n"
        "\tjson_t *data = json_pack(\"{s:s, s:{s:i}}\", \"title\", \"Sub\", \"nested\", \"n\", "
        "7);\n"
        "\tcot_result r = cot_render(c, 201, \"sub/page.html\", data);\n"
        "\tjson_decref(data);\n"
        "\treturn r;\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "row_bad_column(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, \"SELECT 1 AS one\");\n"
        "\treturn cot_text(c, 200, \"%lld\\n\", cot_row_int(r, \"two\"));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "render_json(cot_ctx *c)\n"
        "{\n"
        "\tjson_t *data = json_pack(\"{s:s, s:s, s:[s, s]}\", \"name\", or_null(cot_query(c, "
        "\"name\")),\n"
        "\t                         \"raw\", \"<em>raw</em>\", \"list\", \"one\", \"two\");\n"
        "\tcot_result r = cot_render(c, 200, \"escape.html\", data);\n"
        "\tjson_decref(data);\n"
        "\treturn r;\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "render_missing(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_render(c, 200, \"nope.html\", (json_t *)0);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "redirect(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_redirect(c, 302, \"/p/params/1/x?y=2\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "redirect_odd(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_redirect(c, 200, \"https://example.test/elsewhere\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "fail(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_fail(c, (int)cot_param_int(c, \"status\"),\n"
        "\t                \"failing with %s on <purpose> & \\\"quotes\\\"\", cot_param(c, "
        "\"status\"));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "fail_plain(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_fail(c, 404, \"no widget here\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "fields(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_fail_fields(c, \"name\", \"is required\", \"price\", \"must be a number\", "
        "NULL);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "noresp(cot_ctx *c)\n"
        "{\n"
        "\t(void)c;\n"
        "\tcot_result r = { 200 };\n"
        "\treturn r;\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "crash(cot_ctx *c)\n"
        "{\n"
        "\tvolatile int *p = (volatile int *)0;\n"
        "\t*p = 1;\n"
        "\treturn cot_text(c, 200, \"unreachable\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "stuck(cot_ctx *c)\n"
        "{\n"
        "\tfor (;;)\n"
        "\t\tspin++;\n"
        "\treturn cot_text(c, 200, \"unreachable\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "file(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_file(c, 200, cot_sprintf(c, \"data/%s\", cot_param(c, \"name\")), NULL);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "file_typed(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_file(c, 202, \"data/hello.txt\", \"application/x-parity\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "file_static(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_file(c, 200, \"static/app.css\", NULL);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "file_static_named(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_file(c, 200, cot_sprintf(c, \"static/%s\", cot_param(c, \"name\")), NULL);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "send_bytes(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_send(c, 200, \"application/octet-stream\", \"\\0\\1\\2abc\\377\\r\\n\", 9);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "html(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_html(c, 200, \"<!doctype html>\\n<html><head><title>p</title></head>\"\n"
        "\t                \"<body><p>hi %s</p></body></html>\\n\", or_null(cot_query(c, "
        "\"who\")));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "html_fragment(cot_ctx *c)\n"
        "{\n"
        "\tcot_set_header(c, \"X-Frame-Options\", \"DENY\");\n"
        "\treturn cot_html(c, 200, \"<p>a fragment, no body tag</p>\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "numbers(cot_ctx *c)\n"
        "{\n"
        "\tdouble x = 0;\n"
        "\tfor (int i = 0; i < 10; i++)\n"
        "\t\tx += 0.1;\n"
        "\treturn cot_text(c, 200, \"%.3f %g %e %.17g %lld %zu %5.1f|%-6s|%x %c\\n\", 3.14159, "
        "1e-7,\n"
        "\t                12345.678, x, -9007199254740993LL, (size_t)123456789, 2.25, \"ab\",\n"
        "\t                255u, 'z');\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "big(cot_ctx *c)\n"
        "{\n"
        "\tsize_t n = 300000;\n"
        "\tchar *s = cot_alloc(c, n + 1);\n"
        "\tfor (size_t i = 0; i < n; i++)\n"
        "\t\ts[i] = (char)('a' + i % 26);\n"
        "\treturn cot_text(c, 200, \"%s\\n\", s);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "thing(cot_ctx *c)\n"
        "{\n"
        "\tsize_t n = 0;\n"
        "\tconst char *b = cot_body(c, &n);\n"
        "\treturn cot_text(c, 200, \"%s %s: %zu bytes [%s]\\n\", cot_method(c), cot_path(c), n, "
        "b);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "echo(cot_ctx *c)\n"
        "{\n"
        "\tsize_t n = 0;\n"
        "\tcot_body(c, &n);\n"
        "\treturn cot_text(c, 200, \"%zu bytes\\n\", n);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "mw_target(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"the handler ran\\n\");\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/p/params/:id/:name\", params),\n"
        "\tCOT_GET(\"/p/query\", query),\n"
        "\tCOT_GET(\"/p/headers\", headers),\n"
        "\tCOT_GET(\"/p/cookies\", cookies),\n"
        "\tCOT_GET(\"/p/cookie-bad\", cookie_bad),\n"
        "\tCOT_POST(\"/p/form\", form),\n"
        "\tCOT_POST(\"/p/upload\", upload),\n"
        "\tCOT_POST(\"/p/json\", json_echo),\n"
        "\tCOT_GET(\"/p/json-out\", json_out),\n"
        "\tCOT_GET(\"/p/json-bad\", json_bad),\n"
        "\tCOT_POST(\"/p/items\", item_put),\n"
        "\tCOT_POST(\"/p/items/:id/insert\", item_insert),\n"
        "\tCOT_GET(\"/p/items\", items_json),\n"
        "\tCOT_GET(\"/p/items-page\", items_page),\n"
        "\tCOT_GET(\"/p/items/:id\", item_page),\n"
        "\tCOT_GET(\"/p/items-sum\", items_sum),\n"
        "\tCOT_GET(\"/p/row-bad-column\", row_bad_column),\n"
        "\tCOT_GET(\"/p/tx\", transaction),\n"
        "\tCOT_GET(\"/p/blob\", blob),\n"
        "\tCOT_GET(\"/p/render-sub\", render_sub),\n"
        "\tCOT_GET(\"/p/render\", render_json),\n"
        "\tCOT_GET(\"/p/render-missing\", render_missing),\n"
        "\tCOT_GET(\"/p/redirect\", redirect),\n"
        "\tCOT_GET(\"/p/redirect-odd\", redirect_odd),\n"
        "\tCOT_GET(\"/p/fail/:status\", fail),\n"
        "\tCOT_GET(\"/p/fail-plain\", fail_plain),\n"
        "\tCOT_GET(\"/p/fields\", fields),\n"
        "\tCOT_GET(\"/p/noresp\", noresp),\n"
        "\tCOT_GET(\"/p/crash\", crash),\n"
        "\tCOT_GET(\"/p/stuck\", stuck),\n"
        "\tCOT_GET(\"/p/file/:name\", file),\n"
        "\tCOT_GET(\"/p/file-typed\", file_typed),\n"
        "\tCOT_GET(\"/p/file-static\", file_static),\n"
        "\tCOT_GET(\"/p/file-static/:name\", file_static_named),\n"
        "\tCOT_GET(\"/p/send\", send_bytes),\n"
        "\tCOT_GET(\"/p/html\", html),\n"
        "\tCOT_GET(\"/p/html-fragment\", html_fragment),\n"
        "\tCOT_GET(\"/p/numbers\", numbers),\n"
        "\tCOT_GET(\"/p/big\", big),\n"
        "\tCOT_PUT(\"/p/thing\", thing),\n"
        "\tCOT_PATCH(\"/p/thing\", thing),\n"
        "\tCOT_DELETE(\"/p/thing\", thing),\n"
        "\tCOT_POST(\"/p/echo\", echo),\n"
        "\tCOT_GET(\"/p/mw/blocked\", mw_target),\n"
        "\tCOT_GET(\"/p/mw/short\", mw_target),\n"
        ")\n";

static const char items_tpl[] = "<h1>{{count}} items</h1>\n"
                                "<ul>\n"
                                "{{#rows}}<li id=\"item-{{id}}\">{{name}} costs {{price}}{{#note}} "
                                "({{note}}){{/note}}</li>\n"
                                "{{/rows}}</ul>\n";

static const char item_tpl[] =
        "<article><h1>{{name}}</h1><p class=\"note\">{{note}}</p><p>{{price}}</p></article>\n";

static const char escape_tpl[] =
        "<p>{{name}}</p><p>{{{raw}}}</p><ul>{{#list}}<li>{{.}}</li>{{/list}}</ul>\n"
        "{{> part.html}}\n";

static const char part_tpl[] =
        "<footer>a partial for {{name}}{{^missing}}, nothing missing{{/missing}}</footer>\n";

static const char sub_tpl[] =
        "<h1>{{title}}</h1><p>{{nested.n}} {{#nested}}n={{n}}{{/nested}}</p>\n";

static const char page_403[] = "<section class=\"forbidden-page\"><h1>{{status}} "
                               "{{title}}</h1><p>{{detail}}</p><p>{{request_id}}</p></section>\n";

static const char schema_items[] = "\n"
                                   "CREATE TABLE items (\n"
                                   "  id INTEGER PRIMARY KEY,\n"
                                   "  name TEXT NOT NULL UNIQUE,\n"
                                   "  price REAL NOT NULL DEFAULT 0,\n"
                                   "  note TEXT\n"
                                   ");\n";

static const char *const BROWSER = "Accept: text/html,application/xhtml+xml,"
                                   "application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

static char app[4096];
static h_server dev_srv, exp_srv;
static h_client *dev_k, *exp_k;

/* ==== one answer, normalized =========================================== */

enum {
	P_SAME,         /* equal, or (status >= 400) the export's is dev's without the trace */
	P_CRASH,        /* ... and the production client gets no detail either */
	P_NOT_EMBEDDED, /* a static/ symlink that leaves static/: dev's 404 says so,
	                   the export, which did not embed it, has "no such file" */
};

#define LEAVES  "symlink leaves static/"
#define NO_SUCH "no such file"

typedef struct side {
	const char *name; /* "dev", "export" */
	h_resp r;
	char *id;   /* X-Request-Id answered (malloc'd), or NULL */
	char *type; /* Content-Type, or NULL */
	char *body; /* the body, request id and live-reload script taken out */
	size_t len;
	long cl;         /* Content-Length, -1 if none */
	size_t stripped; /* bytes the raw body has beyond the compared one (dev:
	                    live-reload script, a 404 reason read differently) */
	char *hdrs;      /* canonical header lines (see canon_headers) */
} side;

#define LR_TAG      "<script src=\"/_cot/live.js\""
#define ID_MARK     "{request-id}"
#define CSRF_PREFIX "name=\"_csrf\" value=\""
#define CSRF_MARK   "{csrf-token-of-the-session-43-characters--}" /* same length */

/* Start of the last header block (after a 100 Continue, the final one). */
static const char *
last_block(const char *h)
{
	const char *at = h, *p = h;
	while (p != NULL && (p = strstr(p, "\nHTTP/")) != NULL)
		at = ++p;
	return at;
}

/* Value of header `name` in the final block (malloc'd), NULL if absent. */
static char *
header_of(const h_resp *r, const char *name)
{
	h_resp last = *r;
	last.headers = (char *)last_block(r->headers ? r->headers : "");
	return h_resp_header(&last, name);
}

/* s with every `from` replaced by `to`; *len in and out. */
static char *
replace_all(const char *s, size_t *len, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = *len, cap = n + 1, o = 0;
	char *out = malloc(cap);
	for (size_t i = 0; i < n;) {
		if (fl > 0 && i + fl <= n && memcmp(s + i, from, fl) == 0) {
			if (o + tl + (n - i) + 1 > cap)
				out = realloc(out, cap = o + tl + (n - i) + 1);
			memcpy(out + o, to, tl);
			o += tl;
			i += fl;
		} else {
			if (o + 2 > cap)
				out = realloc(out, cap *= 2);
			out[o++] = s[i++];
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}

static bool
is_static(const char *path)
{
	return strncmp(path, "/static/", 8) == 0;
}

/*
 * The header lines compared, "name: value\n" in the order sent, names in
 * lower case. Left out: Date, X-Request-Id and Content-Length (compared on
 * their own). For /static/: the ETag keeps its size part only, and a
 * Cache-Control that is what static.c sends on this side is named by its
 * design instead of its value, so any other value still shows.
 */
static char *
canon_headers(const side *s, const char *path, bool dev)
{
	size_t cap = 1024, n = 0;
	char *out = malloc(cap);
	out[0] = '\0';
	const char *p = last_block(s->r.headers ? s->r.headers : "");
	p = strchr(p, '\n'); /* past the status line */
	while (p != NULL && *++p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == ' '))
			len--;
		const char *colon = memchr(p, ':', len);
		if (len == 0 || colon == NULL) {
			p = eol;
			continue;
		}
		char name[128], value[1024];
		snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		snprintf(value, sizeof(value), "%.*s", (int)(p + len - v), v);
		for (char *c = name; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		p = eol;
		if (!strcmp(name, "date") || !strcmp(name, "x-request-id") ||
		    !strcmp(name, "content-length"))
			continue;
		/* Whether an answer could be gzipped follows its body, which differs by
		 * design on error pages (dev shows the trace); and the export serves
		 * static text from .gz siblings it made at start, dev reads files as
		 * they are. test_compress checks Vary on each server. */
		if (!strcmp(name, "vary") && !strcmp(value, "Accept-Encoding") &&
		    (is_static(path) || s->r.status >= 400))
			continue;
		if (is_static(path) && !strcmp(name, "etag")) {
			char *dash = strchr(value, '-');
			if (value[0] == '"' && dash != NULL && strchr(dash + 1, '-') != NULL)
				strcpy(dash, "-(mtime-inode)\"");
		}
		/* a session cookie is random per answer (runtime/session.c) */
		if (!strcmp(name, "set-cookie") && !strncmp(value, "cot_session=", 12) &&
		    value[12] != ';')
			snprintf(value, sizeof(value), "cot_session={session}%s",
			         strchr(value, ';') ? strchr(value, ';') : "");
		if (is_static(path) && !strcmp(name, "cache-control") &&
		    !strcmp(value, dev ? "no-cache" : "public, max-age=31536000"))
			snprintf(value, sizeof(value),
			         "(no-cache in development, a year in the export)");
		size_t need = strlen(name) + strlen(value) + 4;
		if (n + need + 1 > cap)
			out = realloc(out, cap = (n + need) * 2);
		n += (size_t)sprintf(out + n, "%s: %s\n", name, value);
	}
	return out;
}

/* Removes the span [from ... to] from s's body; counts the raw bytes. */
static bool
strip_span(side *s, const char *from, const char *to)
{
	const char *a = strstr(s->body, from), *b = a ? strstr(a, to) : NULL;
	if (b == NULL)
		return false;
	b += strlen(to);
	size_t n = (size_t)(b - a), ids = 0;
	for (const char *m = a; (m = strstr(m, ID_MARK)) != NULL && m < b; m += strlen(ID_MARK))
		ids++;
	s->stripped += n + ids * (strlen(s->id ? s->id : "") - strlen(ID_MARK));
	memmove((char *)a, b, strlen(b) + 1);
	s->len -= n;
	return true;
}

/*
 * What the dev console adds to dev's answers (devserver/console*.c), by
 * design: the routes and "did you mean" on a 404 for a path no route
 * matches (HTML section, problem+json "suggestions", text lines), and on an
 * HTML error page the link to the request's inspector entry.
 */
static void
strip_console(side *s)
{
	const char *type = s->type ? s->type : "";
	if (strncmp(type, "text/html", 9) == 0) {
		strip_span(s, "<section id=\"cot-routes\"", "</section>\n");
		strip_span(s, "<p class=\"cot-request\"", "</p>\n");
	} else if (strncmp(type, "application/problem+json", 24) == 0) {
		json_t *j = json_loadb(s->body, s->len, 0, NULL);
		char *again = NULL;
		if (json_object_del(j, "suggestions") == 0 &&
		    (again = json_dumps(j, JSON_INDENT(2))) != NULL) {
			s->stripped += s->len - strlen(again);
			s->len = strlen(again);
			free(s->body);
			s->body = again;
		}
		json_decref(j);
	} else if (strncmp(type, "text/plain", 10) == 0) {
		while (strip_span(s, "did you mean: ", "\n"))
			;
	}
}

/* Fills the normalized fields of s from its answer. */
static void
normalize(side *s, const char *path, bool dev)
{
	s->id = header_of(&s->r, "X-Request-Id");
	s->type = header_of(&s->r, "Content-Type");
	char *cl = header_of(&s->r, "Content-Length");
	s->cl = cl ? atol(cl) : -1;
	free(cl);
	size_t len = s->r.body_len;
	s->body = replace_all(s->r.body ? s->r.body : "", &len,
	                      s->id && *s->id ? s->id : "\001none", ID_MARK);
	s->len = len;
	/* a form's CSRF token is its session's, random per answer (csrf.c) */
	const char *tok = strstr(s->body, CSRF_PREFIX);
	if (tok != NULL && strlen(tok) >= strlen(CSRF_PREFIX) + 43) {
		char token[44];
		snprintf(token, sizeof(token), "%s", tok + strlen(CSRF_PREFIX));
		char *b = replace_all(s->body, &s->len, token, CSRF_MARK);
		free(s->body);
		s->body = b;
	}
	/* dev's live-reload script tag, whatever it carries (the request id,
	 * and for the morph the method, status and files of the page) */
	if (dev && s->type && strncmp(s->type, "text/html", 9) == 0)
		strip_span(s, LR_TAG, "</script>");
	if (dev)
		strip_console(s);
	s->hdrs = canon_headers(s, path, dev);
}

static void
side_free(side *s)
{
	h_resp_free(&s->r);
	free(s->id);
	free(s->type);
	free(s->body);
	free(s->hdrs);
}

/* ==== printing both answers ============================================ */

static void
dump_text(const char *prefix, const char *s, size_t n, size_t max)
{
	printf("#   %s", prefix);
	size_t i;
	for (i = 0; i < n && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\n')
			printf("\n#   %s", prefix);
		else if (ch == '\r' && prefix[0] == '\0')
			continue; /* header lines end in CRLF */
		else if (ch == '\r')
			printf("\\r");
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	if (i < n)
		printf("... (%zu more bytes)", n - i);
	putchar('\n');
}

static void
dump(const side *s)
{
	printf("# %s answered %ld%s%s\n", s->name, s->r.status, s->r.err[0] ? ": " : "", s->r.err);
	const char *h = last_block(s->r.headers ? s->r.headers : "");
	size_t hl = strlen(h);
	while (hl > 0 && (h[hl - 1] == '\n' || h[hl - 1] == '\r'))
		hl--;
	dump_text("", h, hl, 4000);
	dump_text("| ", s->r.body ? s->r.body : "", s->r.body_len, 1500);
}

/* ==== production form of an error body ================================= */

/* `s` with the first [from, to) span removed (to included); NULL if absent. */
static char *
cut_span(const char *s, const char *from, const char *to)
{
	const char *a = strstr(s, from), *b = a ? strstr(a, to) : NULL;
	if (b == NULL)
		return NULL;
	b += strlen(to);
	size_t n = strlen(s) - (size_t)(b - a);
	char *out = malloc(n + 1);
	memcpy(out, s, (size_t)(a - s));
	strcpy(out + (a - s), b);
	return out;
}

/* First line of APP/templates/errors/STATUS.html (malloc'd) or NULL. */
static char *
app_error_page_marker(long status)
{
	char path[4300], line[512];
	h_path(path, sizeof(path), "%s/templates/errors/%ld.html", app, status);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *got = fgets(line, sizeof(line), f);
	fclose(f);
	if (got == NULL)
		return NULL;
	line[strcspn(line, "\n")] = '\0';
	/* the tag that opens the page: "<section class=\"error-page\">" */
	char *gt = strchr(line, '>');
	if (gt != NULL)
		gt[1] = '\0';
	return strdup(line);
}

/*
 * Whether the export's error body is the production form of dev's: equal
 * once dev's trace (and, for a crash, its detail) is taken out. `how`
 * receives what was taken out.
 */
static bool
production_form(const side *d, const side *e, int mode, long status, char *how, size_t hn)
{
	const char *type = d->type ? d->type : "";
	if (strncmp(type, "text/plain", 10) == 0) {
		size_t l1 = strcspn(d->body, "\n");
		if (mode == P_CRASH) {
			const char *colon = memchr(d->body, ':', l1);
			l1 = colon ? (size_t)(colon - d->body) : l1;
		}
		char *want = malloc(l1 + 64);
		snprintf(want, l1 + 64, "%.*s\nrequest " ID_MARK "\n", (int)l1, d->body);
		bool ok = strcmp(want, e->body) == 0;
		free(want);
		snprintf(how, hn, "export body is dev's without the trace lines%s",
		         mode == P_CRASH ? " and the crash detail" : "");
		return ok;
	}
	if (strncmp(type, "application/problem+json", 24) == 0) {
		json_error_t err;
		json_t *dj = json_loads(d->body, 0, &err), *ej = json_loads(e->body, 0, &err);
		json_object_del(dj, "trace");
		if (mode == P_CRASH)
			json_object_del(dj, "detail");
		bool ok = dj && ej && json_equal(dj, ej);
		json_decref(dj);
		json_decref(ej);
		snprintf(how, hn, "export body is dev's without \"trace\"%s",
		         mode == P_CRASH ? " and \"detail\"" : "");
		return ok;
	}
	if (strncmp(type, "text/html", 9) != 0)
		return false;
	char *cut = cut_span(d->body, "<pre class=\"cot-trace\">", "</pre>\n");
	if (cut == NULL)
		return false;
	if (mode == P_CRASH) { /* error.c: the page's detail paragraph is empty */
		char *p = strstr(cut, "</h1>\n<p>"), *q = p ? strstr(p + 9, "</p>\n") : NULL;
		if (q != NULL)
			memmove(p + 9, q, strlen(q) + 1);
	}
	bool ok = strcmp(cut, e->body) == 0;
	free(cut);
	snprintf(how, hn, "export body is dev's without the trace block");
	if (ok)
		return true;
	/* development shows the built-in page to show the trace; production
	 * renders the app's page for the status, with the same detail */
	char *marker = app_error_page_marker(status);
	if (marker == NULL)
		return false;
	const char *dp = strstr(d->body, "</h1>\n<p>");
	const char *dq = dp ? strstr(dp + 9, "</p>\n") : NULL;
	char detail[1024] = "";
	if (dq != NULL && mode != P_CRASH)
		snprintf(detail, sizeof(detail), "%.*s", (int)(dq - dp - 9), dp + 9);
	ok = strstr(e->body, marker) != NULL && strstr(e->body, ID_MARK) != NULL &&
	     strstr(e->body, "cot-trace") == NULL && strstr(e->body, detail) != NULL;
	snprintf(how, hn,
	         "export body is the app's templates/errors/%ld.html with the same "
	         "detail (development shows the built-in page with the trace)",
	         status);
	free(marker);
	return ok;
}

/* ==== comparing ======================================================== */

static bool
has_header(const char *const *h, const char *name, const char **value)
{
	size_t n = strlen(name);
	for (int i = 0; h != NULL && h[i] != NULL; i++)
		if (strncasecmp(h[i], name, n) == 0 && h[i][n] == ':') {
			if (value != NULL)
				for (*value = h[i] + n + 1; **value == ' '; (*value)++)
					;
			return true;
		}
	return false;
}

/* "GET /path [Header: value] body "..."" for the ok line. */
static void
make_label(char *out, size_t n, const char *method, const char *path, const char *const *h,
           const char *body, const char *note)
{
	int k = snprintf(out, n, "%s %.200s", method, path);
	for (int i = 0; h != NULL && h[i] != NULL && k < (int)n; i++) {
		const char *colon = strchr(h[i], ':');
		if (h[i] == BROWSER)
			k += snprintf(out + k, n - (size_t)k, " [a browser's Accept]");
		else if (strlen(h[i]) > 80 && colon != NULL)
			k += snprintf(out + k, n - (size_t)k, " [%.*s: (%zu bytes)]",
			              (int)(colon - h[i]), h[i], strlen(colon + 1));
		else
			k += snprintf(out + k, n - (size_t)k, " [%s]", h[i]);
	}
	if (body != NULL && k < (int)n) {
		size_t bl = strlen(body);
		bool short_text = bl <= 60 && strcspn(body, "\r\n") == bl;
		if (short_text)
			k += snprintf(out + k, n - (size_t)k, " body '%s'", body);
		else
			k += snprintf(out + k, n - (size_t)k, " (%zu-byte body)", bl);
	}
	if (note != NULL && k < (int)n)
		snprintf(out + k, n - (size_t)k, " (%s)", note);
}

/* Whether server_request_id.c keeps an incoming X-Request-Id: [0-9A-Za-z._-], 1-32. */
static bool
id_is_kept(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n < 33 &&
	       strspn(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-") == n;
}

/*
 * Sends one request to both servers (dev_h to dev, exp_h to the export) and
 * compares the answers; prints one ok/not ok line. Returns true if they
 * match.
 */
static bool
compare2(const char *method, const char *path, const char *const *dev_h, const char *const *exp_h,
         const char *body, int mode, const char *note)
{
	side d = {.name = "dev"}, e = {.name = "export"};
	side dg = {.name = "dev GET"}, eg = {.name = "export GET"};
	bool head = strcmp(method, "HEAD") == 0;
	h_request(dev_k, &dev_srv, method, path, dev_h, body, &d.r);
	h_request(exp_k, &exp_srv, method, path, exp_h, body, &e.r);
	normalize(&d, path, true);
	normalize(&e, path, false);
	if (mode == P_NOT_EMBEDDED) {
		size_t before = d.len;
		char *b = replace_all(d.body, &d.len, LEAVES, NO_SUCH);
		free(d.body);
		d.body = b;
		d.stripped += before - d.len;
	}
	if (head) { /* the bodies HEAD leaves out, for the Content-Lengths */
		h_request(dev_k, &dev_srv, "GET", path, dev_h, body, &dg.r);
		h_request(exp_k, &exp_srv, "GET", path, exp_h, body, &eg.r);
		normalize(&dg, path, true);
		normalize(&eg, path, false);
	}

	char label[600], why[700] = "", how[300] = "";
	make_label(label, sizeof(label), method, path, dev_h, body, note);
	const char *sent_id = NULL;
	has_header(dev_h, "X-Request-Id", &sent_id);

	if (d.r.status == 0 || e.r.status == 0)
		snprintf(why, sizeof(why), "no answer (%s%s)", d.r.err, e.r.err);
	else if (d.r.status != e.r.status)
		snprintf(why, sizeof(why), "status differs: dev %ld, export %ld", d.r.status,
		         e.r.status);
	else if (strcmp(d.hdrs, e.hdrs) != 0)
		snprintf(why, sizeof(why), "headers differ");
	else if (d.id == NULL || e.id == NULL || !*d.id || !*e.id)
		snprintf(why, sizeof(why), "an X-Request-Id is missing");
	else if (sent_id != NULL && id_is_kept(sent_id) &&
	         (strcmp(d.id, sent_id) || strcmp(e.id, sent_id)))
		snprintf(why, sizeof(why), "a valid X-Request-Id sent is not the one answered");
	else if (sent_id != NULL && !id_is_kept(sent_id) &&
	         (!strcmp(d.id, sent_id) || !strcmp(e.id, sent_id)))
		snprintf(why, sizeof(why), "an invalid X-Request-Id sent came back");
	else if (!head && d.cl >= 0 && (size_t)d.cl != d.r.body_len)
		snprintf(why, sizeof(why), "dev Content-Length %ld for %zu bytes", d.cl,
		         d.r.body_len);
	else if (!head && e.cl >= 0 && (size_t)e.cl != e.r.body_len)
		snprintf(why, sizeof(why), "export Content-Length %ld for %zu bytes", e.cl,
		         e.r.body_len);
	else if (head && (d.r.body_len || e.r.body_len))
		snprintf(why, sizeof(why), "HEAD answered body bytes");
	else if (head && d.cl - e.cl != (long)dg.r.body_len - (long)eg.r.body_len)
		snprintf(why, sizeof(why),
		         "HEAD Content-Lengths differ by %ld, the GET bodies "
		         "by %ld",
		         d.cl - e.cl, (long)dg.r.body_len - (long)eg.r.body_len);

	bool same_body = d.len == e.len && memcmp(d.body, e.body, d.len) == 0;
	bool same_len = d.cl - (long)d.stripped == e.cl;
	if (head) { /* the GET bodies may differ only as error bodies may */
		same_body = dg.len == eg.len && memcmp(dg.body, eg.body, dg.len) == 0;
		same_len = !same_body || d.cl - (long)dg.stripped == e.cl;
		if (why[0] == '\0' && !same_body &&
		    (dg.r.status < 400 ||
		     !production_form(&dg, &eg, mode, dg.r.status, how, sizeof(how))))
			snprintf(why, sizeof(why), "the GET bodies differ");
		else if (why[0] == '\0' && !same_body)
			snprintf(how, sizeof(how),
			         "Content-Lengths differ as the GET error bodies "
			         "do (dev's trace)");
	} else if (why[0] == '\0' && !same_body) {
		if (d.r.status < 400)
			snprintf(why, sizeof(why), "bodies differ");
		else if (!production_form(&d, &e, mode, d.r.status, how, sizeof(how)))
			snprintf(why, sizeof(why),
			         "bodies differ, and the export's is not dev's "
			         "production form");
	}
	if (why[0] == '\0' && same_body && !same_len)
		snprintf(why, sizeof(why), "Content-Length differs: dev %ld%s, export %ld", d.cl,
		         d.stripped || dg.stripped ? " (less the live-reload script)" : "", e.cl);

	bool ok = why[0] == '\0';
	char msg[1400];
	if (mode == P_NOT_EMBEDDED) /* say what was read differently */
		strncat(label,
		        " (dev's \"" LEAVES "\" read as \"" NO_SUCH "\": the export did "
		        "not embed it)",
		        sizeof(label) - strlen(label) - 1);
	if (ok && same_body)
		snprintf(msg, sizeof(msg), "%s: same status, %s, headers", label,
		         head ? "Content-Length, no body" : "body");
	else if (ok)
		snprintf(msg, sizeof(msg), "%s: same status, headers; %s", label, how);
	else
		snprintf(msg, sizeof(msg), "%s: %s", label, why);
	T_CHECK(msg, ok);
	if (!ok) {
		dump(&d);
		dump(&e);
	}
	side_free(&d);
	side_free(&e);
	side_free(&dg);
	side_free(&eg);
	return ok;
}

static bool
compare(const char *method, const char *path, const char *const *h, const char *body)
{
	return compare2(method, path, h, h, body, P_SAME, NULL);
}

static bool
compare_get(const char *path)
{
	return compare("GET", path, NULL, NULL);
}

/* compare() with one request header. */
static bool
compare_h(const char *method, const char *path, const char *header, const char *body)
{
	const char *h[] = {header, NULL};
	return compare(method, path, h, body);
}

/* ==== the requests ===================================================== */

static const char *const JSON_IN[] = {"Content-Type: application/json", NULL};
static const char *const JSON_IO[] = {"Content-Type: application/json", "Accept: application/json",
                                      NULL};
static const char *const FORM[] = {"Content-Type: application/x-www-form-urlencoded", NULL};

/* The scaffold's own pages: layout, templates, the notes API, its 404 page. */
static void
test_scaffold(void)
{
	compare_get("/");
	compare_get("/plain");
	compare_get("/hello/world");
	compare_get("/hello/caf%C3%A9%20au%20lait");
	compare_get("/notes");
	compare_h("GET", "/notes", "Accept: application/json", NULL);
	compare_get("/notes/new");
	compare_get("/notes/abc");
	compare_get("/notes/999");
	compare_h("GET", "/notes/999", BROWSER, NULL);
	compare_h("GET", "/notes/999", "Accept: application/json", NULL);
	compare("POST", "/notes", FORM, "title=&body=kept");
	compare("POST", "/notes", JSON_IO, "{\"title\": \"\", \"body\": 7}");
	compare("POST", "/notes", JSON_IO, "{\"title\": ");
}

/* Path parameters, query strings, request headers, request ids. */
static void
test_request(void)
{
	compare_get("/p/params/42/bob");
	compare_get("/p/params/-5/a%2Fb%20c%C3%A9");
	compare_get("/p/params/x12/bob");                  /* cot_param_int: not a number */
	compare_get("/p/params/99999999999999999999/bob"); /* out of range */
	compare_get("/p/params/12abc/bob");
	compare_get("/p/params/%zz/bob"); /* bad percent-encoding: 400 */
	compare_get("/p/query?a=1&b=x+y%21%20z&empty=&u=%C3%A9t%C3%A9&a=2");
	compare_get("/p/query");
	compare_get("/p/query?a&b=%");
	compare_h("GET", "/p/headers", "X-Thing: hello  world", NULL);
	const char *ids[] = {"X-Request-Id: parity-given.id_1", "X-Thing: v", NULL};
	compare("GET", "/p/headers", ids, NULL);
	compare_h("GET", "/p/headers", "X-Request-Id: not a valid id!", NULL);
	compare_h("GET", "/p/cookies", "Cookie: a=1; b=x%20y;quoted=\"q v\"; a=again", NULL);
	compare_get("/p/cookies");
	compare_get("/p/cookie-bad");
}

/* url-encoded and multipart forms, an upload, JSON in and out. */
static void
test_bodies(void)
{
	compare("POST", "/p/form", FORM, "title=Hello+world&body=a%26b%3Dc+%C3%A9&title=second");
	compare("POST", "/p/form", FORM, "title=%zz");
	compare_h("POST", "/p/form", "Content-Type: text/plain", "title=not+a+form");
	compare("POST", "/p/form", NULL, NULL);

	static const char mp_type[] = "Content-Type: multipart/form-data; boundary=XyZbound";
	const char *mp[] = {mp_type, NULL};
	char file[2200];
	size_t n = 0;
	for (int i = 0; n < 2000; i++)
		file[n++] = (char)(1 + i % 255);    /* every byte but NUL */
	memcpy(file + n, "\r\n--XyZbounX\r\n", 14); /* almost a delimiter */
	n += 14;
	file[n] = '\0';
	char *body = malloc(4096);
	snprintf(body, 4096,
	         "--XyZbound\r\n"
	         "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
	         "a note, caf\xc3\xa9\r\n"
	         "--XyZbound\r\n"
	         "Content-Disposition: form-data; name=\"file\"; filename=\"report final.bin\"\r\n"
	         "Content-Type: application/x-thing\r\n\r\n"
	         "%s\r\n"
	         "--XyZbound\r\n"
	         "Content-Disposition: form-data; name=\"none\"; filename=\"\"\r\n"
	         "Content-Type: application/octet-stream\r\n\r\n"
	         "\r\n"
	         "--XyZbound--\r\n",
	         file);
	compare("POST", "/p/upload", mp, body);
	compare("POST", "/p/form", mp,
	        "--XyZbound\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nmulti\r\n"
	        "--XyZbound\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\npart\r\n"
	        "--XyZbound--\r\n");
	body[strlen(body) - 14] = '\0'; /* no closing delimiter: truncated */
	compare("POST", "/p/upload", mp, body);
	free(body);

	compare("POST", "/p/json", JSON_IN,
	        "{\"a\": 1, \"b\": [true, null, 2.5], \"c\": \"\\u00e9\\n\", \"d\": {}}");
	compare("POST", "/p/json", JSON_IN, "[1, 2, 3]");
	compare("POST", "/p/json", JSON_IN, "{\"a\": 1,\n \"b\": }");
	compare("POST", "/p/json", JSON_IO, "{\"a\": 1,\n \"b\": }");
	compare("POST", "/p/json", JSON_IN, "");
	compare_get("/p/json-out");
	compare_get("/p/json-bad");
	compare_h("GET", "/p/json-bad", "Accept: application/json", NULL);
}

/* cot_db_* with cot_render of their rows, and the statuses of failed statements. */
static void
test_db(void)
{
	compare("POST", "/p/items", JSON_IN,
	        "{\"id\": 1, \"name\": \"apple\", \"price\": 1.25, \"note\": \"<crisp> & red\"}");
	compare("POST", "/p/items", JSON_IN, "{\"id\": 2, \"name\": \"pear\", \"price\": 0.5}");
	compare("POST", "/p/items", JSON_IN, "{\"id\": 3, \"price\": 2}"); /* NOT NULL: 422 */
	compare("POST", "/p/items", JSON_IO, "{\"id\": 3, \"price\": 2}");
	compare("POST", "/p/items/1/insert?name=dup", NULL, "");   /* PRIMARY KEY: 409 */
	compare("POST", "/p/items/9/insert?name=apple", NULL, ""); /* UNIQUE: 409 */
	compare_get("/p/items");
	compare_get("/p/items-page");
	compare_get("/p/items/1");
	compare_get("/p/items/77");
	compare_h("GET", "/p/items/77", BROWSER, NULL);
	compare_get("/p/items-sum");
	compare_get("/p/row-bad-column");
	compare_get("/p/tx");
	compare_get("/p/blob");
}

/* Templates, redirects, responses of every kind. */
static void
test_responses(void)
{
	compare_get("/p/render?name=%3Cscript%3Ex%3C/script%3E%20%26%20%22q%22%20'a'");
	compare_get("/p/render-missing");
	compare_h("GET", "/p/render-missing", "Accept: application/json", NULL);
	compare_h("GET", "/p/render-missing", BROWSER, NULL);
	compare_get("/p/render-sub");
	compare_get("/p/redirect");
	compare_get("/p/redirect-odd");
	compare_get("/p/html?who=%3Cb%3E");
	compare_get("/p/html-fragment");
	compare_get("/p/numbers");
	compare_get("/p/big");
	compare_get("/p/send");
	compare_get("/p/file/hello.txt");
	compare_get("/p/file/page.html");
	compare_get("/p/file/big.html"); /* 3 MB of HTML streamed from the file */
	compare_get("/p/file/missing.txt");
	compare_get("/p/file-typed");
	compare_get("/p/file-static");
	compare_get("/p/file-static/sub%2Fdeep.txt");
	compare_get("/p/file-static/..%2Fschema.sql");
	compare2("GET", "/p/file-static/outside.txt", NULL, NULL, NULL, P_NOT_EMBEDDED, NULL);
	compare_get("/p/file-static/.hidden");
	compare_get("/p/file-static/backup.txt~");
	compare("PUT", "/p/thing", NULL, "put body");
	compare("PATCH", "/p/thing", JSON_IN, "{\"patch\": true}");
	compare("DELETE", "/p/thing", NULL, NULL);
}

/* cot_fail with various statuses, rendered by what the client accepts. */
static void
test_errors(void)
{
	static const char *const statuses[] = {"400", "401", "403", "404", "409", "418",
	                                       "422", "429", "500", "503", "200", "600"};
	char path[64];
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		snprintf(path, sizeof(path), "/p/fail/%s", statuses[i]);
		compare_get(path);
	}
	static const char *const accepts[] = {
	        "Accept: text/html",
	        NULL, /* BROWSER */
	        "Accept: application/json",
	        "Accept: application/problem+json",
	        "Accept: text/plain",
	        "Accept: */*",
	        "Accept: text/html;q=0.9, text/plain;q=0.1",
	        "Accept: text/html;q=0.5, application/json",
	        "Accept: image/png",
	};
	static const char *const paths[] = {"/p/fail/403", "/p/fail/500", "/p/fail-plain", "/nope",
	                                    "/p/fields"};
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
		for (size_t a = 0; a < sizeof(accepts) / sizeof(accepts[0]); a++)
			compare_h("GET", paths[p], accepts[a] ? accepts[a] : BROWSER, NULL);
	compare_get("/p/noresp");
	const char *const crash_accepts[] = {NULL, "Accept: application/json", BROWSER};
	for (int i = 0; i < 3; i++) {
		const char *h[] = {crash_accepts[i], NULL};
		compare2("GET", "/p/crash", h, h, NULL, P_CRASH, NULL);
	}
	compare2("GET", "/p/stuck", NULL, NULL, NULL, P_CRASH, "--timeout 1000");
	compare_get("/p/mw/blocked");
	compare_h("GET", "/p/mw/blocked", BROWSER, NULL);
	compare_get("/p/mw/short");
}

/* What the router answers by itself: 404, 405, OPTIONS, HEAD, limits. */
static void
test_router(void)
{
	compare_get("/nope");
	compare_get("/nope/deeper/still");
	compare_get("/p/params/1");
	compare("DELETE", "/p/params/1/x", NULL, NULL);
	compare_get("/p/thing");
	compare_h("POST", "/hello/world", "Accept: application/json", "x=1");
	compare("OPTIONS", "/p/thing", NULL, NULL);
	compare("OPTIONS", "/p/params/1/x", NULL, NULL);
	compare("OPTIONS", "/nope", NULL, NULL);
	static const char *const preflight[] = {
	        "Origin: https://app.example", "Access-Control-Request-Method: POST",
	        "Access-Control-Request-Headers: content-type", NULL};
	compare("OPTIONS", "/p/echo", preflight, NULL);
	compare("HEAD", "/p/params/1/x", NULL, NULL);
	compare("HEAD", "/p/html", NULL, NULL);
	compare("HEAD", "/p/big", NULL, NULL);
	compare("HEAD", "/nope", NULL, NULL);
	compare("HEAD", "/p/fail/404", NULL, NULL);
	compare_h("HEAD", "/p/fail/404", BROWSER, NULL);
	compare("BREW", "/p/thing", NULL, NULL);

	/* 20 KB of headers: over cot's 16 KB, under libmicrohttpd's own limit */
	const char *headers[6];
	char *hv[5];
	for (int i = 0; i < 5; i++) {
		hv[i] = malloc(8000);
		int m = snprintf(hv[i], 8000, "X-Big-%d: ", i);
		memset(hv[i] + m, 'h', 4000);
		hv[i][m + 4000] = '\0';
		headers[i] = hv[i];
	}
	headers[5] = NULL;
	compare2("GET", "/p/params/1/x", headers, headers, NULL, P_SAME, "over the 16 KB limit");
	for (int i = 0; i < 5; i++)
		free(hv[i]);

	char *big = malloc(100 * 1024 + 1);
	memset(big, 'x', 100 * 1024);
	big[100 * 1024] = '\0';
	compare("POST", "/p/echo", NULL, "a small body");
	big[60 * 1024] = '\0';
	compare("POST", "/p/echo", NULL, big);
	big[60 * 1024] = 'x';
	compare2("POST", "/p/echo", NULL, NULL, big, P_SAME, "--max-body 64K");
	const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
	compare2("POST", "/p/echo", chunked, chunked, big, P_SAME, "--max-body 64K");
	free(big);
}

/* /static/: types, validators, ranges, precompressed siblings, traversal. */
static void
test_static(void)
{
	compare_get("/static/app.css");
	compare("HEAD", "/static/app.css", NULL, NULL);
	compare_get("/static/sub/deep.txt");
	compare_get("/static/page.html"); /* a static page gets no live-reload script */

	/* each server's own validators */
	h_resp d, e;
	h_request(dev_k, &dev_srv, "GET", "/static/app.css", NULL, NULL, &d);
	h_request(exp_k, &exp_srv, "GET", "/static/app.css", NULL, NULL, &e);
	char *de = header_of(&d, "ETag"), *ee = header_of(&e, "ETag");
	char *lm = header_of(&d, "Last-Modified");
	char dh[300], eh[300], dr[300], er[300], lmh[300];
	snprintf(dh, sizeof(dh), "If-None-Match: %s", de ? de : "\"none\"");
	snprintf(eh, sizeof(eh), "If-None-Match: %s", ee ? ee : "\"none\"");
	snprintf(dr, sizeof(dr), "If-Range: %s", de ? de : "\"none\"");
	snprintf(er, sizeof(er), "If-Range: %s", ee ? ee : "\"none\"");
	snprintf(lmh, sizeof(lmh), "If-Modified-Since: %s", lm ? lm : "");
	const char *dev_inm[] = {dh, NULL}, *exp_inm[] = {eh, NULL};
	compare2("GET", "/static/app.css", dev_inm, exp_inm, NULL, P_SAME, "each its own ETag");
	char dl[400], el[400];
	snprintf(dl, sizeof(dl), "If-None-Match: \"x\", W/%s", de ? de : "\"none\"");
	snprintf(el, sizeof(el), "If-None-Match: \"x\", W/%s", ee ? ee : "\"none\"");
	const char *dev_list[] = {dl, NULL}, *exp_list[] = {el, NULL};
	compare2("GET", "/static/app.css", dev_list, exp_list, NULL, P_SAME,
	         "each its own ETag, weak, in a list");
	compare_h("GET", "/static/app.css", "If-None-Match: \"stale\"", NULL);
	compare_h("GET", "/static/app.css", "If-None-Match: *", NULL);
	compare_h("GET", "/static/app.css", lmh, NULL);
	compare_h("GET", "/static/app.css", "If-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT",
	          NULL);
	compare_h("GET", "/static/app.css", "Range: bytes=0-99", NULL);
	compare_h("GET", "/static/app.css", "Range: bytes=-10", NULL);
	compare_h("GET", "/static/app.css", "Range: bytes=100-", NULL);
	compare_h("GET", "/static/app.css", "Range: bytes=100000000-", NULL);
	compare_h("GET", "/static/app.css", "Range: bytes=0-1,5-6", NULL);
	compare_h("GET", "/static/app.css", "Range: pages=1", NULL);
	const char *dev_ir[] = {"Range: bytes=0-9", dr, NULL};
	const char *exp_ir[] = {"Range: bytes=0-9", er, NULL};
	compare2("GET", "/static/app.css", dev_ir, exp_ir, NULL, P_SAME, "each its own ETag");
	const char *stale_ir[] = {"Range: bytes=0-9", "If-Range: \"stale\"", NULL};
	compare("GET", "/static/app.css", stale_ir, NULL);
	free(de);
	free(ee);
	free(lm);
	h_resp_free(&d);
	h_resp_free(&e);

	compare_h("GET", "/static/fresh.js", "Accept-Encoding: gzip, br;q=0.5", NULL);
	compare_h("GET", "/static/fresh.js", "Accept-Encoding: identity", NULL);
	compare_get("/static/fresh.js");
	compare_h("GET", "/static/stale.js", "Accept-Encoding: gzip", NULL);

	compare_get("/static/../schema.sql");
	compare_get("/static/%2e%2e/schema.sql");
	compare_get("/static/sub%2fdeep.txt");
	compare_get("/static//etc/passwd");
	compare_get("/static/sub/../../app.db");
	compare_get("/static/%00.css");
	compare_get("/static/.hidden");
	compare_get("/static/");
	compare_get("/static/sub");
	compare_get("/static/sub/");
	compare_get("/static/missing.css");
	compare_h("GET", "/static/missing.css", "Accept: application/json", NULL);
	compare("POST", "/static/app.css", NULL, "x");
	compare2("GET", "/static/outside.txt", NULL, NULL, NULL, P_NOT_EMBEDDED, NULL);
	compare_get("/static/backup.txt~");
}

/* Answers only the dev server gives, by design. */
static void
test_dev_only(void)
{
	h_resp d, e;
	h_request(dev_k, &dev_srv, "GET", "/_cot/live.js", NULL, NULL, &d);
	h_request(exp_k, &exp_srv, "GET", "/_cot/live.js", NULL, NULL, &e);
	T_CHECK("GET /_cot/live.js: by design only the dev server serves /_cot/ (dev 200, "
	        "export 404)",
	        d.status == 200 && e.status == 404);
	if (!(d.status == 200 && e.status == 404))
		printf("# dev %ld, export %ld\n", d.status, e.status);
	h_resp_free(&d);
	h_resp_free(&e);
}

/*
 * What cotdev run refuses at reload, the export refuses to build: a handler
 * whose SQL does not prepare. Both must name the same line. (Run after the
 * servers stop: `cotdev check` and `cotdev export` read the app directly.)
 */
static void
test_refused_alike(const char *cotdev)
{
	static const char typo_src[] =
	        "#include <cot.h>\n\n"
	        "static cot_result\n"
	        "typo(cot_ctx *c)\n"
	        "{\n"
	        "\tcot_row *r = cot_db_one(c, \"SELECT titel FROM items\");\n"
	        "\treturn cot_text(c, 200, \"%s\\n\", cot_row_text(r, \"titel\"));\n"
	        "}\n\n"
	        "COT_ROUTES(\n\tCOT_GET(\"/typo\", typo),\n)\n";
	/* the engine's words: PostgreSQL when DATABASE_URL names it (pg_run) */
	const char *url = getenv("DATABASE_URL");
	const char *want = url != NULL && strncmp(url, "postgres", 8) == 0
	                           ? "handlers/zz_typo.c:6: column \"titel\" does not exist"
	                           : "handlers/zz_typo.c:6: no such column: titel";
	char bin[4300];
	h_path(bin, sizeof(bin), "%s/.typo-bin", app);
	h_write_app_file(app, "handlers/zz_typo.c", typo_src);
	const char *check[] = {cotdev, "check", app, NULL};
	const char *export[] = {cotdev, "export", app, "-o", bin, NULL};
	h_cmd_result c, e;
	h_run_cmd(check, H_DEADLINE_MS, &c);
	h_run_cmd(export, 2 * H_DEADLINE_MS, &e);
	bool ok = c.exit_code == 1 && strstr(c.out, want) != NULL && e.exit_code != 0 &&
	          strstr(e.err, want) != NULL && access(bin, F_OK) != 0;
	T_CHECK("SQL that does not prepare: cotdev check and cotdev export both refuse it, "
	        "naming handlers/zz_typo.c:6",
	        ok);
	if (!ok)
		printf("# cotdev check (%d): %s%s# cotdev export (%d): %s%s", c.exit_code, c.out,
		       c.err, e.exit_code, e.out, e.err);
	h_cmd_result_free(&c);
	h_cmd_result_free(&e);
}

/* ==== setting up ======================================================= */

static bool
set_mtime(const char *rel, time_t sec, long nsec)
{
	char path[4300];
	struct timespec t[2] = {{sec, nsec}, {sec, nsec}};
	return utimensat(AT_FDCWD, h_path(path, sizeof(path), "%s/%s", app, rel), t, 0) == 0;
}

/* data/big.html: a page cot_file streams, far larger than any buffer. */
static bool
write_big_html(void)
{
	size_t n = 3u * 1024 * 1024;
	char *page = malloc(n + 64);
	int k = sprintf(page, "<!doctype html><html><body><pre>");
	for (size_t i = (size_t)k; i < n; i++)
		page[i] = (char)('a' + i % 26);
	strcpy(page + n, "</pre></body></html>\n");
	bool ok = h_write_app_file(app, "data/big.html", page) == 0;
	free(page);
	return ok;
}

/* The scaffold plus this test's handlers, templates, data and static files. */
static bool
write_app(void)
{
	char path[4300], dir[4300];
	FILE *f = fopen(h_path(path, sizeof(path), "%s/schema.sql", app), "a");
	bool ok = f != NULL && fputs(schema_items, f) >= 0;
	if (f != NULL)
		ok &= fclose(f) == 0;
	mkdir(h_path(dir, sizeof(dir), "%s/data", app), 0755);
	mkdir(h_path(dir, sizeof(dir), "%s/static/sub", app), 0755);
	mkdir(h_path(dir, sizeof(dir), "%s/templates/sub", app), 0755);
	ok = ok && h_write_app_file(app, "handlers/00_mw.c", mw_src) == 0 &&
	     h_write_app_file(app, "handlers/parity.c", parity_src) == 0 &&
	     h_write_app_file(app, "templates/items.html", items_tpl) == 0 &&
	     h_write_app_file(app, "templates/item.html", item_tpl) == 0 &&
	     h_write_app_file(app, "templates/escape.html", escape_tpl) == 0 &&
	     h_write_app_file(app, "templates/part.html", part_tpl) == 0 &&
	     h_write_app_file(app, "templates/sub/page.html", sub_tpl) == 0 &&
	     h_write_app_file(app, "templates/errors/403.html", page_403) == 0 &&
	     h_write_app_file(app, "data/hello.txt", "hello from data/\n") == 0 &&
	     h_write_app_file(app, "data/page.html",
	                      "<!doctype html><html><body><p>a file</p></body></html>\n") == 0 &&
	     write_big_html() &&
	     h_write_app_file(app, "static/sub/deep.txt", "in a subdirectory\n") == 0 &&
	     h_write_app_file(app, "static/page.html",
	                      "<!doctype html><html><body><p>static</p></body></html>\n") == 0 &&
	     h_write_app_file(app, "static/.hidden", "a dotfile\n") == 0 &&
	     h_write_app_file(app, "static/backup.txt~", "an editor's backup\n") == 0 &&
	     h_write_app_file(app, "static/fresh.js", "console.log('fresh');\n") == 0 &&
	     h_write_app_file(app, "static/fresh.js.gz", "(gzip bytes of fresh.js)") == 0 &&
	     h_write_app_file(app, "static/stale.js", "console.log('edited');\n") == 0 &&
	     h_write_app_file(app, "static/stale.js.gz", "(gzip bytes of an old stale.js)") == 0 &&
	     h_write_app_file(app, "outside.txt", "not a static file\n") == 0 &&
	     symlink("../outside.txt", h_path(path, sizeof(path), "%s/static/outside.txt", app)) ==
	             0;
	/* fresh.js.gz is newer than fresh.js; stale.js was saved after its .gz,
	 * within the same second, so the .gz is stale and must not be sent */
	time_t t = time(NULL) - 100;
	ok = ok && set_mtime("static/fresh.js", t, 0) &&
	     set_mtime("static/fresh.js.gz", t + 1, 0) &&
	     set_mtime("static/stale.js.gz", t, 100000000) &&
	     set_mtime("static/stale.js", t, 700000000);
	return ok;
}

/* A target for `cotdev` with this suite's flags. */
static h_target
make_target(h_target t)
{
	static const char *const flags[] = {
	        "--port",     "0",   "--quiet", "--timeout",           "1000",
	        "--max-body", "64K", "--cors",  "https://app.example", NULL};
	h_target_flags(&t, flags);
	return t;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV\n", argv[0]);
		return 2;
	}
	static char cotdev[4096];
	if (realpath(argv[1], cotdev) == NULL) {
		printf("not ok %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	h_target dev_t = make_target(h_target_dev(cotdev));
	h_target exp_t = make_target(h_target_export(cotdev));
	if (h_scaffold(&dev_t, app, sizeof(app)) != 0) {
		T_CHECK("scaffold an app", false);
		return T_DONE();
	}
	T_CHECK("write the app", write_app());
	/* Both servers start in the app directory, where `cotdev run` works:
	 * a relative cot_file path names the same file on both. */
	T_CHECK("enter the app directory", chdir(app) == 0);
	char err[512];
	if (h_server_start(&dev_t, app, &dev_srv, err, sizeof(err)) != 0) {
		printf("not ok start cotdev run: %s\n", err);
		h_rmtree(app);
		return 1;
	}
	if (h_server_start(&exp_t, app, &exp_srv, err, sizeof(err)) != 0) {
		printf("not ok start the exported binary: %s\n", err);
		h_server_stop(&dev_srv);
		h_rmtree(app);
		return 1;
	}
	char *boot = h_server_output(&dev_srv, NULL);
	T_CHECK("the app compiles without errors in cotdev run", boot && !strstr(boot, "error"));
	if (boot && strstr(boot, "error"))
		printf("# %s\n", boot);
	free(boot);
	dev_k = h_client_new();
	exp_k = h_client_new();

	test_scaffold();
	test_request();
	test_bodies();
	test_db();
	test_responses();
	test_errors();
	test_router();
	test_static();
	test_dev_only();

	h_client_free(dev_k);
	h_client_free(exp_k);
	h_thread_done();
	T_CHECK("cotdev run exits 0 at SIGTERM", h_server_stop(&dev_srv) == 0);
	T_CHECK("the exported binary exits 0 at SIGTERM", h_server_stop(&exp_srv) == 0);
	test_refused_alike(cotdev);
	h_rmtree(app);
	return T_DONE();
}
