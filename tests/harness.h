/*
 * harness.h -- what the integration tests and the reload benchmark share:
 * start a cot server as a child process, speak HTTP to it with libcurl, save
 * files the way editors do, and poll for conditions with a deadline.
 *
 * The server under test is described by an h_target: the command line that
 * serves an app directory. Today that is `cotdev run --port 0 --quiet`;
 * an exported binary is another h_target with its own command line and
 * `reloads` false, so the same suite can skip what only the dev server does.
 *
 * Every wait in here polls a condition until a deadline; nothing sleeps a
 * fixed time hoping that something happened meanwhile.
 */
#ifndef COT_HARNESS_H
#define COT_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Generous: the sanitizer build compiles and serves several times slower. */
#define H_DEADLINE_MS 30000.0

/* ==== targets ========================================================== */

#define H_TARGET_MAX_ARGS 16

/*
 * How to serve an app, NULL-terminated. Dev server: argv[0..] then the app
 * directory. Export: the binary, then argv[0..] (its flags), then --db.
 */
typedef struct h_target {
	const char *name;                    /* for messages: "cotdev run" */
	const char *cotdev;                  /* cotdev binary (scaffolding) */
	const char *argv[H_TARGET_MAX_ARGS]; /* see above */
	bool reloads;                        /* false: no hot reload (export) */
	bool export_first;                   /* `cotdev export APPDIR`, then serve
	                                        the binary (argv unused) */
	bool reuse_export;                   /* export_first: serve the binary an
	                                        earlier start exported, if there */
} h_target;

/* `COTDEV run --port 0 --quiet APPDIR`. */
h_target h_target_dev(const char *cotdev);

/*
 * The exported binary: h_server_start runs `COTDEV export APPDIR -o
 * APPDIR/.cot-export-bin`, then `that --port 0 --quiet --db APPDIR/app.db`
 * (argv holds "--port", "0", "--quiet") in APPDIR, the directory
 * `cotdev run` works in.
 * h_target_dev("export:COTDEV") returns this target too, so a suite that
 * takes the cotdev path as argv[1] runs against the export when given
 * "export:build/cotdev" (TEST_CMDS: build/test_x@export:build/cotdev).
 */
h_target h_target_export(const char *cotdev);

/*
 * Replaces the server flags of either kind of target with `flags`
 * (NULL-terminated; "--port", "0" is up to the caller), so one suite can say
 * `--timeout 1500` once: the dev server gets `COTDEV run FLAGS... APPDIR`,
 * the export `BIN FLAGS... --db DB`. Returns 0, -1 if there are too many.
 */
int h_target_flags(h_target *t, const char *const *flags);

/* ==== the server process =============================================== */

typedef struct h_server {
	pid_t pid;  /* -1 once reaped */
	int status; /* waitpid status once reaped */
	int port;
	char base[64]; /* "http://127.0.0.1:PORT" */
	char app[4096];
	/* Everything the child wrote on stdout, read by a thread. */
	pthread_t reader;
	int out_fd;
	pthread_mutex_t lock;
	char *out;
	size_t out_len, out_cap;
	bool out_eof;
} h_server;

/*
 * Starts the target on `app` and waits (up to H_DEADLINE_MS) for its URL
 * line. The child's stderr goes to ours, so sanitizer reports show. Returns
 * 0, or -1 with a reason in err (the child is then stopped).
 */
int h_server_start(const h_target *t, const char *app, h_server *s, char *err, size_t errlen);

/*
 * SIGTERM, then wait for the exit; SIGKILL only after the deadline. Returns
 * the exit code (0 clean; a sanitizer report or leak makes it non-zero), or
 * -1 if the child died of a signal or had to be killed.
 */
int h_server_stop(h_server *s);

/* Copy of the child's stdout so far (malloc'd) and its length. */
char *h_server_output(h_server *s, size_t *len);

/* Current length of the child's stdout, to look only at what comes later. */
size_t h_server_mark(h_server *s);

/* Waits until `needle` appears in stdout after `mark`; true if it did. */
bool h_server_wait_output(h_server *s, size_t mark, const char *needle, double timeout_ms);

/* Number of times `needle` occurs in stdout between `from` and `to`. */
int h_server_count_output(h_server *s, size_t from, size_t to, const char *needle);

/* ==== apps and files =================================================== */

/*
 * Creates a fresh temp directory and runs `cotdev new` in it. dir receives
 * its path. Returns 0 or -1 (message on stderr).
 */
int h_scaffold(const h_target *t, char *dir, size_t dirlen);

/* Removes a directory tree (the apps this harness made). */
void h_rmtree(const char *dir);

/* Saves in place: open(O_TRUNC) + write + close, like most editors and `>`. */
int h_save_inplace(const char *path, const char *content);

/* Saves by writing a temp file beside `path` and renaming it over (vim, sed -i). */
int h_save_rename(const char *path, const char *content);

/* Creates a new file (fails if it exists). */
int h_save_new(const char *path, const char *content);

/* Deletes a file. */
int h_delete(const char *path);

/* Saves `content` in place as APP/REL: h_write_app_file(app, "handlers/x.c", src). */
int h_write_app_file(const char *app, const char *rel, const char *content);

/* Deletes every file in APP/handlers but dot files, for a test that brings its own. */
void h_clear_handlers(const char *app);

/* printf into a static-free path buffer: h_path(buf, "%s/handlers/x.c", app). */
char *h_path(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ==== running a command to completion ================================== */

typedef struct h_cmd_result {
	int exit_code;   /* -1: killed by a signal or by the deadline */
	char *out, *err; /* malloc'd, NUL-terminated */
} h_cmd_result;

/* Runs argv (NULL-terminated) with stdout/stderr captured, within a deadline. */
int h_run_cmd(const char *const *argv, double timeout_ms, h_cmd_result *r);
void h_cmd_result_free(h_cmd_result *r);

/* ==== HTTP ============================================================= */

typedef struct h_resp {
	long status;   /* 0: transport failure (err says why) */
	char *headers; /* raw header block, malloc'd */
	char *body;    /* malloc'd, NUL-terminated */
	size_t body_len;
	char err[256];
} h_resp;

/* One keep-alive connection; use one per thread. */
typedef struct h_client h_client;

h_client *h_client_new(void);
void h_client_free(h_client *c);

/*
 * One request. `headers` is NULL or a NULL-terminated list of "Name: value";
 * `body` may be NULL. Returns r->status (0 on transport failure).
 */
long h_request(h_client *c, const h_server *s, const char *method, const char *path,
               const char *const *headers, const char *body, h_resp *r);

/* GET with a client private to the calling thread. */
long h_get(const h_server *s, const char *path, h_resp *r);

/* Frees the calling thread's h_get client (call before a thread or the test ends). */
void h_thread_done(void);

/* Value of a response header (case-insensitive), malloc'd; NULL if absent. */
char *h_resp_header(const h_resp *r, const char *name);
void h_resp_free(h_resp *r);

/* ==== time and waiting ================================================= */

double h_now_ms(void);

/* Polls cond(arg) until true or the deadline passes; returns its last value. */
bool h_wait_for(bool (*cond)(void *arg), void *arg, double timeout_ms);

#endif
