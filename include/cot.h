/*
 * cot.h -- the only header a handler includes: the whole public API of cot.
 *
 * A handler file is plain C:
 *
 *     #include <cot.h>
 *
 *     static cot_result hello(cot_ctx *c)
 *     {
 *             return cot_text(c, 200, "Hello, %s!\n", cot_param(c, "name"));
 *     }
 *
 *     COT_ROUTES(
 *             COT_GET("/hello/:name", hello),
 *     )
 *
 * Rules that hold for every function below:
 *   - Memory the API hands out (strings, buffers) belongs to the request and is
 *     freed when the response has been sent. Handlers never call free on it.
 *   - A cot_ctx is valid only during the call of the handler it was given to.
 *   - Every handler returns exactly one cot_result, made by one of the
 *     response functions (cot_text, cot_html, cot_fail, ...).
 *
 * The same file compiles with libtcc in `cotdev run` and with gcc in
 * `cotdev export`, so this header uses only C11 that both accept. The
 * machinery its macros expand to lives in cot_impl.h, which it includes.
 *
 * Sections: routes, middleware, request, request bodies (forms, JSON),
 * responses, JSON responses and the JSON writer, templates, errors,
 * database, accounts, background tasks, memory.
 */
#ifndef COT_H
#define COT_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_t; /* jansson's value type (see the JSON section below) */

/* The request context a handler receives. Opaque; use the accessors. */
typedef struct cot_ctx cot_ctx;

/*
 * What a handler returns. Only the response functions make one; the struct
 * keeps `return 0;` from compiling by accident.
 */
typedef struct cot_result {
	int status;
} cot_result;

/* A request handler. */
typedef cot_result (*cot_handler)(cot_ctx *c);

/* Rows of a query (see the database section). */
typedef struct cot_row cot_row;
typedef struct cot_rows cot_rows;

/* A JSON writer (see the JSON responses section). */
typedef struct cot_jw cot_jw;

#include "cot_impl.h"

/* ---- routes ------------------------------------------------------------ */

#define COT_ROUTE(method, pattern, fn)                                                             \
	{                                                                                          \
		method, pattern, fn, __LINE__                                                      \
	}
#define COT_GET(pattern, fn)    COT_ROUTE("GET", pattern, fn)
#define COT_POST(pattern, fn)   COT_ROUTE("POST", pattern, fn)
#define COT_PUT(pattern, fn)    COT_ROUTE("PUT", pattern, fn)
#define COT_PATCH(pattern, fn)  COT_ROUTE("PATCH", pattern, fn)
#define COT_DELETE(pattern, fn) COT_ROUTE("DELETE", pattern, fn)

/*
 * Declares the module's routes. A trailing comma after the last route is
 * fine. A file without COT_ROUTES is a helper that handlers may #include.
 */
#define COT_ROUTES(...)                                                                            \
	static const cot_route cot_routes_[] = {__VA_ARGS__};                                      \
	const cot_module COT_MODULE_SYMBOL = {                                                     \
	        COT_ABI, __FILE__, cot_routes_,                                                    \
	        (int)(sizeof(cot_routes_) / sizeof(cot_routes_[0]))};

/* ---- middleware -------------------------------------------------------- */

/*
 * Declares the C libraries this file calls, by pkg-config name, or -lNAME
 * for a library without a .pc file:  COT_LIBS("libsodium", "zlib", "-lm")
 * Compiles to nothing: `cotdev run`, `check` and `export` read the line
 * (in the file and the headers it #includes with quotes) and add the
 * library's cflags and libs for this file only. A symbol from a library the
 * file does not declare is an error, even where cotdev happens to load it.
 * libc, libm and jansson (cot's JSON) need no declaration.
 */
#define COT_LIBS(...)

/*
 * Runs this file's routes (and the middleware around them) on the handler
 * pool, off the threads that poll connections: say it in a file whose
 * handlers block -- a slow library call, a remote API, a lock held long,
 * sleep() -- so that other clients are not kept waiting behind them. A file
 * that calls cot_password_hash or cot_password_verify goes there without it.
 * One line at file level, like COT_LIBS:   COT_OFFLOAD
 * `--offload all` runs every route there, `--offload none` none.
 */
#define COT_OFFLOAD                                                                                \
	__attribute__((used)) static const int *const cot_offload_ref_ = &cot_offload_marker;

