/*
 * limit.c -- the server's limits under hostile load, and their flags.
 *
 * `cotdev run` and an exported binary take the same limit flags with the
 * same validation and the same messages: both parse them here
 * (limit_flag), and both print limit_usage. Every limit has a default
 * that holds without flags; docs/deploy.md explains each one.
 *
 * Connections: libmicrohttpd's default limit is FD_SETSIZE - 4 (1020) even
 * with epoll, however many descriptors the process may open, so 1,030 idle
 * or slow connections locked every client out. At start we raise the soft
 * RLIMIT_NOFILE to the hard one (allowed without privileges) and derive the
 * connection limit from it: each connection may hold a second descriptor
 * (a spooled request body or a file being sent), and a reserve stays for
 * the database, static files, inotify and the compiler. The derived limit
 * is capped (LIMIT_MAX_CONNECTIONS_DEFAULT): every connection may take
 * libmicrohttpd's 32 KB pool, so 16k connections can take 512 MB; raise it
 * with --max-connections where memory allows.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "limit.h"

#define LIMIT_FD_RESERVE 256
#define LIMIT_MAX_CONNECTIONS_DEFAULT 16384

const struct option limit_options[LIMIT_NOPTIONS + 1] = {
	{ "timeout", required_argument, NULL, LIMIT_TIMEOUT },
	{ "max-body", required_argument, NULL, LIMIT_MAX_BODY },
	{ "max-body-memory", required_argument, NULL, LIMIT_MAX_BODY_MEMORY },
	{ "idle-timeout", required_argument, NULL, LIMIT_IDLE_TIMEOUT },
	{ "head-timeout", required_argument, NULL, LIMIT_HEAD_TIMEOUT },
	{ "max-connections", required_argument, NULL, LIMIT_MAX_CONNECTIONS },
	{ "max-connections-per-ip", required_argument, NULL, LIMIT_MAX_PER_IP },
	{ "drain-timeout", required_argument, NULL, LIMIT_DRAIN_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

const char limit_usage[] =
	"  --timeout MS         a handler running longer answers 503 (default 5000;\n"
	"                       0: never)\n"
	"  --max-body SIZE      largest request body, e.g. 512K, 10M (default 10M;\n"
	"                       more: 413)\n"
	"  --max-body-memory SIZE  request bodies held in memory, all connections\n"
	"                       together (default 64M); past it, and for any body over\n"
	"                       64K, bodies are spooled to an unlinked file in $TMPDIR\n"
	"  --idle-timeout S     close a connection that sends nothing for S s (30)\n"
	"  --head-timeout S     close a connection that has not sent a whole request\n"
	"                       head S s after it opened or was last answered (10)\n"
	"  --max-connections N  connections at once (default: from the file\n"
	"                       descriptor limit, at most 16384)\n"
	"  --max-connections-per-ip N  connections from one address (default 0: no\n"
	"                       limit; behind a proxy every client is the proxy)\n"
	"  --drain-timeout MS   at SIGTERM/SIGINT, wait this long for requests in\n"
	"                       flight, then exit even if handlers are stuck\n";

static int
limit_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* One integer flag: parses into *out or explains the range. */
static int
limit_int_flag(const char *flag, const char *arg, long lo, long hi, const char *unit,
                long *out, char *err, size_t errlen)
{
	if (limit_int(arg, lo, hi, out) == 0)
		return 1;
	snprintf(err, errlen, "--%s wants %s %ld-%ld, got \"%s\"", flag, unit, lo, hi, arg);
	return -1;
}

/*
 * Applies one getopt_long result `ch` with argument `arg` to cfg. Returns 1
 * when it was a limit flag and valid, 0 when ch is not a limit flag, -1 when
 * the value is bad (err says why, naming the flag).
 */
int
limit_flag(int ch, const char *arg, server_config *cfg, char *err, size_t errlen)
{
	long v = 0;
	int rc;
	switch (ch) {
	case LIMIT_TIMEOUT:
		rc = limit_int_flag("timeout", arg, 0, 86400000, "milliseconds", &v, err, errlen);
		cfg->timeout_ms = (int)v;
		return rc;
	case LIMIT_DRAIN_TIMEOUT:
		rc = limit_int_flag("drain-timeout", arg, 0, 3600000, "milliseconds", &v, err,
		                     errlen);
		cfg->drain_timeout_ms = (int)v;
		return rc;
	case LIMIT_IDLE_TIMEOUT:
		rc = limit_int_flag("idle-timeout", arg, 1, 86400, "seconds", &v, err, errlen);
		cfg->idle_timeout_s = (int)v;
		return rc;
	case LIMIT_HEAD_TIMEOUT:
		rc = limit_int_flag("head-timeout", arg, 1, 86400, "seconds", &v, err, errlen);
		cfg->head_timeout_s = (int)v;
		return rc;
	case LIMIT_MAX_CONNECTIONS:
		rc = limit_int_flag("max-connections", arg, 1, 1000000, "a count", &v, err, errlen);
		cfg->max_connections = (int)v;
		return rc;
	case LIMIT_MAX_PER_IP:
		rc = limit_int_flag("max-connections-per-ip", arg, 0, 1000000, "a count", &v, err,
		                     errlen);
		cfg->max_per_ip = (int)v;
		return rc;
	case LIMIT_MAX_BODY:
	case LIMIT_MAX_BODY_MEMORY: {
		size_t *to = ch == LIMIT_MAX_BODY ? &cfg->max_body : &cfg->max_body_memory;
		if (server_parse_size(arg, to) == 0)
			return 1;
		snprintf(err, errlen, "--%s wants a size like 512K, 10M or 1G, got \"%s\"",
		         ch == LIMIT_MAX_BODY ? "max-body" : "max-body-memory", arg);
		return -1;
	}
	default:
		return 0;
	}
}

/*
 * Raises the soft descriptor limit to the hard one and returns the
 * connection limit it allows (see the opening comment); `asked` > 0 wins
 * when the descriptors allow it, else it is lowered and *note says so.
 */
int
limit_connections(int asked, char *note, size_t notelen)
{
	struct rlimit rl;
	note[0] = '\0';
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return asked > 0 ? asked : 1000;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = { rl.rlim_max, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	long fds = rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
	long room = (fds - LIMIT_FD_RESERVE) / 2;
	if (room < 16)
		room = 16;
	if (asked > 0 && asked <= room)
		return asked;
	if (asked > 0) {
		snprintf(note, notelen, "--max-connections %d lowered to %ld: the process may open "
		         "%ld files (ulimit -n), two per connection and %d in reserve", asked, room,
		         fds, LIMIT_FD_RESERVE);
		return (int)room;
	}
	return room > LIMIT_MAX_CONNECTIONS_DEFAULT ? LIMIT_MAX_CONNECTIONS_DEFAULT : (int)room;
}
