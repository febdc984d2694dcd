/*
 * db_internal.h -- what the engines (db.c, db_pg.c: they fill rows),
 * db_result.c (rows and failures both engines share) and db_json.c (rows as
 * JSON) share: the layout of cot_row and cot_rows. Handlers see both only as
 * opaque types through cot.h.
 *
 * A row's cells are copies in the request's arena, so a row outlives the
 * statement it came from and is freed with the request.
 */
#ifndef COT_DB_INTERNAL_H
#define COT_DB_INTERNAL_H

#include <stddef.h>

#include "../include/cot.h"

typedef struct db_cell {
	int type; /* SQLITE_INTEGER, ... */
	long long i;
	double d;
	const char *s; /* TEXT and BLOB, NUL-terminated copy */
	size_t n;
} db_cell;

typedef struct db_cols {
	int n;
	const char **names;
} db_cols;

struct cot_row {
	cot_ctx *c;
	const db_cols *cols;
	db_cell *cells;
};

struct cot_rows {
	cot_ctx *c;
	const db_cols *cols;
	int n, cap;
	cot_row **rows;
};

/* Fails the request with msg (copied) through the one error pipeline and
 * records reject_status (db_result.c); the caller has rolled back its engine's
 * open transaction already. */
void db_fail_request(cot_ctx *c, const char *where, const char *sql, int status, const char *msg);

/* Appends r to rs, growing it in the request's arena (db_result.c). */
void db_rows_push(cot_rows *rs, cot_row *r);

#endif
