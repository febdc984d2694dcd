/*
 * flags.c -- one option table for `cotdev run` and exported binaries.
 *
 * Both programs serve an app and take the same server flags; they used to
 * parse them twice, with different rules (one took `--timeout abc` as "no
 * limit"). Now each flag is one row: its name, the programs that have it,
 * how its value is read and checked, where it is stored and its line of
 * help. The usage text is printed from the same rows, so it cannot drift
 * from what is parsed. To add a flag, add a row (and a field to `flags`).
 */
#include "flags.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { FLAG_BOOL, FLAG_INT, FLAG_SIZE, FLAG_STRING, FLAG_CHOICE } flag_kind;

typedef struct flag_spec {
	const char *name; /* long name, without "--" */
	char short_name;  /* 0: none */
	int which;        /* FLAGS_DEV, FLAGS_EXPORT or FLAGS_BOTH */
	flag_kind kind;
	size_t offset;    /* of the field in struct flags */
	long lo, hi;      /* FLAG_INT: accepted range */
	const char *arg;  /* the value's name in the usage ("N", "PATH");
	                   * FLAG_CHOICE: the choices, "a|b", stored as 0, 1 */
	const char *help; /* one line; "\n" continues it on the next */
} flag_spec;

#define F(field) offsetof(flags, field)