/*
 * Middleware: hooks that run around every handler of the app, declared in
 * any handler file (and reloaded like routes):
 *
 *     static cot_result need_login(cot_ctx *c)
 *     {
 *             if (cot_cookie(c, "session") == NULL)
 *                     return cot_redirect(c, 303, "/login");
 *             return cot_next(c);     // go on to the handler
 *     }
 *     COT_MIDDLEWARE(need_login, NULL)
 *
 * A before hook that responds stops the request; `after` hooks see every
 * response, errors included, and may add headers (return cot_next(c)).
 * Files run in file-name order; after hooks in reverse.
 */

#define COT_MIDDLEWARE(before, after)                                                              \
	const cot_middleware COT_MIDDLEWARE_SYMBOL = {COT_ABI, __FILE__, before, after};

/* What a before hook returns to let the request go on. */
cot_result cot_next(cot_ctx *c);

/* ---- request ---------------------------------------------------------- */

/* Path parameter `:name` of the matched route, percent-decoded; "" if absent. */
const char *cot_param(cot_ctx *c, const char *name);

/*
 * Path parameter as a number. A value that is not a decimal integer makes the
 * request answer 404 (the path names no such resource) once the handler
 * returns, whatever the handler then does; the function returns 0.
 */
long long cot_param_int(cot_ctx *c, const char *name);

/* Query-string parameter, percent-decoded; NULL if absent. */
const char *cot_query(cot_ctx *c, const char *name);

/*
 * Query parameter as a number: `def` when absent or empty. A value that is
 * not a decimal integer, or lies outside [min, max], makes the request answer
 * 400 naming the parameter once the handler returns; the function then
 * returns `def`.   long long page = cot_query_int(c, "page", 1, 1, 1000);
 */
long long cot_query_int(cot_ctx *c, const char *name, long long def, long long min, long long max);

/* Request header, case-insensitive name; NULL if absent. */
const char *cot_header(cot_ctx *c, const char *name);

/* Request method ("GET") and decoded path ("/notes/7"). */
const char *cot_method(cot_ctx *c);
const char *cot_path(cot_ctx *c);

/* Request body; *len receives its length (may be NULL). NUL-terminated. */
const char *cot_body(cot_ctx *c, size_t *len);

/* The request id (also sent as X-Request-Id). */
const char *cot_request_id(cot_ctx *c);

/* Cookie `name` from the request's Cookie header (RFC 6265), without
 * surrounding quotes, not decoded; NULL if absent. Belongs to the request. */
const char *cot_cookie(cot_ctx *c, const char *name);

/* ---- request bodies: forms --------------------------------------------- */

/* An uploaded file of a multipart/form-data body. Everything belongs to the
 * request; `data` is NUL-terminated but may hold NUL bytes: use `len`. */
typedef struct cot_upload {
	const char *name;         /* form field name */
	const char *filename;     /* as the client sent it: never trust it as a path */
	const char *content_type; /* "application/octet-stream" when not given */
	const char *data;
	size_t len;
} cot_upload;

/*
 * Form field of an application/x-www-form-urlencoded or multipart/form-data
 * body, decoded; NULL if absent or a file part. First of repeated names. The
 * string belongs to the request. A malformed body makes the request answer
 * 400 naming the problem once the handler returns (see cot_form_error).
 */
const char *cot_form(cot_ctx *c, const char *name);

/* File part `name` of a multipart body; NULL if absent or if no file was
 * chosen (empty filename and content). Belongs to the request. */
const cot_upload *cot_form_file(cot_ctx *c, const char *name);

/* Why the body gave no form: malformed (the request answers 400) or not a
 * form Content-Type (no forced answer). NULL when the form parsed fine. */
const char *cot_form_error(cot_ctx *c);

/* ---- request bodies: JSON ---------------------------------------------- */

/*
 * A JSON value (jansson). Handlers that build or read values include
 * <jansson.h> AFTER cot.h: under tcc, cot_impl.h routes the __atomic
 * builtins jansson.h's json_incref/json_decref use (tcc 0.9.27 has none)
 * to cot_atomic_add_size/cot_atomic_sub_size, which handlers never call.
 */
typedef struct json_t json_t;

