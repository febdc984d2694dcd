/*
 * test_static.c -- runtime/static.c and static_path.c against a real temporary static/ tree.
 *
 * Layout built by setup() under mkdtemp:
 *   secret.txt                 outside static/, must never be served
 *   static/data.txt            "0123456789", mtime fixed at 1700000000
 *   static/app.js (+.br, .gz)  precompressed variants, newer than app.js
 *   static/stale.js (+.gz)     a variant older than its file: ignored
 *   static/only.css (+.gz)     gzip only
 *   static/empty.txt, sub/file.txt, sub/.hidden, .env, .git/config, fifo
 *   static/backup.txt~, #draft.txt#, notes.swp, app.css.bak   (editor droppings)
 *   static/in_link -> data.txt, sub/up -> ../data.txt   (stay inside)
 *   static/out_link -> ../secret.txt, abs_link -> <tmp>/secret.txt,
 *   static/dir_out -> ..                                  (leave static/)
 */
#include "../runtime/apptree.h"
#include "../runtime/static.h"
#include "../runtime/static_path.h"
#include "t.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MTIME      1700000000
#define MTIME_DATE "Tue, 14 Nov 2023 22:13:20 GMT"

static char tmp[] = "/tmp/cot-static-XXXXXX";
static int root = -1;
static struct staticfile_result res = {.fd = -1};

/* ------------------------------------------------------------- fixture -- */