static const flag_spec flags_table[] = {
        {"host", 'H', FLAGS_BOTH, FLAG_STRING, F(cfg.host), 0, 0, "H",
         "IPv4 address to bind (default 127.0.0.1; 0.0.0.0: all)"},
        {"port", 'p', FLAGS_BOTH, FLAG_INT, F(cfg.port), 0, 65535, "N",
         "port to listen on (default 8080; 0 picks a free one)"},
        {"threads", 't', FLAGS_BOTH, FLAG_INT, F(cfg.threads), 1, 1024, "N",
         "worker threads (default: one per core)"},
        {"db", 'd', FLAGS_DEV, FLAG_STRING, F(db_path), 0, 0, "PATH",
         "the SQLite database, relative to where cotdev starts\n"
         "(default: app.db in DIR; PATH-wal/-shm land beside it),\n"
         "or PostgreSQL as postgres://... (default: $DATABASE_URL)"},
        {"db", 'd', FLAGS_EXPORT, FLAG_STRING, F(db_path), 0, 0, "PATH|URL",
         "SQLite database (default ./app.db), or PostgreSQL as\n"
         "postgres://...; default: $DATABASE_URL when set (which\n"
         "keeps a password out of ps)"},
        {"allow-destructive", 0, FLAGS_EXPORT, FLAG_BOOL, F(allow_destructive), 0, 0, NULL,
         "apply schema changes that drop data"},
        {"quiet", 'q', FLAGS_BOTH, FLAG_BOOL, F(cfg.quiet), 0, 0, NULL,
         "no access-log line per request"},
        {"check", 0, FLAGS_EXPORT, FLAG_BOOL, F(check_only), 0, 0, NULL,
         "bind the routes, then exit (0: the app is sound)"},
        {"list-files", 0, FLAGS_EXPORT, FLAG_BOOL, F(list_files), 0, 0, NULL,
         "list the embedded files, then exit"},
        {"timeout", 'T', FLAGS_BOTH, FLAG_INT, F(cfg.timeout_ms), 0, 86400000, "MS",
         "a handler running longer answers 503 (default 5000; 0: never)"},
        {"max-body", 'B', FLAGS_BOTH, FLAG_SIZE, F(cfg.max_body), 0, 0, "SIZE",
         "largest request body, e.g. 512K, 10M (default 10M; more: 413)"},
        {"max-body-memory", 0, FLAGS_BOTH, FLAG_SIZE, F(cfg.max_body_memory), 0, 0, "SIZE",
         "request bodies held in memory, all connections together\n"
         "(default 64M); past it, and for any body over 64K, bodies\n"
         "are spooled to an unlinked file in $TMPDIR"},
        {"idle-timeout", 'I', FLAGS_BOTH, FLAG_INT, F(cfg.idle_timeout_s), 1, 86400, "S",
         "close a connection that sends nothing for S seconds (30)"},
        {"head-timeout", 0, FLAGS_BOTH, FLAG_INT, F(cfg.head_timeout_s), 1, 86400, "S",
         "close a connection that has not sent a whole request head\n"
         "S s after it opened or after its request line (10)"},
        {"keepalive-timeout", 0, FLAGS_BOTH, FLAG_INT, F(cfg.keepalive_timeout_s), 1, 86400, "S",
         "close an answered keep-alive connection that has not begun\n"
         "its next request S s later (75: above a proxy's idle time)"},
        {"max-connections", 0, FLAGS_BOTH, FLAG_INT, F(cfg.max_connections), 1, 1000000, "N",
         "connections at once (default: from the file descriptor\n"
         "limit, at most 16384)"},
        {"max-connections-per-ip", 0, FLAGS_BOTH, FLAG_INT, F(cfg.max_per_ip), 0, 1000000, "N",
         "connections from one address (default 0: no limit; behind\n"
         "a proxy every client is the proxy)"},
        {"offload", 0, FLAGS_BOTH, FLAG_CHOICE, F(cfg.offload), 0, 0, "auto|all|none",
         "which handlers run on the handler pool, off the threads\n"
         "that poll connections: auto (default: files that hash\n"
         "passwords or say COT_OFFLOAD), all (a stuck handler then\n"
         "never stalls other connections), none"},
        {"pool-threads", 0, FLAGS_BOTH, FLAG_INT, F(cfg.pool_threads), 1, 1024, "N",
         "threads of the handler pool (default 8)"},
        {"pool-queue", 0, FLAGS_BOTH, FLAG_INT, F(cfg.pool_queue), 1, 1000000, "N",
         "requests that may wait for the pool (default 256); more\n"
         "get 503 with Retry-After"},
        {"drain-timeout", 0, FLAGS_BOTH, FLAG_INT, F(cfg.drain_timeout_ms), 0, 3600000, "MS",
         "at SIGTERM/SIGINT, wait this long for requests in flight,\n"
         "then exit even if handlers are stuck (dev 5000, export 25000)"},
        {"access-log", 0, FLAGS_BOTH, FLAG_STRING, F(cfg.access_log), 0, 0, "PATH",
         "append access lines to PATH (default: stdout); SIGHUP\n"
         "reopens it (logrotate)"},
        {"log-format", 0, FLAGS_BOTH, FLAG_CHOICE, F(cfg.log_format), 0, 0, "text|json",
         "access and error lines as text (default) or one JSON\n"
         "object per line"},
        {"drain-delay", 0, FLAGS_EXPORT, FLAG_INT, F(cfg.drain_delay_ms), 0, 3600000, "MS",
         "at SIGTERM, first keep answering requests that arrive on\n"
         "connections already open, with Connection: close, this\n"
         "long (default 3000; ends once none is open)"},
        {"cors", 'C', FLAGS_BOTH, FLAG_STRING, F(cfg.cors_origin), 0, 0, "ORIGIN",
         "allow cross-origin requests from ORIGIN (or *)"},
        {"allowed-hosts", 0, FLAGS_DEV, FLAG_STRING, F(cfg.allowed_hosts), 0, 0, "LIST",
         "Host names to answer besides localhost, 127.0.0.1, [::1]\n"
         "and --host (comma-separated; .example.com: it and every\n"
         "name under it); others get 421 (DNS rebinding)"},
        {"allowed-hosts", 0, FLAGS_EXPORT, FLAG_STRING, F(cfg.allowed_hosts), 0, 0, "LIST",
         "answer only these Host names (comma-separated;\n"
         ".example.com: it and every name under it); others get 421.\n"
         "Default: any (docs/deploy.md)"},
        {"replay", 0, FLAGS_DEV, FLAG_STRING, F(replay), 0, 0, "WHICH",
         "after a handler reloads, replay its last request with its\n"
         "writes rolled back: get (default: GET, HEAD), all, off"},
        {"no-inspector", 0, FLAGS_DEV, FLAG_BOOL, F(no_inspector), 0, 0, NULL,
         "record no requests for /_cot/requests (and replay none)"},
        {"exit-on-crash", 0, FLAGS_EXPORT, FLAG_BOOL, F(exit_on_crash), 0, 0, NULL,
         "after a handler crash is answered, drain and exit 70\n"
         "(for a supervisor to restart); default: keep serving"},
        {"secret-file", 0, FLAGS_EXPORT, FLAG_STRING, F(secret_file), 0, 0, "PATH",
         "the app secret, one per line: the first signs, the others\n"
         "still verify (default: $COT_SECRET, else the file\n"
         "$COT_SECRET_FILE; one is required)"},
        {"secure-cookies", 0, FLAGS_EXPORT, FLAG_BOOL, F(secure_cookies), 0, 0, NULL,
         "mark session cookies Secure (set it behind https)"},
};

