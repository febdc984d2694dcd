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
 * `cotdev export`, so this header uses only C11 that both accept.
 */
#ifndef COT_H
#define COT_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

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

/* One entry of a module's route table; build it with COT_GET and friends. */
typedef struct cot_route {
	const char *method;  /* "GET", "POST", ... */
	const char *pattern; /* "/notes/:id": literal segments and :params */
	cot_handler handler;
	int line;            /* line of the COT_GET(...) in the handler file */
} cot_route;

/* A module's route table, as COT_ROUTES emits it. */
typedef struct cot_module {
	int abi;             /* COT_ABI of the cot.h the module was built with */
	const char *file;    /* __FILE__ of the module */
	const cot_route *routes;
	int nroutes;
} cot_module;

#define COT_ABI 1

/*
 * The symbol COT_ROUTES defines. The dev server looks it up in each compiled
 * module; `cotdev export` renames it per translation unit with
 * -DCOT_MODULE_SYMBOL=cot_module_N so many modules link into one binary.
 */
#ifndef COT_MODULE_SYMBOL
#define COT_MODULE_SYMBOL cot_module_table
#endif

#define COT_ROUTE(method, pattern, fn) { method, pattern, fn, __LINE__ }
#define COT_GET(pattern, fn) COT_ROUTE("GET", pattern, fn)
#define COT_POST(pattern, fn) COT_ROUTE("POST", pattern, fn)
#define COT_PUT(pattern, fn) COT_ROUTE("PUT", pattern, fn)
#define COT_PATCH(pattern, fn) COT_ROUTE("PATCH", pattern, fn)
#define COT_DELETE(pattern, fn) COT_ROUTE("DELETE", pattern, fn)

/*
 * Declares the module's routes. A trailing comma after the last route is
 * fine. A file without COT_ROUTES is a helper that handlers may #include.
 */
#define COT_ROUTES(...)                                                        \
	static const cot_route cot_routes_[] = { __VA_ARGS__ };                \
	const cot_module COT_MODULE_SYMBOL = {                                 \
		COT_ABI, __FILE__, cot_routes_,                                \
		(int)(sizeof(cot_routes_) / sizeof(cot_routes_[0])) };

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

/* Request header, case-insensitive name; NULL if absent. */
const char *cot_header(cot_ctx *c, const char *name);

/* Request method ("GET") and decoded path ("/notes/7"). */
const char *cot_method(cot_ctx *c);
const char *cot_path(cot_ctx *c);

/* Request body; *len receives its length (may be NULL). NUL-terminated. */
const char *cot_body(cot_ctx *c, size_t *len);

/* The request id (also sent as X-Request-Id). */
const char *cot_request_id(cot_ctx *c);

/* ---- response --------------------------------------------------------- */

/* text/plain; charset=utf-8 body from a printf format. */
cot_result cot_text(cot_ctx *c, int status, const char *fmt, ...);

/* text/html; charset=utf-8 body from a printf format. Nothing is escaped. */
cot_result cot_html(cot_ctx *c, int status, const char *fmt, ...);

/* Body of any type; bytes are copied into the request. */
cot_result cot_send(cot_ctx *c, int status, const char *content_type,
                    const void *body, size_t len);

/* 30x redirect to `location`. */
cot_result cot_redirect(cot_ctx *c, int status, const char *location);

/* Adds a response header (copied). Call before returning a response. */
void cot_set_header(cot_ctx *c, const char *name, const char *value);

/*
 * Fails the request: the error pipeline renders `status` with the formatted
 * message for the client (problem+json, HTML or text, by its Accept header).
 * Records the file and line of the call, so logs point at the decision.
 */
#define cot_fail(c, status, ...)                                               \
	cot_fail_at((c), __FILE__, __LINE__, (status), __VA_ARGS__)
cot_result cot_fail_at(cot_ctx *c, const char *file, int line, int status,
                       const char *fmt, ...);

/* printf into memory that belongs to the request. */
char *cot_sprintf(cot_ctx *c, const char *fmt, ...);

/* Allocates `size` zeroed bytes that belong to the request. */
void *cot_alloc(cot_ctx *c, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* COT_H */
