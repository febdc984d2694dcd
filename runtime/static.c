/*
 * static.c -- static files under an app's static/, served at /static/.
 *
 * static_serve() turns one request into a complete decision -- status,
 * headers, and an open fd with the byte range to send -- so the server glue
 * only copies it into a libmicrohttpd response and this file can be tested
 * without a socket. Choices, in the order a request meets them:
 *
 * Paths and opening: static_path.c (which files are the app's, and opening
 * them without ever leaving static/).
 *
 * Validators. The ETag is strong and built from size, mtime in nanoseconds and
 * inode: it costs one fstat, changes whenever the file is rewritten (editors
 * save by rename, which changes the inode, or in place, which changes mtime),
 * and each precompressed sibling, being its own file, gets its own tag as HTTP
 * requires. A content hash would survive copies between hosts but means
 * reading every file or keeping a cache; behind a load balancer different
 * inodes only cost an extra 200. If-None-Match uses weak comparison, takes
 * lists and "*"; If-Modified-Since is consulted only without If-None-Match.
 *
 * Caching. Development sends "no-cache": the browser keeps the file but
 * revalidates every time, so an edit shows on the next reload and unchanged
 * files cost a 304. Production sends "public, max-age=31536000" (a year) but
 * not "immutable": assets are expected to change name (or ?v=) when their
 * content changes, and a user's explicit reload still revalidates.
 *
 * Ranges. One range (a-b, a-, -n) on GET gives 206; a range past the end gives
 * 416 with "bytes * /size". Several ranges get the whole file as 200 (legal,
 * and it spares us multipart/byteranges); a malformed Range is ignored, as
 * RFC 9110 says. If-Range with a stale validator also means the whole file.
 *
 * Precompressed variants. When the client accepts br or gzip (q > 0, explicit
 * or through "*") and name.br / name.gz exists next to the file, is a regular
 * file and is not older than it, the variant is sent with Content-Encoding and
 * the original's Content-Type. The higher q wins; on a tie br. "Vary:
 * Accept-Encoding" is sent whenever a variant exists, also on the identity
 * response, so shared caches do not hand gzip to a client that did not ask.
 * The age check keeps a stale app.js.gz from hiding an edit in development.
 */
#include "static.h"
#include "accept.h"
#include "static_path.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- MIME -- */

static const struct {
	const char *ext;
	const char *type;
} mime_types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"svg", "image/svg+xml; charset=utf-8"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/vnd.microsoft.icon"},
        {"txt", "text/plain; charset=utf-8"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"wasm", "application/wasm"},
        {"pdf", "application/pdf"},
        {"xml", "application/xml; charset=utf-8"},
};

/* The Content-Type for name by its extension (case-insensitive). */
const char *
static_mime(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	const char *dot = strrchr(base, '.');

	if (dot == NULL || dot == base)
		return "application/octet-stream";
	for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
		if (strcasecmp(dot + 1, mime_types[i].ext) == 0)
			return mime_types[i].type;
	return "application/octet-stream";
}

/* ---------------------------------------------------------- HTTP dates -- */