/*
 * The request body parsed as JSON (any value at top level); the value belongs
 * to the request (decref'd when it ends): json_incref what you keep. NULL for
 * an empty or malformed body; the request then answers 400 naming line,
 * column and byte of the error once the handler returns.
 */
json_t *cot_body_json(cot_ctx *c);

/*
 * Typed values from the JSON request body by path: "title", "author.name",
 * "tags[0]", "items[2].qty". A malformed body answers 400 (see
 * cot_body_json). A required value that is missing, or any value of the
 * wrong type, records a field error naming the path ("author.name": "is
 * required" / "must be a string"), so the request answers 422 listing them
 * all unless the handler answers with an error itself; the call then
 * returns "" / 0 / the default. _or variants: missing or null -> `def`.
 */
const char *cot_body_str(cot_ctx *c, const char *path);
const char *cot_body_str_or(cot_ctx *c, const char *path, const char *def);
long long cot_body_int(cot_ctx *c, const char *path);
long long cot_body_int_or(cot_ctx *c, const char *path, long long def);
double cot_body_double(cot_ctx *c, const char *path);
double cot_body_double_or(cot_ctx *c, const char *path, double def);
int cot_body_bool(cot_ctx *c, const char *path);
int cot_body_bool_or(cot_ctx *c, const char *path, int def);

/* Whether `path` is present and not null. */
int cot_body_has(cot_ctx *c, const char *path);

/* Elements of the array at `path`: 0 when missing or null; a value that is
 * not an array records "must be an array". */
int cot_body_count(cot_ctx *c, const char *path);

/* ---- responses -------------------------------------------------------- */

/* text/plain; charset=utf-8 body from a printf format. */
cot_result cot_text(cot_ctx *c, int status, const char *fmt, ...);

/* text/html; charset=utf-8 body from a printf format. Nothing is escaped. */
cot_result cot_html(cot_ctx *c, int status, const char *fmt, ...);

/* Body of any type; bytes are copied into the request. */
cot_result cot_send(cot_ctx *c, int status, const char *content_type, const void *body, size_t len);

/*
 * The file at `path` as the body, streamed from disk. A path under static/
 * is the app's static file, in development and in an exported binary alike
 * (which serves its embedded copy), by the rules /static/ serves by: no
 * "..", no symlink out of static/, no dotfiles or editor backups (404); any
 * other relative path is relative to the app directory in development and,
 * like --db, to the directory an exported binary runs in;
 * `content_type` NULL guesses it from the extension. A missing file answers 404.
 */
cot_result cot_file(cot_ctx *c, int status, const char *path, const char *content_type);

/* 204 No Content: no body, no Content-Type. */
cot_result cot_no_content(cot_ctx *c);

/* 30x redirect to `location`. A location with CR, LF or another control
 * byte is a bug: the request answers 500 naming this call's file:line. */
cot_result cot_redirect(cot_ctx *c, int status, const char *location);
#define cot_redirect(c, status, location)                                                          \
	cot_redirect_at((c), __FILE__, __LINE__, (status), (location))
cot_result cot_redirect_at(cot_ctx *c, const char *file, int line, int status,
                           const char *location);

/*
 * Adds a response header (copied); an after hook may call it too.
 * Content-Type replaces the type the response function chose (there is
 * never a second one); an error rendered later picks its own again. A name
 * that is not a token or a value with CR, LF or another control byte adds
 * nothing and makes the request answer 500 naming this call's file:line.
 */
void cot_set_header(cot_ctx *c, const char *name, const char *value);
#define cot_set_header(c, name, value) cot_set_header_at((c), __FILE__, __LINE__, (name), (value))
void cot_set_header_at(cot_ctx *c, const char *file, int line, const char *name, const char *value);

enum { COT_SAMESITE_LAX = 0, COT_SAMESITE_STRICT = 1, COT_SAMESITE_NONE = 2 };

/* Attributes of cot_set_cookie; a zeroed struct (or NULL) means Path=/,
 * SameSite=Lax, a session cookie, neither HttpOnly nor Secure. */
typedef struct cot_cookie_opts {
	const char *path;   /* NULL: "/" */
	const char *domain; /* NULL: host-only */
	long long max_age;  /* seconds; 0: session cookie; < 0: delete (Max-Age=0) */
	int http_only;      /* not readable by page scripts */
	int secure;         /* HTTPS only; SameSite=None requires it */
	int same_site;      /* COT_SAMESITE_LAX (default), _STRICT or _NONE */
} cot_cookie_opts;

