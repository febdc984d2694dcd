/*
 * test_techempower.c -- examples/techempower answers each TechEmpower test
 * type by the rules of the benchmark: Server and Date headers, the exact
 * Content-Type, the JSON shapes, ?queries= clamped to 1..500 (missing or
 * not a number -> 1), rows that match the database, fortunes with the one
 * added at request time, sorted and escaped, and updates that persist.
 *
 * The example is copied to a temp dir, served (dev server or export, argv[1]
 * as in every suite), and seeded with its own seed.sql through SQLite, the
 * way its README says. The test reads the same app.db to check answers.
 *
 * Usage: test_techempower COTDEV   (COTDEV may be "export:build/cotdev")
 */
#include "harness.h"
#include "t.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static h_server srv;
static sqlite3 *db;

/* Runs a file of SQL (seed.sql) on the app's database. */
static int
run_sql_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	static char sql[1 << 16];
	size_t n = fread(sql, 1, sizeof(sql) - 1, f);
	fclose(f);
	sql[n] = '\0';
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "# %s: %s\n", path, err ? err : "?");
	sqlite3_free(err);
	return rc == SQLITE_OK ? 0 : -1;
}

static long long
db_number(long long id)
{
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_prepare_v2(db, "SELECT randomNumber FROM World WHERE id = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Server and Date present, Content-Type exactly `type`. */
static void
check_headers(const char *what, const h_resp *r, const char *type)
{
	char name[128];
	char *server = h_resp_header(r, "Server"), *date = h_resp_header(r, "Date");
	char *ct = h_resp_header(r, "Content-Type");
	snprintf(name, sizeof(name), "%s: 200", what);
	T_CHECK(name, r->status == 200);
	snprintf(name, sizeof(name), "%s: Server header", what);
	T_CHECK(name, server != NULL && *server != '\0');
	snprintf(name, sizeof(name), "%s: Date header", what);
	T_CHECK(name, date != NULL && strstr(date, "GMT") != NULL);
	snprintf(name, sizeof(name), "%s: Content-Type", what);
	T_STREQ(name, ct ? ct : "(none)", type);
	free(server);
	free(date);
	free(ct);
}

/* {"id": 1..10000, "randomNumber": ...} and nothing else: returns the id
 * (number in *number), or -1 (said on stderr) for any other shape. */
static long long
check_world(const char *what, json_t *w, long long *number)
{
	json_t *id = json_object_get(w, "id"), *n = json_object_get(w, "randomNumber");
	if (!json_is_object(w) || json_object_size(w) != 2 || !json_is_integer(id) ||
	    !json_is_integer(n) || json_integer_value(id) < 1 || json_integer_value(id) > 10000) {
		char *text = json_dumps(w, JSON_ENCODE_ANY);
		fprintf(stderr, "# %s: not a World object: %s\n", what, text ? text : "(null)");
		free(text);
		return -1;
	}
	*number = json_integer_value(n);
	return json_integer_value(id);
}

static void
test_plaintext_json(void)
{
	h_resp r;
	h_get(&srv, "/plaintext", &r);
	check_headers("plaintext", &r, "text/plain");
	T_STREQ("plaintext: body", r.body ? r.body : "", "Hello, World!");
	h_resp_free(&r);

	h_get(&srv, "/json", &r);
	check_headers("json", &r, "application/json");
	json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
	T_CHECK("json: one key", json_is_object(j) && json_object_size(j) == 1);
	T_STREQ("json: message",
	        json_string_value(json_object_get(j, "message"))
	                ? json_string_value(json_object_get(j, "message"))
	                : "(none)",
	        "Hello, World!");
	json_decref(j);
	h_resp_free(&r);
}

static void
test_db(void)
{
	h_resp r;
	h_get(&srv, "/db", &r);
	check_headers("db", &r, "application/json");
	json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
	long long n = -1, id = check_world("db", j, &n);
	T_CHECK("db: a World object", id > 0);
	T_CHECK("db: randomNumber is the row's", id > 0 && db_number(id) == n);
	json_decref(j);
	h_resp_free(&r);
}

/* GET path; expects an array of `want` world objects matching the db. */
static void
check_rows(const char *path, size_t want)
{
	char name[256];
	h_resp r;
	h_get(&srv, path, &r);
	check_headers(path, &r, "application/json");
	json_t *a = json_loads(r.body ? r.body : "", 0, NULL);
	snprintf(name, sizeof(name), "%s: array of %zu", path, want);
	T_CHECK(name, json_is_array(a) && json_array_size(a) == want);
	size_t bad = 0;
	for (size_t i = 0; i < json_array_size(a); i++) {
		long long n = -1, id = check_world(path, json_array_get(a, i), &n);
		bad += id <= 0 || db_number(id) != n;
	}
	snprintf(name, sizeof(name), "%s: every row a World object matching the db", path);
	T_CHECK(name, bad == 0);
	json_decref(a);
	h_resp_free(&r);
}

static void
test_queries(void)
{
	check_rows("/queries", 1);
	check_rows("/queries?queries=", 1);
	check_rows("/queries?queries=foo", 1);
	check_rows("/queries?queries=0", 1);
	check_rows("/queries?queries=-3", 1);
	check_rows("/queries?queries=7", 7);
	check_rows("/queries?queries=20", 20);
	check_rows("/queries?queries=501", 500);
	check_rows("/queries?queries=100000", 500);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Undoes HTML escaping in place (&amp; &lt; &gt; &quot; &#39; &#x27; &#x2F; &#x3D;...). */
static void
unescape(char *s)
{
	char *w = s;
	while (*s) {
		if (*s == '&') {
			char *semi = strchr(s, ';');
			if (semi != NULL) {
				size_t len = (size_t)(semi - s + 1);
				char ch = 0;
				if (strncmp(s, "&amp;", len) == 0)
					ch = '&';
				else if (strncmp(s, "&lt;", len) == 0)
					ch = '<';
				else if (strncmp(s, "&gt;", len) == 0)
					ch = '>';
				else if (strncmp(s, "&quot;", len) == 0)
					ch = '"';
				else if (s[1] == '#')
					ch = (char)(s[2] == 'x' ? strtol(s + 3, NULL, 16)
					                        : strtol(s + 2, NULL, 10));
				if (ch != 0) {
					*w++ = ch;
					s = semi + 1;
					continue;
				}
			}
		}
		*w++ = *s++;
	}
	*w = '\0';
}

static void
test_fortunes(void)
{
	h_resp r;
	h_get(&srv, "/fortunes", &r);
	check_headers("fortunes", &r, "text/html; charset=utf-8");
	const char *body = r.body ? r.body : "";
	T_CHECK("fortunes: the <script> fortune is escaped",
	        strstr(body, "&lt;script&gt;") != NULL && strstr(body, "<script>") == NULL);
	T_CHECK("fortunes: a table with a header row",
	        strstr(body, "<tr><th>id</th><th>message</th></tr>") != NULL);

	/* Expected: the db's messages plus the added one, sorted bytewise. */
	char *want[64];
	int nwant = 0;
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT message FROM Fortune", -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW && nwant < 63)
		want[nwant++] = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	want[nwant++] = strdup("Additional fortune added at request time.");
	qsort(want, (size_t)nwant, sizeof(*want), cmp_str);
	T_CHECK("fortunes: 12 seeded + 1 added", nwant == 13);

	/* Got: the second cell of every row, in page order. */
	int ngot = 0, same = 1;
	const char *p = body;
	while ((p = strstr(p, "<tr><td>")) != NULL) {
		const char *m = strstr(p + 8, "</td><td>");
		const char *e = m ? strstr(m + 9, "</td></tr>") : NULL;
		if (e == NULL)
			break;
		char *msg = strndup(m + 9, (size_t)(e - m - 9));
		unescape(msg);
		if (ngot >= nwant || strcmp(msg, want[ngot]) != 0) {
			if (same)
				fprintf(stderr, "# row %d: got \"%s\"\n", ngot, msg);
			same = 0;
		}
		free(msg);
		ngot++;
		p = e;
	}
	T_CHECK("fortunes: every row, sorted by message", same && ngot == nwant);
	for (int i = 0; i < nwant; i++)
		free(want[i]);
	h_resp_free(&r);
}

/* Zeroes every randomNumber (outside 1..10000), updates, and checks each
 * returned row was written: the db holds the number last answered for it. */
static void
check_updates(const char *path, size_t want)
{
	char name[256];
	sqlite3_exec(db, "UPDATE World SET randomNumber = 0", NULL, NULL, NULL);
	h_resp r;
	h_get(&srv, path, &r);
	check_headers(path, &r, "application/json");
	json_t *a = json_loads(r.body ? r.body : "", 0, NULL);
	snprintf(name, sizeof(name), "%s: array of %zu", path, want);
	T_CHECK(name, json_is_array(a) && json_array_size(a) == want);
	size_t bad = 0;
	for (size_t i = 0; i < json_array_size(a); i++) {
		long long n = -1, id = check_world(path, json_array_get(a, i), &n);
		long long last = n;
		for (size_t k = i + 1; k < json_array_size(a); k++) /* a repeated id */
			if (json_integer_value(json_object_get(json_array_get(a, k), "id")) == id)
				last = json_integer_value(
				        json_object_get(json_array_get(a, k), "randomNumber"));
		bad += id <= 0 || n < 1 || n > 10000 || db_number(id) != last;
	}
	snprintf(name, sizeof(name), "%s: every row a World object, its new number in the db",
	         path);
	T_CHECK(name, bad == 0);
	json_decref(a);
	h_resp_free(&r);
}

static void
test_updates(void)
{
	check_updates("/updates", 1);
	check_updates("/updates?queries=bar", 1);
	check_updates("/updates?queries=0", 1);
	check_updates("/updates?queries=15", 15);
	check_updates("/updates?queries=501", 500);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV\n", argv[0]);
		return 2;
	}
	const char *home = getenv("COT_HOME") ? getenv("COT_HOME") : ".";
	h_target t = h_target_dev(argv[1]);
	char src[4096], app[] = "/tmp/cot-te-XXXXXX", path[4096], err[512];
	T_CHECK("temp dir", mkdtemp(app) != NULL);
	snprintf(src, sizeof(src), "%s/examples/techempower/.", home);
	h_cmd_result cr;
	const char *cp[] = {"/bin/cp", "-r", src, app, NULL};
	T_CHECK("copy the example", h_run_cmd(cp, H_DEADLINE_MS, &cr) == 0 && cr.exit_code == 0);
	h_cmd_result_free(&cr);
	if (h_server_start(&t, app, &srv, err, sizeof(err)) != 0) {
		fprintf(stderr, "# %s\n", err);
		T_CHECK("server starts", 0);
		h_rmtree(app);
		return T_DONE();
	}
	T_CHECK("open app.db",
	        sqlite3_open(h_path(path, sizeof(path), "%s/app.db", app), &db) == SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	T_CHECK("seed.sql", run_sql_file(h_path(path, sizeof(path), "%s/seed.sql", app)) == 0);

	test_plaintext_json();
	test_db();
	test_queries();
	test_fortunes();
	test_updates();

	sqlite3_close(db);
	h_thread_done();
	T_CHECK("server stops cleanly", h_server_stop(&srv) == 0);
	h_rmtree(app);
	return T_DONE();
}