static const char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Format t as an IMF-fixdate; independent of the locale. */
static void
static_http_date_format(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[tm.tm_wday], tm.tm_mday,
	         month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Parse any of the three HTTP-date forms (RFC 9110 5.6.7). */
static bool
static_http_date_parse(const char *s, time_t *out)
{
	char mon[4] = "";
	int d, y, h, mi, sec, n = 0, m;
	struct tm tm = {0};

	if (sscanf(s, "%*[A-Za-z], %2d %3s %4d %2d:%2d:%2d GMT%n", &d, mon, &y, &h, &mi, &sec,
	           &n) == 6 &&
	    n > 0) {
	} else if (n = 0, sscanf(s, "%*[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT%n", &d, mon, &y, &h,
	                         &mi, &sec, &n) == 6 &&
	                          n > 0) {
		y += y < 70 ? 2000 : 1900;
	} else if (n = 0, sscanf(s, "%*[A-Za-z] %3s %2d %2d:%2d:%2d %4d%n", mon, &d, &h, &mi, &sec,
	                         &y, &n) == 6 &&
	                          n > 0) {
	} else {
		return false;
	}
	if (s[n] != '\0')
		return false;
	for (m = 0; m < 12 && strcmp(mon, month_names[m]) != 0; m++)
		;
	if (m == 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
	    sec > 60 || y < 1970)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return *out != (time_t)-1;
}

/* ---------------------------------------------------------- validators -- */

static void
static_etag_format(const struct stat *st, char *buf, size_t cap)
{
	unsigned long long ns = (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL +
	                        (unsigned long long)st->st_mtim.tv_nsec;

	snprintf(buf, cap, "\"%llx-%llx-%llx\"", (unsigned long long)st->st_size, ns,
	         (unsigned long long)st->st_ino);
}

/*
 * Whether the entity-tag list contains etag. weak: weak comparison (W/
 * ignored on both sides) and "*" matches; else strong comparison only.
 * A malformed list matches nothing from the point it goes wrong.
 */
static bool
static_etag_listed(const char *list, const char *etag, bool weak)
{
	size_t elen = strlen(etag);
	const char *p = list, *q;

	for (;;) {
		bool is_weak = false;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return false;
		if (*p == '*')
			return weak;
		if (p[0] == 'W' && p[1] == '/') {
			is_weak = true;
			p += 2;
		}
		if (*p != '"' || (q = strchr(p + 1, '"')) == NULL)
			return false;
		if ((weak || !is_weak) && (size_t)(q + 1 - p) == elen && memcmp(p, etag, elen) == 0)
			return true;
		p = q + 1;
	}
}

/* Whether If-None-Match / If-Modified-Since say the client's copy is good. */
static bool
static_not_modified(const struct staticfile_request *req, const char *etag, const struct stat *st)
{
	time_t since;

	if (req->if_none_match != NULL)
		return static_etag_listed(req->if_none_match, etag, true);
	if (req->if_modified_since != NULL &&
	    static_http_date_parse(req->if_modified_since, &since))
		return st->st_mtim.tv_sec <= since;
	return false;
}

/* Whether If-Range (absent, a strong ETag, or a date) lets Range apply. */
static bool
static_if_range_holds(const char *if_range, const char *etag, const struct stat *st)
{
	time_t t;

	if (if_range == NULL)
		return true;
	if (if_range[0] == '"' || if_range[0] == 'W')
		return static_etag_listed(if_range, etag, false);
	return static_http_date_parse(if_range, &t) && t == st->st_mtim.tv_sec;
}

/* ------------------------------------------------------------ encodings -- */

/* Open rel + suffix if it is a regular file at least as new as *orig. */
static int
static_variant_open(int root, const char *rel, const char *suffix, const struct stat *orig,
                    struct stat *st)
{
	char name[PATH_MAX];
	int fd;

	if ((size_t)snprintf(name, sizeof name, "%s%s", rel, suffix) >= sizeof name)
		return -1;
	if ((fd = static_path_open_beneath(root, name)) < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
	    st->st_mtim.tv_sec < orig->st_mtim.tv_sec ||
	    (st->st_mtim.tv_sec == orig->st_mtim.tv_sec &&
	     st->st_mtim.tv_nsec < orig->st_mtim.tv_nsec)) {
		close(fd);
		return -1;
	}
	return fd;
}

struct variant {
	const char *suffix, *coding;
	int q;
};

/*
 * Look for .br and .gz siblings of rel. If one the client accepts exists,
 * swap it in for *fd / *st and return its coding name; *any tells whether
 * any usable sibling exists (for Vary).
 */
static const char *
static_variant_choose(const struct staticfile_request *req, const char *rel, int *fd,
                      struct stat *st, bool *any)
{
	int qbr = accept_q(req->accept_encoding, "br", NULL);
	int qgz = accept_q(req->accept_encoding, "gzip", "x-gzip");
	struct variant order[2] = {{".br", "br", qbr}, {".gz", "gzip", qgz}};
	const char *chosen = NULL;
	struct stat vst;

	if (qgz > qbr) {
		struct variant tmp = order[0];

		order[0] = order[1];
		order[1] = tmp;
	}
	*any = false;
	for (int i = 0; i < 2; i++) {
		int vfd = static_variant_open(req->root_fd, rel, order[i].suffix, st, &vst);

		if (vfd < 0)
			continue;
		*any = true;
		if (chosen != NULL || order[i].q <= 0) {
			close(vfd);
			continue;
		}
		close(*fd);
		*fd = vfd;
		*st = vst;
		chosen = order[i].coding;
	}
	return chosen;
}

/* --------------------------------------------------------------- ranges -- */

/* Parse decimal digits at *p, saturating; false when there are none. */
static bool
static_digits_parse(const char **p, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		*v = *v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : *v * 10 + (uint64_t)(*s - '0');
	if (s == *p)
		return false;
	*p = s;
	return true;
}

/*
 * Parse a Range value against size. 1: one satisfiable range in *off,*len;
 * -1: unsatisfiable (416); 0: absent, malformed or several ranges (200).
 */
static int
static_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	uint64_t first, last;
	const char *p;
	bool has_last;

	if (h == NULL || strncasecmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 0;
	p = h + 6;
	while (*p == ' ')
		p++;
	if (*p == '-') {
		p++;
		if (!static_digits_parse(&p, &last) || *p != '\0')
			return 0;
		if (last == 0 || size == 0)
			return -1;
		*len = last < size ? last : size;
		*off = size - *len;
		return 1;
	}
	if (!static_digits_parse(&p, &first) || *p++ != '-')
		return 0;
	has_last = static_digits_parse(&p, &last);
	if (*p != '\0' || (has_last && last < first))
		return 0;
	if (first >= size)
		return -1;
	if (!has_last || last >= size)
		last = size - 1;
	*off = first;
	*len = last - first + 1;
	return 1;
}

/* ------------------------------------------------------------ responses -- */

static void
static_header_add(struct staticfile_result *out, const char *name, const char *fmt, ...)
{
	va_list ap;

	assert(out->nheaders < STATICFILE_MAX_HEADERS);
	if (out->nheaders >= STATICFILE_MAX_HEADERS)
		return;
	out->headers[out->nheaders].name = name;
	va_start(ap, fmt);
	vsnprintf(out->headers[out->nheaders].value, STATICFILE_HEADER_LEN, fmt, ap);
	va_end(ap);
	out->nheaders++;
}

const char *
static_header(const struct staticfile_result *res, const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcasecmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	return NULL;
}

void
static_result_close(struct staticfile_result *res)
{
	if (res->fd >= 0)
		close(res->fd);
	res->fd = -1;
}

static void
static_fail(struct staticfile_result *out, int status, const char *reason)
{
	static_result_close(out);
	out->status = status;
	out->reason = reason;
}

/* Open the file for req; on failure fill *out and return -1. */
static int
static_open_request(const struct staticfile_request *req, char *rel, size_t cap, struct stat *st,
                    struct staticfile_result *out)
{
	int status;
	const char *why = static_path_decode(req->path ? req->path : "", rel, cap, &status);

	if (why != NULL) {
		static_fail(out, status, why);
		return -1;
	}
	if ((out->fd = static_path_open_beneath(req->root_fd, rel)) < 0) {
		static_fail(out, 404, static_path_reason(errno));
		return -1;
	}
	if (fstat(out->fd, st) != 0) {
		static_fail(out, 404, "file cannot be read");
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		static_fail(out, 404,
		            S_ISDIR(st->st_mode) ? "directory listing is not served"
		                                 : "not a regular file");
		return -1;
	}
	return 0;
}

/* Set the body to [off, off+len) and the 206 headers when it is a range. */
static void
static_body_set(const struct staticfile_request *req, const struct stat *st, const char *etag,
                struct staticfile_result *out)
{
	uint64_t size = (uint64_t)st->st_size, off = 0, len = size;
	int r = 0;

	if (!out->head && static_if_range_holds(req->if_range, etag, st))
		r = static_range_parse(req->range, size, &off, &len);
	if (r < 0) {
		static_fail(out, 416, "range not satisfiable");
		out->nheaders = 0;
		static_header_add(out, "Content-Range", "bytes */%llu", (unsigned long long)size);
		static_header_add(out, "Accept-Ranges", "bytes");
		return;
	}
	out->status = r ? 206 : 200;
	out->offset = off;
	out->length = len;
	if (r)
		static_header_add(out, "Content-Range", "bytes %llu-%llu/%llu",
		                  (unsigned long long)off, (unsigned long long)(off + len - 1),
		                  (unsigned long long)size);
}

/* Decide the whole response to req. See the comment at the top. */
void
static_serve(const struct staticfile_request *req, struct staticfile_result *out)
{
	char rel[PATH_MAX - 8], etag[64], date[40];
	const char *coding;
	struct stat st;
	bool any_variant;

	memset(out, 0, sizeof *out);
	out->fd = -1;
	if (req->method == NULL ||
	    (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)) {
		static_fail(out, 405, "only GET and HEAD serve static files");
		static_header_add(out, "Allow", "GET, HEAD");
		return;
	}
	out->head = strcmp(req->method, "HEAD") == 0;
	if (static_open_request(req, rel, sizeof rel, &st, out) != 0)
		return;
	coding = static_variant_choose(req, rel, &out->fd, &st, &any_variant);
	static_etag_format(&st, etag, sizeof etag);
	static_http_date_format(st.st_mtim.tv_sec, date, sizeof date);

	static_header_add(out, "Cache-Control", "%s",
	                  req->mode == STATICFILE_PROD ? "public, max-age=31536000" : "no-cache");
	static_header_add(out, "ETag", "%s", etag);
	static_header_add(out, "Last-Modified", "%s", date);
	if (any_variant)
		static_header_add(out, "Vary", "Accept-Encoding");
	if (static_not_modified(req, etag, &st)) {
		static_result_close(out);
		out->status = 304;
		return;
	}
	static_header_add(out, "Content-Type", "%s", static_mime(rel));
	if (coding != NULL)
		static_header_add(out, "Content-Encoding", "%s", coding);
	static_header_add(out, "Accept-Ranges", "bytes");
	static_body_set(req, &st, etag, out);
}
