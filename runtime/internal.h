/*
 * internal.h -- what the runtime files share with each other and with the dev
 * server. Handlers never see this header; they see only cot.h.
 */
#ifndef COT_INTERNAL_H
#define COT_INTERNAL_H

#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../include/cot.h"
#include "arena.h"
#include "monotonic.h"

struct MHD_Connection;
struct MHD_Response;

/* ==== code ownership and reclamation (router.c) ======================== */

/*
 * The owner of handler code (a dev-server module). Requests hold a reference
 * while they run its code; `retired` is set once no slot points at it any
 * more. The code is freed when both hold: retired and refs == 0.
 */
typedef struct code_owner {
	atomic_long refs;
	atomic_bool retired;
} code_owner;

/*
 * What a route slot points at: one generation of one route. Immutable once
 * published. A binding with `error` set answers with that error instead of
 * calling code (its file failed to compile).
 */
typedef struct binding {
	cot_handler fn;
	code_owner *owner; /* NULL: code that is never unloaded (export) */
	const char *file;  /* "handlers/notes.c" */
	int line;          /* line of the route in the file */
	const char *error; /* non-NULL: compile error text, fn is NULL */
	void *debug;       /* line table of the code (dev: tcclines), or NULL */
	bool offload;      /* runs on the handler pool (--offload auto): its file
	                    * hashes passwords or says COT_OFFLOAD (server.c) */
} binding;

/* Called when a retired owner's last reference goes (any thread). */
extern void (*router_owner_idle_hook)(code_owner *o);

/* ==== router (router.c) ================================================ */

#define ROUTER_MAX_SLOTS  4096
#define ROUTER_MAX_PARAMS 16
#define ROUTER_MAX_SEGS   64

typedef struct route_slot route_slot;

typedef struct route_match {
	route_slot *slot;
	binding *b; /* reference held; router_release it */
	int nparams;
	const char *names[ROUTER_MAX_PARAMS];
	const char *values[ROUTER_MAX_PARAMS];
	char allow[64]; /* for 405: methods the path allows */
} route_match;

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };

int router_slot(const char *method, const char *pattern, char *err, size_t errlen);
void router_bind(int slot, binding *b);
binding *router_binding(int slot);
const char *router_slot_method(int slot);
const char *router_slot_pattern(int slot);
int router_count(void);
int router_pattern_valid(const char *pattern, char *err, size_t errlen);
enum router_result router_lookup(const char *method, char **segs, int nsegs, route_match *m);
binding *router_acquire(_Atomic(binding *) *slot);
void router_release(binding *b);
bool router_quiet(code_owner *o);
int router_split_path(arena *a, const char *raw, char **segs, int max);
size_t router_percent_decode(char *s, bool plus_is_space);
void router_reset(void);

/* ==== request context (ctx.c) ========================================== */

typedef struct header_kv {
	const char *name, *value;
	struct header_kv *next;
} header_kv;

/* What ctx_on_free keeps: one cleanup of the request (arena). */
typedef struct ctx_cleanup {
	void (*fn)(cot_ctx *c);
	struct ctx_cleanup *next;
} ctx_cleanup;

