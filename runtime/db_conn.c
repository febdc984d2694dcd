/*
 * db_conn.c -- SQLite connections, one per worker thread, and the prepared
 * statements each one caches; db_init and db_shutdown for both engines.
 *
 * One connection per worker thread (thread-specific, opened lazily on the
 * thread's first db call, closed when the thread exits): SQLite connections
 * are cheap, WAL lets readers run beside the one writer, and no lock of ours
 * sits on the request path. Each connection caches its prepared statements
 * keyed by SQL *text* -- never by pointer, because a reloaded module may put
 * different SQL at the address of an old literal.
 *
 * What a request does on the connection -- binding, running, rows,
 * failures, transactions -- is db.c's.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "db_conn.h"
#include "db_pg.h"
#include "monotonic.h"

#define DB_MAX_STMTS 256
#define DB_BUSY_MS   5000

struct db_stmt {
	char *sql;
	sqlite3_stmt *st;
	struct db_stmt *next;
};

static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t db_key;
static pthread_once_t db_key_once = PTHREAD_ONCE_INIT;
static char *db_path;
static LIST_HEAD(, db_conn) db_conns = LIST_HEAD_INITIALIZER(db_conns);
/* The engine db_init chose: PostgreSQL for a postgres:// URL (db_pg.c),
 * else SQLite. Set before serving, read by every call. */
static bool db_is_pg;

/*
 * WAL mode, then the per-connection settings. Several processes opening a
 * new database at once (N nodes started together) race to create its WAL
 * and shared-memory files, and the loser's journal_mode change can fail
 * with SQLITE_BUSY without the busy handler being asked (seen as "database
 * is locked" at start, 1 node in 12). So BUSY is retried here, for as long
 * as the busy timeout would have waited.
 */
static int
db_open_pragmas(sqlite3 *db)
{
	double until = monotonic_ms() + DB_BUSY_MS;
	for (;;) {
		int rc = sqlite3_exec(db,
		                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		                      "PRAGMA foreign_keys=ON;",
		                      NULL, NULL, NULL);
		if ((rc & 0xff) != SQLITE_BUSY || monotonic_ms() >= until)
			return rc;
		struct timespec t = {0, 10 * 1000 * 1000};
		nanosleep(&t, NULL);
	}
}

