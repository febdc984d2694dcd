/*
 * limit.c -- the server's limits under hostile load.
 *
 * `cotdev run` and an exported binary take the same limit flags (the
 * table in flags.c). Every limit has a default that holds without flags;
 * docs/deploy.md explains each one.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "limit.h"

#define LIMIT_FD_RESERVE              256
#define LIMIT_MAX_CONNECTIONS_DEFAULT 16384

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
		struct rlimit want = {rl.rlim_max, rl.rlim_max};
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
		snprintf(note, notelen,
		         "--max-connections %d lowered to %ld: the process may open "
		         "%ld files (ulimit -n), two per connection and %d in reserve",
		         asked, room, fds, LIMIT_FD_RESERVE);
		return (int)room;
	}
	return room > LIMIT_MAX_CONNECTIONS_DEFAULT ? LIMIT_MAX_CONNECTIONS_DEFAULT : (int)room;
}