/*
 * Adds a Set-Cookie header. The name must be an RFC 6265 token and the value
 * cookie-octets (no space, quote, comma, semicolon or backslash: encode
 * them). Invalid input emits nothing, returns -1 and makes the request answer
 * 500 naming the problem once the handler returns; 0 on success.
 */
int cot_set_cookie(cot_ctx *c, const char *name, const char *value, const cot_cookie_opts *opts);

/* ---- JSON responses ---------------------------------------------------- */

/* application/json body built by json_pack-style `fmt` ("{s:s, s:i}", ...).
 * A bad format or argument answers 500 naming the problem instead. */
cot_result cot_json(cot_ctx *c, int status, const char *fmt, ...);

/* application/json body from a value; steals the reference (NULL: 500). */
cot_result cot_json_value(cot_ctx *c, int status, json_t *value);

/*
 * Nested JSON written straight into the request's memory (no tree, nothing
 * to free), checked by the compiler:
 *     cot_jw *j = cot_jw_new(c);
 *     cot_jw_obj(j);
 *     cot_jw_put(j, "id", id);                 // long long -> 42
 *     cot_jw_put(j, "title", title);           // char * -> "..." (NULL -> null)
 *     cot_jw_put(j, "done", cot_jbool(n > 0)); // bool (a _Bool variable works too)
 *     cot_jw_put(j, "author", author_row);     // cot_row * -> {...}
 *     cot_jw_put_arr(j, "tags");
 *     for (...) cot_jw_val(j, tag);
 *     cot_jw_end(j);                           // ]
 *     cot_jw_end(j);                           // }
 *     return cot_jw_send(c, 200, j);
 * Values: integers, double/float, char * (escaped; must be UTF-8), _Bool,
 * cot_row * (an object of its columns, or null), cot_rows * (an array), and
 * cot_jbool(x), cot_jnull(), cot_jraw(json_text). Any other C type is a
 * compile error. Rows keep SQL types: NULL -> null, INTEGER, REAL, TEXT, and
 * BLOB as base64. Misuse (a value without a key in an object, a missing
 * cot_jw_end, text that is not UTF-8, NaN) makes cot_jw_send answer 500
 * naming it and the path ("at $.notes[2].title: ...").
 */

/* true/false from an integer: cot_jbool(count > 0). */
static inline cot_jv
cot_jbool(long long x)
{
	cot_jv v;
	v.type = COT_JV_BOOL;
	v.u.i = x != 0;
	return v;
}

/* null. */
static inline cot_jv
cot_jnull(void)
{
	cot_jv v;
	v.type = COT_JV_NULL;
	v.u.i = 0;
	return v;
}
/* JSON text embedded as it is (checked to be one JSON value at send). */
static inline cot_jv
cot_jraw(const char *json)
{
	cot_jv v;
	v.type = COT_JV_RAW;
	v.u.s = json;
	return v;
}

/* A new, empty writer; it belongs to the request. */
cot_jw *cot_jw_new(cot_ctx *c);

/* Opens an object / array (at top level, in an array, or after a key);
 * cot_jw_end closes the innermost one. */
void cot_jw_obj(cot_jw *j);
void cot_jw_arr(cot_jw *j);
void cot_jw_end(cot_jw *j);

/* The key of the next value in an object (copied as it is written). */
void cot_jw_key(cot_jw *j, const char *key);

/* A value: in an array, at top level, or after cot_jw_key. */
#define cot_jw_val(j, v) cot_jw_value((j), COT_JV_(v))
/* A member of the open object: key and value. */
#define cot_jw_put(j, key, v) cot_jw_put_value((j), (key), COT_JV_(v))
void cot_jw_value(cot_jw *j, cot_jv v);
void cot_jw_put_value(cot_jw *j, const char *key, cot_jv v);

/* A member holding an object / array that the next calls fill (end it). */
void cot_jw_put_obj(cot_jw *j, const char *key);
void cot_jw_put_arr(cot_jw *j, const char *key);

/* The row's columns as members of the open object, so more members (a
 * nested list, say) can follow:  cot_jw_obj(j); cot_jw_fields(j, note);
 * cot_jw_put(j, "comments", comments); cot_jw_end(j); */