sqlite3 *
db_open(const char *path, char **err)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
	        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, DB_BUSY_MS);
	if (rc == SQLITE_OK)
		rc = db_open_pragmas(db);
	if (rc != SQLITE_OK) {
		if (asprintf(err, "cannot open %s: %s", path,
		             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) < 0)
			*err = NULL;
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static void
db_conn_close(db_conn *k)
{
	for (int b = 0; b < DB_BUCKETS; b++) {
		db_stmt *s = k->buckets[b];
		while (s != NULL) {
			db_stmt *next = s->next;
			sqlite3_finalize(s->st);
			free(s->sql);
			free(s);
			s = next;
		}
		k->buckets[b] = NULL;
	}
	k->nstmts = 0;
	sqlite3_close(k->db);
	free(k);
}

/* Thread exit: close the thread's connection. */
static void
db_thread_exit(void *p)
{
	db_conn *k = p;
	pthread_mutex_lock(&db_lock);
	LIST_REMOVE(k, link);
	pthread_mutex_unlock(&db_lock);
	db_conn_close(k);
}

static void
db_key_create(void)
{
	pthread_key_create(&db_key, db_thread_exit);
}

int
db_init(const char *path, char *err, size_t errlen)
{
	db_is_pg = DBPG_IS_URL(path);
	if (db_is_pg)
		return dbpg_init(path, err, errlen);
	pthread_once(&db_key_once, db_key_create);
	char *why = NULL;
	sqlite3 *db = db_open(path, &why);
	if (db == NULL) {
		snprintf(err, errlen, "%s", why ? why : "cannot open the database");
		free(why);
		return -1;
	}
	sqlite3_close(db);
	pthread_mutex_lock(&db_lock);
	free(db_path);
	db_path = strdup(path);
	pthread_mutex_unlock(&db_lock);
	return db_path != NULL ? 0 : -1;
}

bool
db_engine_is_pg(void)
{
	return db_is_pg;
}

void
db_shutdown(void)
{
	if (db_is_pg)
		dbpg_shutdown();
	pthread_mutex_lock(&db_lock);
	db_conn *k;
	while ((k = LIST_FIRST(&db_conns)) != NULL) {
		LIST_REMOVE(k, link);
		db_conn_close(k);
	}
	free(db_path);
	db_path = NULL;
	pthread_mutex_unlock(&db_lock);
	pthread_once(&db_key_once, db_key_create);
	pthread_setspecific(db_key, NULL);
}

db_conn *
db_conn_get(char **err)
{
	pthread_once(&db_key_once, db_key_create);
	db_conn *k = pthread_getspecific(db_key);
	if (k != NULL)
		return k;
	pthread_mutex_lock(&db_lock);
	char *path = db_path ? strdup(db_path) : NULL;
	pthread_mutex_unlock(&db_lock);
	if (path == NULL) {
		*err = strdup("no database configured (db_init was not called)");
		return NULL;
	}
	sqlite3 *db = db_open(path, err);
	free(path);
	if (db == NULL)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		sqlite3_close(db);
		*err = strdup("out of memory");
		return NULL;
	}
	k->db = db;
	pthread_mutex_lock(&db_lock);
	LIST_INSERT_HEAD(&db_conns, k, link);
	pthread_mutex_unlock(&db_lock);
	pthread_setspecific(db_key, k);
	return k;
}

db_conn *
db_conn_current(void)
{
	pthread_once(&db_key_once, db_key_create);
	return pthread_getspecific(db_key);
}

/* ==== statement cache ================================================== */

static unsigned
db_hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % DB_BUCKETS;
}

static void
db_cache_flush(db_conn *k)
{
	for (int b = 0; b < DB_BUCKETS; b++) {
		while (k->buckets[b] != NULL) {
			db_stmt *s = k->buckets[b];
			k->buckets[b] = s->next;
			sqlite3_finalize(s->st);
			free(s->sql);
			free(s);
		}
	}
	k->nstmts = 0;
}

sqlite3_stmt *
db_prepare(db_conn *k, const char *sql, char **err)
{
	unsigned b = db_hash(sql);
	for (db_stmt *s = k->buckets[b]; s != NULL; s = s->next)
		if (strcmp(s->sql, sql) == 0)
			return s->st;
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	if (sqlite3_prepare_v2(k->db, sql, -1, &st, &tail) != SQLITE_OK) {
		*err = strdup(sqlite3_errmsg(k->db));
		return NULL;
	}
	while (tail != NULL &&
	       (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == ';' || *tail == '\r'))
		tail++;
	if (st == NULL || (tail != NULL && *tail != '\0')) {
		sqlite3_finalize(st);
		*err = strdup(st == NULL ? "the SQL holds no statement"
		                         : "one statement per call: the SQL holds more");
		return NULL;
	}
	if (k->nstmts >= DB_MAX_STMTS)
		db_cache_flush(k);
	db_stmt *s = malloc(sizeof(*s));
	char *copy = strdup(sql);
	if (s == NULL || copy == NULL) {
		free(s);
		free(copy);
		sqlite3_finalize(st);
		*err = strdup("out of memory");
		return NULL;
	}
	s->sql = copy;
	s->st = st;
	s->next = k->buckets[b];
	k->buckets[b] = s;
	k->nstmts++;
	return st;
}

int
db_cached_statements(void)
{
	if (db_is_pg)
		return dbpg_cached_statements();
	db_conn *k = db_conn_current();
	return k != NULL ? k->nstmts : 0;
}
