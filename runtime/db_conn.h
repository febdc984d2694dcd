/*
 * db_conn.h -- db_conn.c: which database the workers use (db_init), the
 * SQLite connection of the calling thread and its cache of prepared
 * statements, for db.c, which runs a request's statements on it. db.h
 * includes it, so the dev server and the export see db_init and db_open
 * there as before.
 */
#ifndef COT_DB_CONN_H
#define COT_DB_CONN_H

#include <sqlite3.h>
#include <stdbool.h>
#include <sys/queue.h>

#include "../include/cot.h"

/* Sets the database every worker connection opens: a SQLite file
 * ("app.db" in the app directory in dev, --db PATH in export) or a
 * postgres:// URL (db_pg.c). Call once, before serving; checks that it
 * opens. Returns 0, or -1 with err filled. */
int db_init(const char *path, char *err, size_t errlen);

/* Whether db_init was given a PostgreSQL URL (postgres://...). */
bool db_engine_is_pg(void);

/* Closes every worker connection; call after the server has stopped. */
void db_shutdown(void);

/* Opens `path` the way worker connections are opened (WAL, busy timeout,
 * foreign keys on). Returns NULL with *err set (free() it). Close with
 * sqlite3_close. */
sqlite3 *db_open(const char *path, char **err);

/* Statements cached on the calling thread's connection (for tests). */
int db_cached_statements(void);

#define DB_BUCKETS 64

typedef struct db_stmt db_stmt;

typedef struct db_conn {
	sqlite3 *db;
	db_stmt *buckets[DB_BUCKETS];
	int nstmts;
	/* the request that opened the current transaction (db.c) */
	const cot_ctx *tx_ctx;
	char tx_request[33];
	bool replay_tx; /* a replay's own transaction is a savepoint */
	LIST_ENTRY(db_conn) link;
} db_conn;

/* The calling thread's connection, opened on first use; NULL + *err
 * (malloc'd). */
db_conn *db_conn_get(char **err);

/* The calling thread's connection if it has one, else NULL (nothing is
 * opened). */
db_conn *db_conn_current(void);

/*
 * The cached statement for `sql`, prepared on first use. Returns NULL with
 * *err (SQLite's message, malloc'd) when it does not prepare or holds more
 * than one statement.
 */
sqlite3_stmt *db_prepare(db_conn *k, const char *sql, char **err);

#endif