void cot_jw_fields(cot_jw *j, cot_row *r);

/* Marks columns (NULL-terminated names) for the rows this writer writes
 * afterwards: cot_jw_bools -> true/false (from 0/1; NULL stays null);
 * cot_jw_raws -> the column's text is JSON (e.g. SQLite's json_group_array),
 * embedded as a nested value. */
void cot_jw_bools(cot_jw *j, const char *col, ...);
void cot_jw_raws(cot_jw *j, const char *col, ...);

/* The JSON text (NUL-terminated, the request's), or NULL when the writer
 * is unfinished or was misused; cot_jw_error then says why. */
const char *cot_jw_text(cot_jw *j);
const char *cot_jw_error(cot_jw *j);

/* application/json response of the writer's text (one call, no copy). */
cot_result cot_jw_send(cot_ctx *c, int status, cot_jw *j);

/* ---- templates -------------------------------------------------------- */

/*
 * cot_render(c, status, "note.html", data) renders templates/note.html
 * (mustache, HTML-escaped by default) wrapped in templates/layout.html when
 * it exists. `data` is a cot_row * (its columns are the names), a cot_rows *
 * ({{#rows}}...{{/rows}} and {{count}}), a cot_jw * (a finished JSON writer)
 * or a json_t * (borrowed; NULL for none). A template error answers 500 naming
 * templates/x.html:LINE.
 */

cot_result cot_render_json(cot_ctx *c, int status, const char *name, struct json_t *data);

cot_result cot_render_row(cot_ctx *c, int status, const char *name, cot_row *row);
cot_result cot_render_rows(cot_ctx *c, int status, const char *name, cot_rows *rows);
cot_result cot_render_jw(cot_ctx *c, int status, const char *name, cot_jw *j);
#define cot_render(c, status, name, data)                                                          \
	_Generic((data), cot_row *                                                                 \
	         : cot_render_row, cot_rows *                                                      \
	         : cot_render_rows, cot_jw *                                                       \
	         : cot_render_jw, default                                                          \
	         : cot_render_json)((c), (status), (name), (data))

/* ---- errors ------------------------------------------------------------ */

/*
 * Fails the request: the error pipeline renders `status` with the formatted
 * message for the client (problem+json, HTML or text, by its Accept header).
 * Records the file and line of the call, so logs point at the decision.
 */
#define cot_fail(c, status, ...) cot_fail_at((c), __FILE__, __LINE__, (status), __VA_ARGS__)
cot_result cot_fail_at(cot_ctx *c, const char *file, int line, int status, const char *fmt, ...);

/* cot_fail with a va_list, for the app's own helpers that take a format:
 *     static cot_result deny(cot_ctx *c, const char *fmt, ...)
 *     { va_list ap; va_start(ap, fmt);
 *       cot_result r = cot_vfail(c, 403, fmt, ap); va_end(ap); return r; }
 * The file and line recorded are those of the cot_vfail call. */
#define cot_vfail(c, status, fmt, ap) cot_vfail_at((c), __FILE__, __LINE__, (status), (fmt), (ap))
cot_result cot_vfail_at(cot_ctx *c, const char *file, int line, int status, const char *fmt,
                        va_list ap);

/*
 * 422 for invalid input: "field", "message" pairs ending with NULL (a field
 * may come more than once), added to those cot_field_error and the body
 * readers recorded; cot_fail_fields(c, NULL) sends just those. JSON clients
 * get problem+json with "errors": {"title": ["is required"], ...}, others
 * the error page listing them; the app's COT_ERRORS hook sees them as fields.
 *     return cot_fail_fields(c, "title", "is required", "title", "is too short", NULL);
 */
cot_result cot_fail_fields(cot_ctx *c, const char *field, ...);

/* One message about one input field; a field may have several. */
typedef struct cot_field {
	const char *field;   /* "title", "author.name", "tags[2]" */
	const char *message; /* "is required" */
} cot_field;