#define FLAGS_COUNT (sizeof(flags_table) / sizeof(flags_table[0]))

static const char flags_dev_head[] =
        "usage: %s [OPTIONS] [DIR]\n"
        "\n"
        "Serves the app in DIR (default .) and recompiles a handler when it is saved.\n";

static const char flags_export_head[] = "usage: %s [OPTIONS]\n"
                                        "\n"
                                        "Serves the cot app built into this binary.\n";

static const char flags_export_tail[] =
        "\n"
        "Several processes may listen on one port (SO_REUSEPORT). SIGTERM stops\n"
        "accepting, drains (--drain-delay), finishes the requests in flight and\n"
        "exits 0. GET /_cot/health answers 200 while serving with a working\n"
        "database, 503 while draining or when the database fails.\n";

void
flags_defaults(flags *f, int which)
{
	memset(f, 0, sizeof(*f));
	f->cfg.host = "127.0.0.1";
	f->cfg.port = 8080;
	f->cfg.dev = which == FLAGS_DEV;
	f->cfg.timeout_ms = 5000;
	/* A developer waits at Ctrl-C (a second one skips the wait); a
	 * supervisor stopping a production process gives it longer. */
	f->cfg.drain_timeout_ms = which == FLAGS_DEV ? 5000 : 25000;
	/* behind a proxy: time for requests already on their way (app_main.c) */
	f->cfg.drain_delay_ms = which == FLAGS_DEV ? 0 : 3000;
	f->dir = ".";
}

void
flags_usage(FILE *out, int which, const char *prog)
{
	fprintf(out, which == FLAGS_DEV ? flags_dev_head : flags_export_head, prog);
	for (size_t i = 0; i < FLAGS_COUNT; i++) {
		const flag_spec *s = &flags_table[i];
		if (!(s->which & which))
			continue;
		char left[48];
		snprintf(left, sizeof(left), "--%s%s%s", s->name, s->arg ? " " : "",
		         s->arg ? s->arg : "");
		const char *h = s->help;
		for (int first = 1; *h != '\0'; first = 0) {
			size_t n = strcspn(h, "\n");
			if (first && strlen(left) > 21)
				fprintf(out, "  %s\n  %-21s %.*s\n", left, "", (int)n, h);
			else
				fprintf(out, "  %-21s %.*s\n", first ? left : "", (int)n, h);
			h += n + (h[n] == '\n');
		}
	}
	fprintf(out, "  %-21s %s\n", "--help", "print this text");
	if (which == FLAGS_EXPORT)
		fputs(flags_export_tail, out);
}

