/*
 * test_compress.c -- gzip responses (runtime/compress.c) and precompressed
 * static files, over HTTP on `cotdev run` and the exported binary.
 *
 * usage: test_compress COTDEV | export:COTDEV
 *
 * The test sends Accept-Encoding itself, so libcurl hands it the bytes as
 * they came; it gunzips them with zlib and compares them with the identity
 * answer to the same request. What must hold: text above the threshold is
 * gzipped for a client that accepts it, never for one that refuses it
 * (q=0) or does not ask; "Vary: Accept-Encoding" on every answer that could
 * have been compressed; small bodies, binary types and a handler's own
 * Content-Encoding are left alone; the export serves static text files
 * from a .gz it made once at start.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"
#include "t.h"

static h_target target;
static h_server srv;
static char app[4096];

static const char pages_src[] =
        "#include <cot.h>\n"
        "#include <string.h>\n"
        "\n"
        "static char big[6000];\n"
        "\n"
        "static const char *\n"
        "text(void)\n"
        "{\n"
        "\tfor (size_t i = 0; i + 1 < sizeof(big); i++)\n"
        "\t\tbig[i] = \"<p>cot compresses text</p>\\n\"[i % 27];\n"
        "\treturn big;\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "page(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_html(c, 200, \"<html><body>%s</body></html>\", text());\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "small(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"short\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "png(cot_ctx *c)\n"
        "{\n"
        "\tconst char *t = text();\n"
        "\treturn cot_send(c, 200, \"image/png\", t, strlen(t));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "own(cot_ctx *c)\n"
        "{\n"
        "\tcot_set_header(c, \"Content-Encoding\", \"identity\");\n"
        "\treturn cot_text(c, 200, \"%s\", text());\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "api(cot_ctx *c)\n"
        "{\n"
        "\tconst char *t = text();\n"
        "\treturn cot_send(c, 200, \"application/vnd.cot+json\", t, strlen(t));\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/z/page\", page),\n"
        "\tCOT_GET(\"/z/small\", small),\n"
        "\tCOT_GET(\"/z/png\", png),\n"
        "\tCOT_GET(\"/z/own\", own),\n"
        "\tCOT_GET(\"/z/api\", api),\n"
        ")\n";

/* gunzip of in[0..len) (malloc'd, NUL-terminated); NULL if it is not gzip. */
static char *
gunzip(const char *in, size_t len, size_t *outlen)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return NULL;
	size_t cap = 1 << 20;
	char *out = malloc(cap + 1);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	int rc = inflate(&z, Z_FINISH);
	*outlen = z.total_out;
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	out[*outlen] = '\0';
	return out;
}

/* The dev server's page script carries the request id; blank it out so two
 * answers to the same request compare equal. */
static void
blank_request_id(char *s, size_t len)
{
	static const char key[] = "data-request-id=\"";
	for (char *p = s; (p = memmem(p, len - (size_t)(p - s), key, sizeof(key) - 1)) != NULL;)
		for (p += sizeof(key) - 1; p < s + len && *p != '"'; p++)
			*p = 'x';
}

static bool
header_is(const h_resp *r, const char *name, const char *want)
{
	char *v = h_resp_header(r, name);
	bool yes = want == NULL ? v == NULL : v != NULL && strstr(v, want) != NULL;
	free(v);
	return yes;
}

/* GET path with the given Accept-Encoding (NULL: none). */
static long
get_ae(const char *path, const char *ae, h_resp *r)
{
	static h_client *cl;
	if (cl == NULL)
		cl = h_client_new();
	char hdr[128];
	snprintf(hdr, sizeof(hdr), "Accept-Encoding: %s", ae ? ae : "");
	const char *headers[] = {hdr, NULL};
	return h_request(cl, &srv, "GET", path, ae ? headers : NULL, NULL, r);
}

