/*
 * limit.h -- the limit flags `cotdev run` and exported binaries share
 * (limit.c). Included by the two mains only.
 */
#ifndef COT_LIMIT_H
#define COT_LIMIT_H

#include <getopt.h>

#include "internal.h"

/* getopt_long values of the limit flags; limit_options ends with a NULL
 * entry, so a command copies it after its own options. */
enum {
	LIMIT_TIMEOUT = 1000, LIMIT_MAX_BODY, LIMIT_MAX_BODY_MEMORY, LIMIT_IDLE_TIMEOUT,
	LIMIT_HEAD_TIMEOUT, LIMIT_MAX_CONNECTIONS, LIMIT_MAX_PER_IP, LIMIT_DRAIN_TIMEOUT,
};
#define LIMIT_NOPTIONS 8
extern const struct option limit_options[LIMIT_NOPTIONS + 1];
/* One line per flag, indented for a command's usage text. */
extern const char limit_usage[];

/*
 * Applies getopt_long's `ch` with `arg` to cfg: 1 when it was a limit flag
 * and valid, 0 when ch is no limit flag, -1 when the value is bad (err
 * names the flag and the accepted range).
 */
int limit_flag(int ch, const char *arg, server_config *cfg, char *err, size_t errlen);

/*
 * Raises the soft descriptor limit to the hard one; returns the connection
 * limit: `asked` (> 0) if the descriptors allow it (else lowered, and note
 * says so), or one derived from the descriptor limit.
 */
int limit_connections(int asked, char *note, size_t notelen);

#endif