/*
 * An error response, as after hooks see it. Every error passes here: cot's
 * own (400 malformed body or path, 404 no route or bad :param, 405, 409/422
 * from the database, 413, 414, 431, 500 crash or compile error, 503 stuck)
 * and the app's cot_fail / cot_fail_fields. `code` names the kind:
 *   malformed_body, malformed_path, bad_query, no_route, bad_parameter,
 *   method_not_allowed, too_large, uri_too_long, headers_too_large,
 *   unique_violation (409), constraint_violation (422), database_busy (503),
 *   database_error (500), crash, timeout (503), compile_error, no_response,
 *   api_misuse (500); and by status for the rest: bad_request, unauthorized,
 *   forbidden, not_found, conflict, invalid (422), too_many_requests,
 *   internal (500), unavailable (503), error.
 * Everything belongs to the request.
 */
typedef struct cot_error {
	int status;
	const char *code;
	const char *message;     /* the detail; NULL for a crash in production */
	const cot_field *fields; /* 400/422 only: cot_fail_fields and body reads */
	int nfields;
	const char *request_id;
	const char *trace; /* development only; NULL in an export */
} cot_error;

/*
 * The error the response now is, for an after hook; NULL when it is not an
 * error (or a later response with a status below 400 replaced it). A hook
 * that returns a response (cot_json, cot_render, ...) replaces cot's body;
 * cot_next keeps it.
 */
const cot_error *cot_response_error(cot_ctx *c);

/*
 * Declares the app's error renderer: fn(c, e) runs for every error response
 * (an after hook; give it a file of its own, e.g. handlers/errors.c, since
 * a file declares one COT_MIDDLEWARE). Return a response to replace cot's
 * problem+json / HTML / text body, or cot_next(c) to keep it:
 *     static cot_result shape(cot_ctx *c, const cot_error *e)
 *     {
 *             return cot_json(c, e->status, "{s:s, s:s?}", "error", e->code,
 *                             "message", e->message);
 *     }
 *     COT_ERRORS(shape)
 */
#define COT_ERRORS(fn)                                                                             \
	static cot_result cot_errors_hook_(cot_ctx *c)                                             \
	{                                                                                          \
		const cot_error *e_ = cot_response_error(c);                                       \
		return e_ != NULL ? fn(c, e_) : cot_next(c);                                       \
	}                                                                                          \
	COT_MIDDLEWARE(NULL, cot_errors_hook_)

/*
 * Records one message about an input field (printf format). Once any is
 * recorded, the request answers 422 listing them all when the handler
 * returns, unless the handler answers with an error status itself.
 * cot_field_errors says how many there are so far.
 */
void cot_field_error(cot_ctx *c, const char *field, const char *fmt, ...);
int cot_field_errors(cot_ctx *c);

/* ---- database -------------------------------------------------------- */

/*
 * SQLite, one connection per worker thread, statements cached per SQL text.
 * Parameters are `?` in the SQL and typed C values after it, at most 16:
 *     cot_db_one(c, "SELECT * FROM notes WHERE id = ?", id)
 * `?1`, `?2`... number them (the Nth value after the SQL), so one value can
 * be used twice; the call then passes as many values as the highest number:
 *     cot_db_all(c, "SELECT * FROM notes WHERE title LIKE ?1 OR body LIKE ?1", pat)
 * Each value is wrapped by type (_Generic): integers, double/float, char *
 * (NULL binds SQL NULL), cot_null(), cot_blob(p, n). Any other type (a
 * struct, an int *, a char) is a compile error. A failed statement fails
 * the request (500 with SQLite's message; 409 for UNIQUE/PRIMARY KEY, 422
 * for NOT NULL/CHECK/FOREIGN KEY, 503 when busy) and later db calls of the
 * request do nothing. Rows and strings belong to the request.
 */

/* SQL NULL as a parameter. */
static inline cot_value
cot_null(void)
{
	cot_value v;
	v.type = COT_VALUE_NULL;
	v.u.i = 0;
	return v;
}

/* A BLOB parameter: n bytes at p (bound as a copy). */
static inline cot_value
cot_blob(const void *p, size_t n)
{
	cot_value v;
	v.type = COT_VALUE_BLOB;
	v.u.b.p = p;
	v.u.b.n = n;
	return v;
}

/* The first row of the result, or NULL when there is none (or on error). */
#define cot_db_one(c, ...) cot_db_one_at((c), __FILE__, __LINE__, COT_DB_ARGS_(__VA_ARGS__))
cot_row *cot_db_one_at(cot_ctx *c, const char *file, int line, const char *sql, int n,
                       const cot_value *params);