/* The gzip answer decodes to exactly the identity answer. */
static void
check_gzip_equals_identity(const char *what, const char *path)
{
	h_resp plain, gz;
	char name[160];
	get_ae(path, NULL, &plain);
	get_ae(path, "gzip, deflate, br;q=0.5", &gz);
	snprintf(name, sizeof(name), "%s: gzip for a client that accepts it", what);
	T_CHECK(name, gz.status == 200 && header_is(&gz, "Content-Encoding", "gzip"));
	snprintf(name, sizeof(name), "%s: ... smaller than the identity body", what);
	T_CHECK(name, gz.body_len < plain.body_len);
	size_t n = 0;
	char *un = gunzip(gz.body, gz.body_len, &n);
	if (un != NULL)
		blank_request_id(un, n);
	blank_request_id(plain.body, plain.body_len);
	snprintf(name, sizeof(name), "%s: ... gunzips to the identity body", what);
	T_CHECK(name, un != NULL && n == plain.body_len && memcmp(un, plain.body, n) == 0);
	snprintf(name, sizeof(name), "%s: Vary: Accept-Encoding on both", what);
	T_CHECK(name, header_is(&gz, "Vary", "Accept-Encoding") &&
	                      header_is(&plain, "Vary", "Accept-Encoding"));
	snprintf(name, sizeof(name), "%s: no Content-Encoding without Accept-Encoding", what);
	T_CHECK(name, header_is(&plain, "Content-Encoding", NULL));
	free(un);
	h_resp_free(&plain);
	h_resp_free(&gz);
}

static void
test_dynamic(void)
{
	check_gzip_equals_identity("html page", "/z/page");
	check_gzip_equals_identity("+json type", "/z/api");

	h_resp r;
	get_ae("/z/page", "gzip;q=0, identity", &r);
	T_CHECK("gzip;q=0 is refused: identity",
	        r.status == 200 && header_is(&r, "Content-Encoding", NULL));
	h_resp_free(&r);
	get_ae("/z/page", "*", &r);
	T_CHECK("'*' accepts gzip", header_is(&r, "Content-Encoding", "gzip"));
	h_resp_free(&r);
	get_ae("/z/small", "gzip", &r);
	T_CHECK("a small body stays as it is", r.status == 200 &&
	                                               header_is(&r, "Content-Encoding", NULL) &&
	                                               strcmp(r.body, "short\n") == 0);
	T_CHECK("... and varies on nothing", header_is(&r, "Vary", NULL));
	h_resp_free(&r);
	get_ae("/z/png", "gzip", &r);
	T_CHECK("image/png is not compressed",
	        header_is(&r, "Content-Encoding", NULL) && r.body_len > 5000);
	h_resp_free(&r);
	get_ae("/z/own", "gzip", &r);
	T_CHECK("a handler's own Content-Encoding is kept",
	        header_is(&r, "Content-Encoding", "identity") && r.body_len > 5000);
	h_resp_free(&r);
	get_ae("/z/nope", "gzip", &r);
	T_CHECK("a 404 still answers (compressed or not, it decodes)",
	        r.status == 404 && r.body_len > 0);
	h_resp_free(&r);
}

/* static/app.css of the template (9 KB of text). */
static void
test_static(void)
{
	h_resp plain, gz;
	get_ae("/static/app.css", NULL, &plain);
	get_ae("/static/app.css", "gzip", &gz);
	T_CHECK("static/app.css answers", plain.status == 200 && gz.status == 200);
	if (target.reloads) {
		/* development reads files fresh and compresses none: only an
		 * app.css.gz the developer made would be served */
		T_CHECK("dev: static text without a .gz sibling is sent as it is",
		        header_is(&gz, "Content-Encoding", NULL) && gz.body_len == plain.body_len);
	} else {
		T_CHECK("export: static text served from its .gz (made once at start)",
		        header_is(&gz, "Content-Encoding", "gzip") && gz.body_len < plain.body_len);
		size_t n = 0;
		char *un = gunzip(gz.body, gz.body_len, &n);
		T_CHECK("... which gunzips to the file",
		        un != NULL && n == plain.body_len && memcmp(un, plain.body, n) == 0);
		T_CHECK("... with Vary: Accept-Encoding",
		        header_is(&gz, "Vary", "Accept-Encoding"));
		free(un);
	}
	h_resp_free(&plain);
	h_resp_free(&gz);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s COTDEV | export:COTDEV\n", argv[0]);
		return 2;
	}
	target = h_target_dev(argv[1]);
	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		printf("not ok scaffold\n");
		return 1;
	}
	char path[4300];
	if (h_save_new(h_path(path, sizeof(path), "%s/handlers/z.c", app), pages_src) != 0)
		printf("not ok write handlers/z.c\n");
	char err[512];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start %s: %s\n", argv[1], err);
		return 1;
	}
	test_dynamic();
	test_static();
	T_CHECK("server exits 0", h_server_stop(&srv) == 0);
	h_rmtree(app);
	return T_DONE();
}
