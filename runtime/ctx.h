/*
 * ctx.h -- the request context (ctx.c): struct cot_ctx, which every
 * request-level file reads, its life (init, cleanups, free) and the one
 * reject. The fields are grouped by the file that owns them.
 */
#ifndef COT_CTX_H
#define COT_CTX_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/cot.h"
#include "arena.h"
#include "router.h"

struct MHD_Connection;

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
	/* a pooled call the watchdog abandoned (server_stuck.c): the connection is
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
	bool reject_db;          /* the reject is a db failure (db_result.c) */
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
	/* ---- accounts: session, vars, JWT claims (vars.h) ---- */
	struct auth_request *auth; /* NULL until used (arena) */
	/* ---- development: live reload (render.c, livereload.c) ---- */
	const char *rendered; /* templates read, "templates/a.html templates/layout.html" */
	bool live_fetch;      /* a live-reload refetch: not a user request, not logged */
};

void ctx_init(cot_ctx *c);
/* Ends the request: runs its cleanups (ctx_on_free: the body, a
 * transaction...), releases the route's code, frees the arena. */
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
 * afterwards; server_dispatch.c then answers error_respond(c, reject_status,
 * reject_detail, ...) instead. The first call wins. 400 is the client's
 * fault (code "malformed_body"), anything else a misuse of the API
 * ("api_misuse"); set reject_code after it for a more precise code.
 */
void ctx_reject(cot_ctx *c, int status, const char *detail);

#endif /* COT_CTX_H */
