/*
 * limit.h -- limits under hostile load (limit.c); their flags are in
 * flags.c.
 */
#ifndef COT_LIMIT_H
#define COT_LIMIT_H

#include "../include/cot.h"

/*
 * Raises the soft descriptor limit to the hard one; returns the connection
 * limit: `asked` (> 0) if the descriptors allow it (else lowered, and note
 * says so), or one derived from the descriptor limit.
 */
int limit_connections(int asked, char *note, size_t notelen);

#endif