static int
flags_parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* Stores one flag's value; prints why it is wrong and returns -1. */
static int
flags_store(flags *f, const flag_spec *s, const char *prog, const char *val)
{
	char *field = (char *)f + s->offset;
	switch (s->kind) {
	case FLAG_BOOL:
		*(bool *)field = true;
		return 0;
	case FLAG_STRING:
		if (*val == '\0') {
			fprintf(stderr, "%s: --%s wants a value\n", prog, s->name);
			return -1;
		}
		*(const char **)field = val;
		return 0;
	case FLAG_INT:
		if (flags_parse_int(val, s->lo, s->hi, (int *)field) == 0)
			return 0;
		fprintf(stderr, "%s: --%s wants %s %ld-%ld, got \"%s\"\n", prog, s->name,
		        s->arg && strcmp(s->arg, "MS") == 0  ? "milliseconds"
		        : s->arg && strcmp(s->arg, "S") == 0 ? "seconds"
		                                             : "a number",
		        s->lo, s->hi, val);
		return -1;
	case FLAG_CHOICE: {
		size_t n = strlen(val);
		int i = 0;
		for (const char *c = s->arg; *c != '\0'; i++) {
			size_t len = strcspn(c, "|");
			if (len == n && strncmp(c, val, n) == 0) {
				*(int *)field = i;
				return 0;
			}
			c += len + (c[len] == '|');
		}
		fprintf(stderr, "%s: --%s wants one of %s, got \"%s\"\n", prog, s->name, s->arg,
		        val);
		return -1;
	}
	case FLAG_SIZE:
		if (server_parse_size(val, (size_t *)field) == 0)
			return 0;
		fprintf(stderr, "%s: --%s wants a size like 512K, 10M or 1G, got \"%s\"\n", prog,
		        s->name, val);
		return -1;
	}
	return -1;
}

/* The getopt tables for program `which`: long options and short letters. */
static size_t
flags_getopt_tables(int which, struct option *opts, const flag_spec **spec, char *shorts)
{
	size_t n = 0;
	char *sp = shorts;
	for (size_t i = 0; i < FLAGS_COUNT; i++) {
		const flag_spec *s = &flags_table[i];
		if (!(s->which & which))
			continue;
		opts[n] = (struct option){s->name,
		                          s->kind == FLAG_BOOL ? no_argument : required_argument,
		                          NULL, 256 + (int)n};
		spec[n++] = s;
		if (s->short_name) {
			*sp++ = s->short_name;
			if (s->kind != FLAG_BOOL)
				*sp++ = ':';
		}
	}
	opts[n] = (struct option){"help", no_argument, NULL, 'h'};
	opts[n + 1] = (struct option){NULL, 0, NULL, 0};
	*sp++ = 'h';
	*sp = '\0';
	return n;
}

int
flags_parse(flags *f, int which, const char *prog, int argc, char **argv)
{
	struct option opts[FLAGS_COUNT + 2];
	const flag_spec *spec[FLAGS_COUNT];
	char shorts[2 * FLAGS_COUNT + 2];
	size_t n = flags_getopt_tables(which, opts, spec, shorts);
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		if (ch == 'h') {
			flags_usage(stdout, which, prog);
			return 0;
		}
		const flag_spec *s = NULL;
		if (ch >= 256 && (size_t)(ch - 256) < n)
			s = spec[ch - 256];
		for (size_t i = 0; s == NULL && ch < 256 && i < n; i++)
			if (spec[i]->short_name == ch)
				s = spec[i];
		if (s == NULL || flags_store(f, s, prog, optarg) != 0) {
			flags_usage(stderr, which, prog);
			return 2;
		}
	}
	int operands = which == FLAGS_DEV ? 1 : 0;
	if (argc - optind > operands) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind + operands]);
		flags_usage(stderr, which, prog);
		return 2;
	}
	if (optind < argc)
		f->dir = argv[optind];
	return -1;
}