/* Every row of the result; never NULL (empty on error). */
#define cot_db_all(c, ...) cot_db_all_at((c), __FILE__, __LINE__, COT_DB_ARGS_(__VA_ARGS__))
cot_rows *cot_db_all_at(cot_ctx *c, const char *file, int line, const char *sql, int n,
                        const cot_value *params);

/* Runs a statement to completion; returns the rows changed, -1 on error. */
#define cot_db_exec(c, ...) cot_db_exec_at((c), __FILE__, __LINE__, COT_DB_ARGS_(__VA_ARGS__))
long long cot_db_exec_at(cot_ctx *c, const char *file, int line, const char *sql, int n,
                         const cot_value *params);

/* rowid of the last INSERT on this request's connection; rows changed by
 * the last statement. */
long long cot_db_last_id(cot_ctx *c);
long long cot_db_changes(cot_ctx *c);

/* Transactions (BEGIN IMMEDIATE). A failed statement inside one rolls it
 * back; one still open when the request ends is rolled back. Return 0 or -1. */
int cot_db_begin(cot_ctx *c);
int cot_db_commit(cot_ctx *c);
int cot_db_rollback(cot_ctx *c);

/*
 * True once a db call of this request failed. The request answers with the
 * failure (the statuses above), whatever the handler returns, with one
 * exception: after a constraint failure (409, 422) a response with an
 * error status the handler makes itself decides, e.g.
 *     if (cot_db_exec(c, "INSERT INTO users (email) VALUES (?)", email) < 0)
 *             return cot_fail_fields(c, "email", "is taken", NULL);
 */
int cot_db_failed(cot_ctx *c);

/*
 * Takes the request's db failure over: returns it (NULL if none) and clears
 * it, so later db calls run again and the handler's response -- any status --
 * is what the client gets. The error belongs to the request.
 */
const cot_error *cot_db_catch(cot_ctx *c);

/* Column `col` of a row. SQL NULL reads as "" / 0 -- tell NULL from an empty
 * or zero value with cot_row_is_null (true for NULL, and for a NULL row). An
 * unknown column name or text that is not a number fails the request (500).
 * NULL row: "" / 0. */
const char *cot_row_text(cot_row *r, const char *col);
long long cot_row_int(cot_row *r, const char *col);
double cot_row_double(cot_row *r, const char *col);
int cot_row_is_null(cot_row *r, const char *col);
const void *cot_row_blob(cot_row *r, const char *col, size_t *len);

/* Row access: count (0 for NULL) and row i (NULL when out of range). */
int cot_rows_count(cot_rows *rs);
cot_row *cot_rows_get(cot_rows *rs, int i);

/* JSON text of a row ({"col": value, ...}; BLOB as base64) or of rows
 * ([{...}, ...]); the string belongs to the request. */
const char *cot_row_json(cot_row *r);
const char *cot_rows_json(cot_rows *rs);

/* application/json responses of a row or rows. A NULL row answers 404. */
cot_result cot_db_json_row(cot_ctx *c, int status, cot_row *r);
cot_result cot_db_json_rows(cot_ctx *c, int status, cot_rows *rs);

/* ---- accounts: sessions, CSRF, passwords, tokens, rate limits ---------- */

/*
 * Per-request state: middleware stores a value, handlers read it.
 *     cot_set(c, "user", cot_db_one(c, "SELECT ... WHERE id = ?", id));
 *     cot_row *user = cot_get(c, "user");
 * The value must belong to the request already (a row, a cot_sprintf or
 * cot_alloc result); nothing is copied or freed. cot_get: NULL if unset.
 */
void cot_set(cot_ctx *c, const char *key, void *value);
void *cot_get(cot_ctx *c, const char *key);

/*
 * The session: string values in an encrypted, authenticated cookie
 * (cot_session; HttpOnly, SameSite=Lax, Secure behind https or with
 * --secure-cookies; 14 days from its last change). Tampered, expired or
 * foreign cookies read as no session. Strings returned belong to the request.
 * cot_session_get: NULL if unset. cot_session_set: value NULL removes the
 * key; 0, or -1 (no app secret: the request answers 500).
 */