static void
put(const char *rel, const char *content, time_t mtime)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	if ((f = fopen(path, "w")) == NULL || fputs(content, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	if (mtime != 0) {
		struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
		utimensat(AT_FDCWD, path, ts, 0);
	}
}

static void
link_to(const char *target, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	if (symlink(target, path) != 0) {
		perror(path);
		exit(2);
	}
}

static void
setup(void)
{
	char path[PATH_MAX];
	const char *dirs[] = {"static", "static/sub", "static/.git"};

	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", tmp, dirs[i]);
		mkdir(path, 0755);
	}
	put("secret.txt", "SECRET", 0);
	put("static/data.txt", "0123456789", MTIME);
	put("static/empty.txt", "", MTIME);
	put("static/app.js", "console.log(1)", MTIME);
	put("static/app.js.br", "BR", MTIME + 1);
	put("static/app.js.gz", "GZ", MTIME + 1);
	put("static/stale.js", "fresh", MTIME);
	put("static/stale.js.gz", "OLD", MTIME - 100);
	put("static/only.css", "p{}", MTIME);
	put("static/only.css.gz", "GZ", MTIME);
	put("static/sub/file.txt", "sub", MTIME);
	put("static/sub/.hidden", "hidden", MTIME);
	put("static/.env", "KEY=1", MTIME);
	put("static/.git/config", "[core]", MTIME);
	put("static/backup.txt~", "backup", MTIME);
	put("static/#draft.txt#", "autosave", MTIME);
	put("static/notes.swp", "swap", MTIME);
	put("static/app.css.bak", "backup copy", MTIME);
	snprintf(path, sizeof path, "%s/static/fifo", tmp);
	mkfifo(path, 0644);
	link_to("data.txt", "static/in_link");
	link_to("../data.txt", "static/sub/up");
	link_to("../secret.txt", "static/out_link");
	snprintf(path, sizeof path, "%s/secret.txt", tmp);
	link_to(path, "static/abs_link");
	link_to("..", "static/dir_out");
	snprintf(path, sizeof path, "%s/static", tmp);
	if ((root = open(path, O_DIRECTORY | O_PATH | O_CLOEXEC)) < 0) {
		perror(path);
		exit(2);
	}
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* ------------------------------------------------------------- helpers -- */

static struct staticfile_request
get(const char *path)
{
	return (struct staticfile_request){
	        .root_fd = root,
	        .path = path,
	        .method = "GET",
	        .mode = STATICFILE_DEV,
	};
}

/* Serve q into the global res, closing the previous result's fd. */
static int
run(struct staticfile_request q)
{
	static_result_close(&res);
	static_serve(&q, &res);
	return res.status;
}

/* The body res describes, read from its fd (static buffer). */
static const char *
body(void)
{
	static char buf[256];
	ssize_t n;

	if (res.fd < 0 || res.length >= sizeof buf)
		return "(no body)";
	n = pread(res.fd, buf, res.length, (off_t)res.offset);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static const char *
hdr(const char *name)
{
	const char *v = static_header(&res, name);
	return v ? v : "(absent)";
}

/* A refused request: status, no fd, a reason. */
static void
refused(const char *name, const char *path, int status)
{
	char label[128];

	run(get(path));
	snprintf(label, sizeof label, "traversal %s", name);
	T_CHECK(label, res.status == status && res.fd < 0 && res.reason != NULL);
	if (res.status != status)
		printf("# %s: got %d (%s)\n", path, res.status, res.reason);
}

/* ---------------------------------------------------------------- tests -- */

static void
test_mime(void)
{
	static const char *cases[][2] = {
	        {"a.html", "text/html; charset=utf-8"},
	        {"a.css", "text/css; charset=utf-8"},
	        {"a.js", "text/javascript; charset=utf-8"},
	        {"a.mjs", "text/javascript; charset=utf-8"},
	        {"a.json", "application/json"},
	        {"a.svg", "image/svg+xml; charset=utf-8"},
	        {"a.png", "image/png"},
	        {"a.jpg", "image/jpeg"},
	        {"a.jpeg", "image/jpeg"},
	        {"a.gif", "image/gif"},
	        {"a.webp", "image/webp"},
	        {"a.ico", "image/vnd.microsoft.icon"},
	        {"a.txt", "text/plain; charset=utf-8"},
	        {"a.woff", "font/woff"},
	        {"a.woff2", "font/woff2"},
	        {"a.wasm", "application/wasm"},
	        {"a.map", "application/json"},
	        {"a.pdf", "application/pdf"},
	        {"a.xml", "application/xml; charset=utf-8"},
	        {"dir/IMG.PNG", "image/png"},
	        {"README", "application/octet-stream"},
	        {"a.tar.gz", "application/octet-stream"},
	        {"dir.v2/noext", "application/octet-stream"},
	        {"a.", "application/octet-stream"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char label[64];

		snprintf(label, sizeof label, "mime %s", cases[i][0]);
		T_STREQ(label, static_mime(cases[i][0]), cases[i][1]);
	}
	run(get("data.txt"));
	T_STREQ("mime served Content-Type", hdr("Content-Type"), "text/plain; charset=utf-8");
}

static void
test_basic(void)
{
	struct staticfile_request q = get("data.txt");

	T_CHECK("get 200", run(q) == 200 && res.fd >= 0 && !res.head);
	T_STREQ("get body", body(), "0123456789");
	T_STREQ("get Last-Modified", hdr("Last-Modified"), MTIME_DATE);
	T_STREQ("get Accept-Ranges", hdr("Accept-Ranges"), "bytes");
	T_STREQ("dev Cache-Control", hdr("Cache-Control"), "no-cache");
	T_CHECK("get ETag strong", hdr("ETag")[0] == '"');
	T_STREQ("no Vary without variants", hdr("Vary"), "(absent)");
	T_CHECK("get reason NULL", res.reason == NULL);
	q.mode = STATICFILE_PROD;
	run(q);
	T_STREQ("prod Cache-Control", hdr("Cache-Control"), "public, max-age=31536000");
	q.method = "HEAD";
	run(q);
	T_CHECK("head 200 length, fd kept",
	        res.status == 200 && res.head && res.length == 10 && res.fd >= 0);
	q.method = "POST";
	T_CHECK("post 405", run(q) == 405 && res.fd < 0 && res.reason);
	T_STREQ("post Allow", hdr("Allow"), "GET, HEAD");
	q.method = "get";
	T_CHECK("lowercase method 405", run(q) == 405);
	T_CHECK("subdir file 200", run(get("sub/file.txt")) == 200);
	T_STREQ("subdir body", body(), "sub");
	T_CHECK("missing 404", run(get("nope.txt")) == 404 && res.reason);
	T_CHECK("fifo 404 without hanging", run(get("fifo")) == 404);
	T_CHECK("space-encoded name 404", run(get("no%20such.txt")) == 404);
}

static void
test_conditional(void)
{
	struct staticfile_request q = get("data.txt");
	char etag[128], weak[140], list[200];

	run(q);
	snprintf(etag, sizeof etag, "%s", hdr("ETag"));
	snprintf(weak, sizeof weak, "W/%s", etag);
	snprintf(list, sizeof list, "\"nope\", W/\"x\",%s", etag);

	q.if_none_match = etag;
	T_CHECK("inm match 304", run(q) == 304 && res.fd < 0);
	T_STREQ("304 keeps ETag", hdr("ETag"), etag);
	T_STREQ("304 no Content-Type", hdr("Content-Type"), "(absent)");
	q.if_none_match = weak;
	T_CHECK("inm weak comparison 304", run(q) == 304);
	q.if_none_match = list;
	T_CHECK("inm list 304", run(q) == 304);
	q.if_none_match = "*";
	T_CHECK("inm star 304", run(q) == 304);
	q.if_none_match = "\"other\"";
	T_CHECK("inm mismatch 200", run(q) == 200 && res.fd >= 0);
	q.if_modified_since = MTIME_DATE;
	T_CHECK("inm mismatch beats ims 200", run(q) == 200);
	q.if_none_match = NULL;
	T_CHECK("ims equal 304", run(q) == 304);
	q.if_modified_since = "Tue, 14 Nov 2023 22:13:19 GMT";
	T_CHECK("ims earlier 200", run(q) == 200);
	q.if_modified_since = "Wed, 15 Nov 2023 00:00:00 GMT";
	T_CHECK("ims later 304", run(q) == 304);
	q.if_modified_since = "Wednesday, 15-Nov-23 00:00:00 GMT";
	T_CHECK("ims rfc850 304", run(q) == 304);
	q.if_modified_since = "Wed Nov 15 00:00:00 2023";
	T_CHECK("ims asctime 304", run(q) == 304);
	q.if_modified_since = "Wed, 15 Nov 2023 -1:00:00 GMT";
	T_CHECK("ims negative hour ignored 200", run(q) == 200);
	q.if_modified_since = "Wed, 15 Nov 2023 00:00:00 GMT trailing";
	T_CHECK("ims trailing junk ignored 200", run(q) == 200);
	q.if_modified_since = "yesterday";
	T_CHECK("ims garbage ignored 200", run(q) == 200);
	q.if_modified_since = MTIME_DATE;
	q.method = "HEAD";
	T_CHECK("head ims 304", run(q) == 304 && res.fd < 0);
	T_CHECK("etag changes with file",
	        run(get("sub/file.txt")) == 200 && strcmp(hdr("ETag"), etag) != 0);
}

/* Check one Range value: status, offset, length and Content-Range. */
static void
range_case(const char *name, const char *path, const char *range, int status,
           const char *content_range, const char *want_body)
{
	struct staticfile_request q = get(path);
	char label[128];

	q.range = range;
	run(q);
	snprintf(label, sizeof label, "range %s status", name);
	T_CHECK(label, res.status == status);
	snprintf(label, sizeof label, "range %s Content-Range", name);
	T_STREQ(label, hdr("Content-Range"), content_range);
	snprintf(label, sizeof label, "range %s body", name);
	T_STREQ(label, body(), want_body);
}

static void
test_ranges(void)
{
	struct staticfile_request q = get("data.txt");
	char etag[128];

	range_case("a-b", "data.txt", "bytes=2-5", 206, "bytes 2-5/10", "2345");
	range_case("a-", "data.txt", "bytes=7-", 206, "bytes 7-9/10", "789");
	range_case("-n", "data.txt", "bytes=-3", 206, "bytes 7-9/10", "789");
	range_case("-n past start", "data.txt", "bytes=-20", 206, "bytes 0-9/10", "0123456789");
	range_case("b past end", "data.txt", "bytes=5-100", 206, "bytes 5-9/10", "56789");
	range_case("one byte", "data.txt", "bytes=0-0", 206, "bytes 0-0/10", "0");
	range_case("start past end 416", "data.txt", "bytes=10-", 416, "bytes */10", "(no body)");
	range_case("huge start 416", "data.txt", "bytes=99999999999999999999999-", 416,
	           "bytes */10", "(no body)");
	range_case("-0 416", "data.txt", "bytes=-0", 416, "bytes */10", "(no body)");
	range_case("empty file 416", "empty.txt", "bytes=0-", 416, "bytes */0", "(no body)");
	range_case("multiple gives 200", "data.txt", "bytes=0-1,4-5", 200, "(absent)",
	           "0123456789");
	range_case("reversed ignored", "data.txt", "bytes=5-2", 200, "(absent)", "0123456789");
	range_case("other unit ignored", "data.txt", "items=0-1", 200, "(absent)", "0123456789");
	range_case("garbage ignored", "data.txt", "bytes=x-y", 200, "(absent)", "0123456789");
	T_CHECK("range 200 has no reason", res.reason == NULL);

	q.range = "bytes=10-";
	run(q);
	T_CHECK("range 416 has reason, no fd", res.reason != NULL && res.fd < 0);
	q.range = "bytes=0-1";
	q.method = "HEAD";
	T_CHECK("range ignored on HEAD", run(q) == 200 && res.length == 10);
	q.method = "GET";
	run(q);
	snprintf(etag, sizeof etag, "%s", hdr("ETag"));
	q.if_range = etag;
	T_CHECK("if-range etag match 206", run(q) == 206);
	q.if_range = "\"stale\"";
	T_CHECK("if-range stale etag 200", run(q) == 200 && res.length == 10);
	q.if_range = MTIME_DATE;
	T_CHECK("if-range date match 206", run(q) == 206);
	q.if_range = "Wed, 15 Nov 2023 00:00:00 GMT";
	T_CHECK("if-range other date 200", run(q) == 200);
}

/* Request app.js with Accept-Encoding ae; want coding ("" = identity). */
static void
encoding_case(const char *path, const char *ae, const char *coding, const char *want_body)
{
	struct staticfile_request q = get(path);
	char label[128];

	q.accept_encoding = ae;
	run(q);
	snprintf(label, sizeof label, "encoding %s [%s] coding", path, ae ? ae : "none");
	T_STREQ(label, hdr("Content-Encoding"), *coding ? coding : "(absent)");
	snprintf(label, sizeof label, "encoding %s [%s] body", path, ae ? ae : "none");
	T_STREQ(label, body(), want_body);
}

static void
test_encodings(void)
{
	struct staticfile_request q = get("app.js");
	char plain_etag[128];

	encoding_case("app.js", NULL, "", "console.log(1)");
	T_STREQ("identity has Vary", hdr("Vary"), "Accept-Encoding");
	snprintf(plain_etag, sizeof plain_etag, "%s", hdr("ETag"));
	encoding_case("app.js", "gzip, deflate, br", "br", "BR");
	T_STREQ("br keeps Content-Type", hdr("Content-Type"), "text/javascript; charset=utf-8");
	T_STREQ("br Vary", hdr("Vary"), "Accept-Encoding");
	T_CHECK("br ETag differs", strcmp(hdr("ETag"), plain_etag) != 0);
	encoding_case("app.js", "gzip", "gzip", "GZ");
	encoding_case("app.js", "x-gzip", "gzip", "GZ");
	encoding_case("app.js", "br;q=0, gzip", "gzip", "GZ");
	encoding_case("app.js", "gzip;q=1.0, br;q=0.5", "gzip", "GZ");
	encoding_case("app.js", "br;q=0.5, gzip;q=0.5", "br", "BR");
	encoding_case("app.js", "GZIP ; Q=0.9,br;q=0.8", "gzip", "GZ");
	encoding_case("app.js", "*", "br", "BR");
	encoding_case("app.js", "*, br;q=0", "gzip", "GZ");
	encoding_case("app.js", "*;q=0", "", "console.log(1)");
	encoding_case("app.js", "br;q=0, gzip;q=0.000", "", "console.log(1)");
	encoding_case("app.js", "identity", "", "console.log(1)");
	encoding_case("app.js", "deflate", "", "console.log(1)");
	encoding_case("only.css", "br", "", "p{}");
	T_STREQ("identity with gz sibling has Vary", hdr("Vary"), "Accept-Encoding");
	encoding_case("only.css", "br, gzip", "gzip", "GZ");
	encoding_case("stale.js", "gzip", "", "fresh");
	T_STREQ("stale variant no Vary", hdr("Vary"), "(absent)");
	encoding_case("data.txt", "br, gzip", "", "0123456789");

	q.accept_encoding = "br";
	q.range = "bytes=0-0";
	T_CHECK("range over br variant",
	        run(q) == 206 && strcmp(hdr("Content-Range"), "bytes 0-0/2") == 0);
	T_STREQ("range over br body", body(), "B");
	q.range = NULL;
	q.method = "HEAD";
	T_CHECK("head br length",
	        run(q) == 200 && res.length == 2 && strcmp(hdr("Content-Encoding"), "br") == 0);
}

static void
test_traversal(void)
{
	static char long_name[PATH_MAX + 100], long_path[PATH_MAX + 100];

	memset(long_name, 'a', sizeof long_name - 1);
	for (size_t i = 0; i + 1 < sizeof long_path; i++)
		long_path[i] = i % 2 ? '/' : 'a';
	long_path[sizeof long_path - 2] = 'a';
	refused("dotdot", "../secret.txt", 400);
	refused("inner dotdot", "sub/../../secret.txt", 400);
	refused("dotdot inside", "sub/../data.txt", 400);
	refused("dot segment", "./data.txt", 400);
	refused("trailing dotdot", "sub/..", 400);
	refused("%2e%2e", "%2e%2e/secret.txt", 400);
	refused("%2E%2e", "%2E%2e/secret.txt", 400);
	refused("%2E%2E", "%2E%2E/secret.txt", 400);
	refused(".%2e", ".%2e/secret.txt", 400);
	refused("%2e.", "%2e./secret.txt", 400);
	refused("%2f", "..%2fsecret.txt", 400);
	refused("%2F", "sub%2Ffile.txt", 400);
	refused("%5c", "..%5csecret.txt", 400);
	refused("%5C", "..%5Csecret.txt", 400);
	refused("backslash", "..\\secret.txt", 400);
	refused("backslash inside", "sub\\file.txt", 400);
	refused("doubled slash", "sub//file.txt", 400);
	refused("absolute", "/etc/passwd", 400);
	refused("absolute encoded", "%2fetc%2fpasswd", 400);
	refused("%00", "data.txt%00.png", 400);
	refused("control byte", "data%0a.txt", 400);
	refused("invalid %zz", "%zzdata.txt", 400);
	refused("invalid %2", "data.txt%2", 400);
	refused("invalid %", "data.txt%", 400);
	refused("invalid %g0", "%g0", 400);
	refused("double encoded %252e", "%252e%252e/secret.txt", 404);
	refused("dotfile .env", ".env", 404);
	refused("dotfile encoded %2eenv", "%2eenv", 404);
	refused("dot dir .git", ".git/config", 404);
	refused("nested dotfile", "sub/.hidden", 404);
	refused("directory", "sub", 404);
	refused("directory slash", "sub/", 404);
	refused("root", "", 404);
	refused("long name", long_name, 400);
	refused("long path of segments", long_path, 400);
	refused("symlink out", "out_link", 404);
	T_STREQ("symlink out reason", res.reason, "symlink leaves static/");
	refused("symlink absolute", "abs_link", 404);
	refused("symlink dir out", "dir_out/secret.txt", 404);
	T_CHECK("symlink inside served", run(get("in_link")) == 200);
	T_STREQ("symlink inside body", body(), "0123456789");
	T_CHECK("symlink inside via .. served", run(get("sub/up")) == 200);
}

/* Without openat2 every symlink is refused; plain files still work. */
static void
test_fallback(void)
{
	static_path_use_openat2(false);
	T_CHECK("fallback plain file", run(get("data.txt")) == 200);
	T_CHECK("fallback subdir", run(get("sub/file.txt")) == 200);
	T_STREQ("fallback subdir body", body(), "sub");
	T_CHECK("fallback symlink out 404", run(get("out_link")) == 404);
	T_CHECK("fallback symlink abs 404", run(get("abs_link")) == 404);
	T_CHECK("fallback symlink dir out 404", run(get("dir_out/secret.txt")) == 404);
	T_CHECK("fallback symlink inside refused", run(get("in_link")) == 404);
	T_CHECK("fallback missing 404", run(get("sub/nope")) == 404);
	T_CHECK("fallback fifo 404", run(get("fifo")) == 404);
	T_CHECK("fallback variant",
	        run((struct staticfile_request){.root_fd = root,
	                                        .path = "app.js",
	                                        .method = "GET",
	                                        .accept_encoding = "gzip"}) == 200 &&
	                strcmp(body(), "GZ") == 0);
	static_path_use_openat2(true);
}

/* The files that are the app's: one rule for /static/, cot_file and what
 * `cotdev export` embeds. */
static void
test_app_files(void)
{
	static const struct {
		const char *name;
		bool ignored;
	} names[] = {
	        {"app.css", false},    {".env", true},         {"backup.txt~", true},
	        {"#draft.txt#", true}, {"notes.swp", true},    {".notes.swp", true},
	        {"a~b.txt", false},    {"swp", false},         {"a#b", false},
	        {"app.css.bak", true}, {"app.css.orig", true}, {"x.tmp", true},
	        {".#app.css", true},   {"4913", true},         {"a___jb_tmp___", true},
	        {"bak", false},        {"49130", false},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char label[80];

		snprintf(label, sizeof label, "ignored %s: %s", names[i].name,
		         names[i].ignored ? "yes" : "no");
		T_CHECK(label, apptree_ignored_name(names[i].name, strlen(names[i].name)) ==
		                       names[i].ignored);
	}
	refused("editor backup", "backup.txt~", 404);
	refused("emacs autosave", "%23draft.txt%23", 404);
	refused("vim swap", "notes.swp", 404);
	refused("backup copy", "app.css.bak", 404);

	static const struct {
		const char *rel, *why; /* why NULL: opens */
	} opens[] = {
	        {"data.txt", NULL},
	        {"sub/file.txt", NULL},
	        {"in_link", NULL},
	        {"sub/up", NULL},
	        {"out_link", "symlink leaves static/"},
	        {"abs_link", "symlink leaves static/"},
	        {"dir_out/secret.txt", "symlink leaves static/"},
	        {"../secret.txt", "dot segment in path (traversal)"},
	        {"sub/../data.txt", "dot segment in path (traversal)"},
	        {".env", "dotfiles are not served"},
	        {"backup.txt~", "editor backup and swap files are not served"},
	        {"app.css.bak", "editor backup and swap files are not served"},
	        {"sub", "not a regular file"},
	        {"fifo", "not a regular file"},
	        {"", "no file named"},
	        {"sub//file.txt", "empty path segment"},
	        {"/data.txt", "empty path segment"},
	        {"nope.txt", "no such file"},
	};
	for (size_t i = 0; i < sizeof opens / sizeof opens[0]; i++) {
		const char *why = "(unset)";
		int fd = static_path_open(root, opens[i].rel, &why);
		char label[120];

		snprintf(label, sizeof label, "static_path_open %s: %s", opens[i].rel,
		         opens[i].why ? opens[i].why : "opens");
		if (opens[i].why == NULL)
			T_CHECK(label, fd >= 0 && why == NULL);
		else
			T_CHECK(label, fd < 0 && why != NULL && strcmp(why, opens[i].why) == 0);
		if ((fd >= 0) != (opens[i].why == NULL) ||
		    (fd < 0 && why && opens[i].why && strcmp(why, opens[i].why) != 0))
			printf("# %s: fd %d, why %s\n", opens[i].rel, fd, why ? why : "(null)");
		if (fd >= 0)
			close(fd);
	}
	const char *why;
	int fd = static_path_open(root, "data.txt", &why);
	char buf[16] = "";
	T_CHECK("static_path_open reads the file, blocking",
	        fd >= 0 && read(fd, buf, sizeof buf - 1) == 10 && strcmp(buf, "0123456789") == 0 &&
	                !(fcntl(fd, F_GETFL) & O_NONBLOCK));
	if (fd >= 0)
		close(fd);
}

int
main(void)
{
	setup();
	test_mime();
	test_basic();
	test_conditional();
	test_ranges();
	test_encodings();
	test_traversal();
	test_fallback();
	test_app_files();
	static_result_close(&res);
	close(root);
	nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return T_DONE();
}