struct cot_ctx {
	arena mem;
	struct MHD_Connection *conn;
	const char *method;
	const char *path; /* decoded */
	const char *raw_url;
	char request_id[33];
	route_match match;
	char *body; /* NUL-terminated; memory or a mapped spool (body.c) */
	size_t body_len;
	size_t body_cap; /* bytes malloc'd and reserved; 0: none */
	int body_fd;     /* the spool file, when body_spooled */
	bool body_spooled, body_mapped;
	const char *body_error; /* the body could not be stored: why */
	/* response */
	int status;
	const char *content_type;
	bool content_type_fixed; /* set by cot_set_header: responses keep it */
	const char *resp_body;
	size_t resp_len;
	header_kv *resp_headers;
	int resp_fd; /* > 0: send this file range instead of resp_body */
	uint64_t resp_fd_off, resp_fd_len;
	bool responded;
	bool param_invalid; /* cot_param_int saw a non-number */
	bool too_large;     /* body went over the limit */
	bool abandoned;     /* the watchdog answered 503; send nothing */
	bool pooled;        /* runs on the handler pool, connection suspended */
	bool after_done;    /* the after-steps ran (on the pool thread) */
	/* a pooled call the watchdog abandoned (server.c): the connection is
	 * answered with a new context; this one belongs to whichever of the
	 * polling thread and the stuck pool thread lets go of it last */
	atomic_bool pool_abandoned;
	atomic_int pool_refs;
	int pool_budget_ms;
	/* failure, when the handler called cot_fail */
	const char *fail_file;
	int fail_line;
	const char *fail_detail;
	double start_ms;
	/* background tasks (task.c) */
	struct task *tasks;      /* spawned, waiting for the response */
	const char *spawn_trail; /* tasks: "spawned by ..." lines, innermost first */
	/* ---- request/response API (form.c, json.c, cookie.c) ---- */
	struct form_data *form;      /* parsed body once cot_form ran (arena) */
	json_t *body_json;           /* cot_body_json's value; json_request_end drops it */
	const char *body_json_error; /* why the body is not JSON; NULL: not tried or fine */
	int reject_status;           /* non-0: answer this status instead (400 bad body, */
	const char *reject_detail;   /*   500 API misuse) with this detail; see ctx_reject */
	const char *reject_trace;    /* and this trace (NULL: none): where it happened */
	header_kv *req_headers;      /* tests only: request headers when conn is NULL */
	ctx_cleanup *cleanups;       /* run by ctx_free, newest first (ctx_on_free) */
	/* ---- database (db.c) ---- */
	bool db_failed;       /* a db call failed: later ones do nothing */
	const char *db_trace; /* "handlers/x.c:12 cot_db_one: SQL" of the failure */
	/* ---- errors (error.c, fields.c) ---- */
	const char *reject_code; /* cot_error code of reject_status (NULL: by status) */
	bool reject_db;          /* the reject is a db failure (db.c: see db_fail) */
	unsigned resp_seq;       /* counts responses made (response_set, error_respond) */
	unsigned db_fail_seq;    /* resp_seq right after the db failure was rendered */
	cot_error db_err;        /* that failure, for cot_db_catch */
	cot_error err;           /* the last error rendered (err.status 0: none) */
	unsigned err_seq;        /* resp_seq when err was rendered */
	cot_field *fields;       /* field errors so far (arena), in order */
	int nfields, capfields;
	bool db_replay; /* dev replay: every write is rolled back (db.c) */
	/* ---- dev console (devserver/console*.c) ---- */
	const char *error_trace; /* the trace error_respond last got, or NULL */
	/* ---- accounts: session, vars, JWT claims (auth.h) ---- */
	struct auth_request *auth; /* NULL until used (arena) */
	/* ---- development: live reload (render.c, livereload.c) ---- */
	const char *rendered; /* templates read, "templates/a.html templates/layout.html" */
	bool live_fetch;      /* a live-reload refetch: not a user request, not logged */
};

void ctx_init(cot_ctx *c);
/* Ends the request: runs its cleanups (ctx_on_free), releases the route's
 * code and the body, frees the arena. */
void ctx_free(cot_ctx *c);

/*
 * Registers fn to run when c ends (ctx_free), on the thread that frees it,
 * before the arena goes: the file that hangs state on a request (a
 * transaction, a parsed body, tasks) registers its cleanup when it attaches
 * the state, so ctx.c never calls request-level files. Registering the same
 * fn again does nothing; cleanups run newest first.
 */
void ctx_on_free(cot_ctx *c, void (*fn)(cot_ctx *c));

/*
 * Records that the request must answer `status` with `detail` (an arena or
 * static string) once the handler returns: the API records problems instead
 * of answering at once, because a handler still returns its own response
 * afterwards; server.c then answers error_respond(c, reject_status,
 * reject_detail, ...) instead. The first call wins. 400 is the client's
 * fault (code "malformed_body"), anything else a misuse of the API
 * ("api_misuse"); set reject_code after it for a more precise code.
 */
void ctx_reject(cot_ctx *c, int status, const char *detail);

/* ==== errors (error.c) ================================================= */

/* Development: traces and details go to clients (server.c sets it). */
extern bool error_dev_mode;

/*
 * The one place every failure becomes a response: sets c's response to
 * `status` rendered for what the client accepts. `detail` and `trace` may be
 * NULL; `trace` is shown only in development.
 */
void error_respond(cot_ctx *c, int status, const char *detail, const char *trace);
/* error_respond with the cot_error code after hooks see (NULL: by status,
 * "not_found" for 404...); see cot.h for the codes. */
void error_respond_as(cot_ctx *c, int status, const char *code, const char *detail,
                      const char *trace);