const char *cot_session_get(cot_ctx *c, const char *key);
int cot_session_set(cot_ctx *c, const char *key, const char *value);
/* Ends the session: the cookie is deleted (log-out). */
void cot_session_clear(cot_ctx *c);
/* New session id and CSRF token, values kept. Call it on log-in, before
 * storing the user: a session planted before log-in never gains the user. */
int cot_session_regenerate(cot_ctx *c);
/* The session's random id; NULL when the request has no session. */
const char *cot_session_id(cot_ctx *c);
/* Lifetime of the session cookie from now, in seconds (default 14 days). */
void cot_session_max_age(cot_ctx *c, long long seconds);

/*
 * CSRF: unsafe requests from browsers must carry the session's token
 * (templates: {{{csrf_field}}} inside each <form>, or {{csrf_token}}); see
 * README "Accounts" for the whole rule. The token, for scripts that send
 * it as X-CSRF-Token; creates the session. NULL without an app secret.
 */
const char *cot_csrf_token(cot_ctx *c);

/*
 * Passwords: argon2id (libsodium crypto_pwhash_str, ~50-100 ms, 19 MiB).
 * cot_password_hash: the string to store (belongs to the request; NULL on
 * failure). cot_password_verify: 1 if the password matches `hash`; a NULL
 * hash (no such user) costs the same time and returns 0.
 * cot_password_needs_rehash: 1 when `hash` uses other parameters: after a
 * successful verify, store cot_password_hash of the password again.
 */
const char *cot_password_hash(cot_ctx *c, const char *password);
int cot_password_verify(const char *hash, const char *password);
int cot_password_needs_rehash(const char *hash);

/*
 * The token of "Authorization: Bearer TOKEN" or "Authorization: Token
 * TOKEN" (also Token token="TOKEN"); NULL if none. Belongs to the request.
 * Requests that carry one are exempt from CSRF and see no cookie session.
 */
const char *cot_bearer(cot_ctx *c);

/*
 * JWT (RFC 7519), HS256 with a key derived from the app secret.
 * cot_jwt_sign: `claims` (borrowed; NULL: none) plus "iat" and, when
 * ttl_seconds > 0, "exp"; the token belongs to the request.
 * cot_jwt_verify: the claims (belong to the request: do not decref), or
 * NULL with the reason in *why (may be NULL): not HS256 ("alg": "none"
 * included), bad signature, expired (60 s of clock skew allowed), nbf.
 */
const char *cot_jwt_sign(cot_ctx *c, struct json_t *claims, long long ttl_seconds);
struct json_t *cot_jwt_verify(cot_ctx *c, const char *token, const char **why);

/*
 * Rate limit: a token bucket of `limit` requests per `per_seconds` for
 * (scope, key); key NULL: the client's IP. Returns 0 when allowed, else
 * the seconds until the next request is (Retry-After is set): answer
 *     return cot_fail(c, 429, "too many attempts: try again in %d s", wait);
 * Buckets are per process.
 */
int cot_rate_limit(cot_ctx *c, const char *scope, const char *key, int limit, int per_seconds);

/* The client's IP address (the connection's peer), as text. */
const char *cot_client_ip(cot_ctx *c);

/* ---- background tasks ------------------------------------------------ */

/* Work handed off by a handler; `c` is a child context (see cot_spawn). */
typedef void (*cot_task_fn)(cot_ctx *c, void *arg);

/*
 * Runs fn(child, arg) after this request's response, on a worker pool. The
 * child context keeps the request's method, path, parameters and id; a crash
 * or cot_fail in the task logs a trace ending "spawned by FILE:LINE during
 * METHOD PATH (request ID)". `arg` must outlive the request. A task keeps its
 * module's code alive across reloads until it returns.
 */
#define cot_spawn(c, fn, arg) cot_spawn_at((c), __FILE__, __LINE__, (fn), (arg))
void cot_spawn_at(cot_ctx *c, const char *file, int line, cot_task_fn fn, void *arg);

/* ---- memory: allocation helpers ---------------------------------------- */

/* printf into memory that belongs to the request. */
char *cot_sprintf(cot_ctx *c, const char *fmt, ...);

/* cot_sprintf with a va_list (consumed, as by vprintf). */
char *cot_vsprintf(cot_ctx *c, const char *fmt, va_list ap);

/* Allocates `size` zeroed bytes that belong to the request. */
void *cot_alloc(cot_ctx *c, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* COT_H */
