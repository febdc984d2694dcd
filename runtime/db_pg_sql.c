/*
 * db_pg_sql.c -- the SQL text db_pg.c sends PostgreSQL: "?" placeholders
 * rewritten to "$n", and `RETURNING <id>` appended to the INSERTs that
 * cot_db_last_id must answer for.
 *
 * Both read the SQL with the schema planner's lexer (migrate_lex), so a
 * "?" or a keyword inside a string, a quoted identifier or a comment is
 * left alone. db_pg.c's opening comment says why each rewrite exists.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg_sql.h"
#include "migrate_internal.h"

char *
dbpg_placeholders(const char *sql, int *count)
{
	struct migrate_buf b = {0};
	struct migrate_token t;
	const char *p = sql, *done = sql;
	int line = 1, n = 0;
	for (migrate_lex(&p, &line, &t); t.kind != MIGRATE_TK_END; migrate_lex(&p, &line, &t)) {
		if (t.kind != MIGRATE_TK_PUNCT || t.s[0] != '?')
			continue;
		migrate_buf_add(&b, done, (size_t)(t.s - done));
		done = t.s + 1;
		if (t.s[1] == '|' || t.s[1] == '&') { /* jsonb ?| and ?& */
			migrate_buf_add(&b, "?", 1);
		} else if (t.s[1] == '?') { /* ?? : jsonb's ? operator */
			migrate_buf_add(&b, "?", 1);
			done = p = t.s + 2;
		} else if (t.s[1] >= '0' && t.s[1] <= '9') { /* ?NNN */
			char *end;
			long k = strtol(t.s + 1, &end, 10);
			migrate_buf_printf(&b, "$%ld", k);
			n = k > n ? (int)k : n;
			done = p = end;
		} else {
			migrate_buf_printf(&b, "$%d", ++n);
		}
	}
	migrate_buf_add(&b, done, strlen(done));
	*count = n;
	return b.s ? b.s : migrate_strdup("");
}

/*
 * The target of `INSERT INTO t ...` when sql is one with no RETURNING of its
 * own: t's name as written (malloc'd), or NULL.
 */
static char *
dbpg_insert_target(const char *sql)
{
	const char *p = sql, *start = NULL, *end = NULL;
	int line = 1, i = 0;
	bool dot = false; /* the name so far ends in "schema." */
	struct migrate_token t;
	for (migrate_lex(&p, &line, &t); t.kind != MIGRATE_TK_END; migrate_lex(&p, &line, &t)) {
		if (t.kind == MIGRATE_TK_COMMENT)
			continue;
		bool name = t.kind == MIGRATE_TK_WORD || t.kind == MIGRATE_TK_IDENT;
		if ((i == 0 && !migrate_is_kw(&t, "INSERT")) ||
		    (i == 1 && !migrate_is_kw(&t, "INTO")) || (i == 2 && !name))
			return NULL;
		if (migrate_is_kw(&t, "RETURNING") || (t.kind == MIGRATE_TK_PUNCT && t.s[0] == ';'))
			return NULL; /* its own RETURNING, or more than one statement */
		if (i == 2) {
			start = t.s;
			end = t.s + t.n;
		} else if (i == 3 && t.kind == MIGRATE_TK_PUNCT && t.s[0] == '.') {
			dot = true;
		} else if (i == 4 && dot) {
			if (!name)
				return NULL;
			end = t.s + t.n;
		}
		i++;
	}
	return start != NULL ? strndup(start, (size_t)(end - start)) : NULL;
}

/* The name of table's primary key when it is one integer column (quoted for
 * SQL, malloc'd), or NULL: what `RETURNING` gives cot_db_last_id. */
static char *
dbpg_id_column(PGconn *pg, const char *table)
{
	const char *q = "SELECT quote_ident(a.attname) FROM pg_index i JOIN pg_attribute a"
	                " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
	                " WHERE i.indrelid = to_regclass($1) AND i.indisprimary"
	                " AND i.indnatts = 1 AND a.atttypid IN (20, 21, 23)";
	PGresult *r = PQexecParams(pg, q, 1, NULL, &table, NULL, NULL, 0);
	char *col = NULL;
	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		col = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return col;
}

char *
dbpg_with_returning(PGconn *pg, const char *sql, char *text, bool *returns_id)
{
	*returns_id = false;
	char *table = dbpg_insert_target(sql);
	char *col = table != NULL ? dbpg_id_column(pg, table) : NULL;
	free(table);
	if (col == NULL)
		return text;
	char *out;
	/* on a line of its own: a trailing -- comment must not swallow it */
	if (asprintf(&out, "%s\nRETURNING %s", text, col) >= 0) {
		free(text);
		text = out;
		*returns_id = true;
	}
	free(col);
	return text;
}