/* The code a status gets when no more precise one is given. */
const char *error_code_for(int status);
/* The app's own page for a status (templates/errors/404.html), or NULL. */
extern char *(*error_page_hook)(cot_ctx *c, int status, const char *detail);
const char *error_title(int status);

/* ==== crashes and traces (crash.c, trace.c) ============================ */

#define CRASH_MAX_PCS 64

/* What the signal handler saw; filled in signal context, read after. */
typedef struct crash_report {
	int sig, code;
	uintptr_t addr;        /* si_addr */
	uintptr_t sp;          /* stack pointer at the fault */
	bool stuck;            /* stopped by the watchdog */
	bool abandoned;        /* the watchdog answered 503 and gave up on it */
	const char *exit_call; /* "exit", "_exit"...: handler code called it */
	int exit_status;
	int npcs;
	uintptr_t pcs[CRASH_MAX_PCS]; /* faulting pc, then return addresses */
} crash_report;

/* Production: after a crash is answered, stop the process (SIGTERM to self). */
extern bool crash_exit_on_crash;
extern atomic_bool crash_exit_requested;

int crash_init(int budget_ms);
/* Called by the watchdog (its thread) when it abandons a call stuck outside
 * its own code: answer c with 503 and replace worker thread tid. c's
 * thread is still inside the call and does not touch c's response meanwhile. */
extern void (*crash_abandon_hook)(cot_ctx *c, const binding *b, pid_t tid, int budget_ms);
int crash_abandoned(void);
void crash_leave(const char *call, int status);
/* crash_exit.c: what handler code gets for exit, _exit, _Exit, quick_exit --
 * dev binds them with tcc_add_symbol, the export with objcopy
 * --redefine-sym on each handler object, so the same calls are caught. */
typedef struct crash_exit_symbol {
	const char *name;        /* "exit" */
	const char *replacement; /* "crash_exit_exit" */
	const void *addr;
} crash_exit_symbol;
extern const crash_exit_symbol crash_exit_symbols[];
void crash_set_code(const void *lo, const void *hi);
void crash_shutdown(void);
int crash_call(cot_ctx *c, const binding *b, crash_report *rep);
int crash_run(cot_ctx *c, const binding *b, void (*call)(cot_ctx *, const binding *, void *),
              void *arg, crash_report *rep);

/* One source location of a trace; file is NULL for code not the app's. */
typedef struct trace_site {
	const char *file;
	const char *func;
	int line;
} trace_site;

#define TRACE_MAX_INLINE 8 /* sites of one address: a function and its inliners */

/* How traces read code's line tables (dev: tcclines; export: libdw). The
 * lookup fills the sites of pc innermost first -- more than one where gcc
 * inlined a function into its caller -- and returns how many (0: unknown). */
extern int (*trace_contains_hook)(const void *debug, uintptr_t pc);
extern int (*trace_lookup_hook)(const void *debug, uintptr_t pc, trace_site *sites, int max);

void trace_respond(cot_ctx *c, const binding *b, const crash_report *rep);

/* gcc-built code (exports): traces resolved with libdw (symbolize.c). */
void symbolize_init(void);
void symbolize_shutdown(void);

/*
 * "CALL\n  handlers/x.c:12\n       12 | source" for an API call made at
 * file:line (just CALL when file is NULL), in the request's arena.
 */
char *trace_call_at(cot_ctx *c, const char *file, int line, const char *call);

/* A short trace of a crash, in the request's arena; *detail gets one line. */
char *trace_format(cot_ctx *c, const binding *b, const crash_report *r, const char **detail);

/* ==== background tasks (task.c) ====================================== */

void task_submit(cot_ctx *c);
void task_shutdown(void);

/* ==== middleware (middleware.c) ====================================== */

int middleware_slot_for(const char *file);
bool middleware_declared(const char *file);
void middleware_bind(int slot, binding *before, binding *after);
void middleware_reset(void);
int middleware_before(cot_ctx *c);
void middleware_after(cot_ctx *c);

/* ==== templates and static files (render.c, server.c) ================== */

int render_init(const char *dir);
int render_add_embedded(const char *name, const char *src, char *err, size_t errlen);
void render_shutdown(void);
int render_check(const char *name, char *err, size_t errlen);

/* ==== request bodies (body.c) ========================================= */

void body_set_memory_limit(size_t bytes);
void body_begin(cot_ctx *c, size_t declared);
int body_append(cot_ctx *c, const char *data, size_t n);
int body_finish(cot_ctx *c);
void body_free(cot_ctx *c);

/* ==== connections (guard.c) ========================================== */

enum MHD_ConnectionNotificationCode;
void guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code);
void guard_head(struct MHD_Connection *conn);
void guard_line(struct MHD_Connection *conn);
void guard_done(struct MHD_Connection *conn);
int guard_fd(struct MHD_Connection *conn);
int guard_cut_thread(pid_t tid, int except_fd);
int guard_start(int head_timeout_s, int keepalive_s, int idle_s);
void guard_stop(void);

/* ==== server (server.c, server_drain.c; the rest: server_internal.h) === */

typedef struct server_config {
	const char *host;
	int port;                /* 0: any free port */
	int threads;             /* 0: one per core */
	bool dev;                /* development: traces in responses */
	bool reuse_port;         /* SO_REUSEPORT: several processes, one port */
	bool quiet;              /* no access-log line per request */
	const char *access_log;  /* file for access lines (NULL: stdout) */
	int log_format;          /* ACCESSLOG_TEXT or ACCESSLOG_JSON */
	const char *static_dir;  /* served at /static/ (NULL: none) */
	const char *cors_origin; /* Access-Control-Allow-Origin (NULL: no CORS) */
	size_t max_body;         /* bytes; 0: default 10 MB */
	/* Host names answered (hostallow.c), comma-separated; NULL: any. Other
	 * names get 421. allow_any_ip: IP literals too (bound to 0.0.0.0). */
	const char *allowed_hosts;
	bool allow_any_ip;
	int idle_timeout_s; /* close a connection silent this long; 0: 30 */
	/* limits.c: the flags both servers share (see limits_usage) */
	int timeout_ms;          /* handler budget (crash_init); 0: none */
	int drain_timeout_ms;    /* SIGTERM: wait this long for requests */
	int drain_delay_ms;      /* SIGTERM: answer open connections this long first */
	int head_timeout_s;      /* a request head must arrive within; 0: 10 */
	int keepalive_timeout_s; /* an answered connection may idle; 0: 75 */
	int max_connections;     /* 0: derived from the descriptor limit */
	int max_per_ip;          /* 0: no per-address limit */
	size_t max_body_memory;  /* bodies in memory, all requests; 0: 64 MB */
	/* The handler pool (pool.c): which routes run there (SERVER_OFFLOAD_*),
	 * its threads and queue; 0: the defaults */
	int offload;
	int pool_threads;
	int pool_queue;
	/* A socket from server_bind, taken over by server_start (which listens
	 * on it; server_stop closes it); when false, server_start binds one. */
	bool has_bound_fd;
	int bound_fd;
	/* Called before every request is routed (dev: take pending reloads). */
	void (*before_route)(void);
	/*
	 * Dev only: answers paths under /_cot/ itself. Returns a response to
	 * queue (the server destroys it after queueing) or NULL for 404; the
	 * status is c->status when set, else 200. The
	 * connection allows MHD_suspend_connection (MHD_ALLOW_SUSPEND_RESUME).
	 */
	struct MHD_Response *(*dev_special)(cot_ctx *c);
	/* Dev only: sees every response (success or error) before it is sent;
	 * may replace c->resp_body/resp_len (e.g. inject a script into HTML). */
	void (*dev_finish)(cot_ctx *c);
	/* Dev only: sees every routed request before its handler runs (the
	 * console starts its capture, marks replays). */
	void (*dev_begin)(cot_ctx *c);
} server_config;

/* --offload: auto (routes whose file hashes passwords or says
 * COT_OFFLOAD), all, none. Stored by flags.c as the choice's index. */
enum { SERVER_OFFLOAD_AUTO, SERVER_OFFLOAD_ALL, SERVER_OFFLOAD_NONE };

typedef struct server server;

extern const char *response_static_dir; /* static/ as served; NULL: none */

int server_bind(const server_config *cfg, char *err, size_t errlen);
server *server_start(const server_config *cfg, char *err, size_t errlen);
int server_parse_size(const char *s, size_t *out);
int server_port(const server *s);
bool response_has_header(const cot_ctx *c, const char *name);
int server_wait_stop(const sigset_t *stop);
void server_drain_delay(server *s, int delay_ms);
long server_drain(server *s, int timeout_ms, const sigset_t *interrupt);
int server_stop(server *s, int timeout_ms);

#endif /* COT_INTERNAL_H */
