/*
 * test_jw.c -- the JSON writer (runtime/jw.c) and the typed body readers
 * (runtime/body_read.c) without a server: nesting, every value type, escaping
 * and UTF-8 checks, rows with their SQL types (NULL, boolean and raw JSON
 * columns, nesting under a row), misuse named by its path, and body reads
 * whose errors name the path. Every text the writer makes is read back with
 * jansson, so "valid JSON" is checked by a real parser, not by eye.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_test.h"
#include "db.h"
#include "fields.h"
#include "t.h"

/* The writer's text parsed back; NULL when it is not JSON. */
static json_t *
parse(const char *text)
{
	return text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
}

static void
test_nesting(void)
{
	cot_ctx *c = t_ctx(NULL, 0);
	cot_jw *j = cot_jw_new(c);
	int i = -7;
	long long big = 9007199254740993LL;
	unsigned long long ubig = 18446744073709551615ULL;
	_Bool yes = 1;
	const char *none = NULL;
	char name[] = "ann";
	cot_jw_obj(j);
	cot_jw_put(j, "int", i);
	cot_jw_put(j, "big", big);
	cot_jw_put(j, "real", 2.5);
	cot_jw_put(j, "whole", 3.0);
	cot_jw_put(j, "tenth", 0.1);
	cot_jw_put(j, "float", 1.5f);
	cot_jw_put(j, "bool", yes);
	cot_jw_put(j, "jbool", cot_jbool(i < 0));
	cot_jw_put(j, "null", none);
	cot_jw_put(j, "jnull", cot_jnull());
	cot_jw_put(j, "name", name);
	cot_jw_put(j, "raw", cot_jraw("{\"x\":[1,2]}"));
	cot_jw_put_arr(j, "list");
	for (int k = 0; k < 3; k++)
		cot_jw_val(j, k);
	cot_jw_obj(j);
	cot_jw_put_obj(j, "deep");
	cot_jw_put_arr(j, "deeper");
	cot_jw_end(j);
	cot_jw_end(j);
	cot_jw_end(j);
	cot_jw_end(j);
	cot_jw_key(j, "last");
	cot_jw_val(j, "end");
	cot_jw_end(j);
	const char *text = cot_jw_text(j);
	T_CHECK("nested writer: complete", text != NULL && cot_jw_error(j) == NULL);
	printf("# %s\n", text ? text : cot_jw_error(j));
	json_t *v = parse(text);
	T_CHECK("nested writer: jansson reads it back", json_is_object(v));
	T_CHECK("int", json_integer_value(json_object_get(v, "int")) == -7);
	T_CHECK("64-bit int exact", json_integer_value(json_object_get(v, "big")) == big);
	T_CHECK("real", json_real_value(json_object_get(v, "real")) == 2.5);
	T_CHECK("a whole double stays a real", json_is_real(json_object_get(v, "whole")) && text &&
	                                               strstr(text, "\"whole\":3.0,"));
	T_CHECK("doubles: the shortest text that reads back",
	        text && strstr(text, "\"tenth\":0.1,"));
	T_CHECK("float", json_real_value(json_object_get(v, "float")) == 1.5);
	T_CHECK("_Bool -> true", json_is_true(json_object_get(v, "bool")));
	T_CHECK("cot_jbool -> true", json_is_true(json_object_get(v, "jbool")));
	T_CHECK("NULL char * -> null", json_is_null(json_object_get(v, "null")));
	T_CHECK("cot_jnull -> null", json_is_null(json_object_get(v, "jnull")));
	T_STREQ("char[] -> string", json_string_value(json_object_get(v, "name")), "ann");
	T_CHECK("raw JSON embedded",
	        json_integer_value(
	                json_array_get(json_object_get(json_object_get(v, "raw"), "x"), 1)) == 2);
	json_t *list = json_object_get(v, "list");
	T_CHECK("array of values, then a nested object",
	        json_array_size(list) == 4 && json_integer_value(json_array_get(list, 2)) == 2 &&
	                json_is_array(json_object_get(
	                        json_object_get(json_array_get(list, 3), "deep"), "deeper")));
	T_STREQ("a member after the nested ones", json_string_value(json_object_get(v, "last")),
	        "end");
	json_decref(v);
	j = cot_jw_new(c); /* jansson cannot read it back: json_int_t is 64-bit signed */
	cot_jw_val(j, ubig);
	T_STREQ("unsigned beyond int64 written in full", cot_jw_text(j), "18446744073709551615");
	t_free(c);
}

static void
test_strings(void)
{
	cot_ctx *c = t_ctx(NULL, 0);
	cot_jw *j = cot_jw_new(c);
	const char *nasty =
	        "q\"b\\s/\n\r\t\b\f\x01\x1f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 </script>";
	cot_jw_arr(j);
	cot_jw_val(j, nasty);
	cot_jw_val(j, "");
	cot_jw_end(j);
	json_t *v = parse(cot_jw_text(j));
	T_STREQ("escapes and UTF-8 survive a round trip", json_string_value(json_array_get(v, 0)),
	        nasty);
	T_CHECK("control characters as \\u00XX", strstr(cot_jw_text(j), "\\u0001\\u001f"));
	T_STREQ("empty string", json_string_value(json_array_get(v, 1)), "");
	json_decref(v);

	static const struct {
		const char *s, *name;
	} bad[] = {
	        {"a\xff", "byte 0xff"},
	        {"\xc0\xaf", "overlong /"},
	        {"\xed\xa0\x80", "UTF-16 surrogate"},
	        {"\xf4\x90\x80\x80", "past U+10FFFF"},
	        {"ab\xe2\x82", "truncated sequence"},
	        {"\x80", "lone continuation byte"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = cot_jw_new(c);
		cot_jw_obj(j);
		cot_jw_put_arr(j, "notes");
		cot_jw_val(j, "fine");
		cot_jw_obj(j);
		cot_jw_put(j, "title", bad[i].s);
		cot_jw_end(j);
		cot_jw_end(j);
		cot_jw_end(j);
		const char *err = cot_jw_error(j);
		char name[96];
		snprintf(name, sizeof(name), "invalid UTF-8 refused, naming the path: %s",
		         bad[i].name);
		T_CHECK(name,
		        cot_jw_text(j) == NULL && err != NULL &&
		                strstr(err, "at $.notes[1].title: text is not valid UTF-8") == err);
		if (err == NULL || strstr(err, "$.notes[1].title") == NULL)
			printf("# %s\n", err ? err : "(no error)");
	}
	t_free(c);
}

/* One misuse and the message it must produce. */
static void
check_misuse(const char *name, void (*fill)(cot_jw *), const char *want)
{
	cot_ctx *c = t_ctx(NULL, 0);
	cot_jw *j = cot_jw_new(c);
	fill(j);
	const char *err = cot_jw_error(j);
	T_CHECK(name, cot_jw_text(j) == NULL && err != NULL && strstr(err, want) != NULL);
	if (err == NULL || strstr(err, want) == NULL)
		printf("# got: %s\n", err ? err : "(none)");
	cot_result r = cot_jw_send(c, 200, j);
	T_CHECK("... and cot_jw_send answers 500 naming it",
	        r.status == 500 && c->status == 500 && strstr(c->resp_body, want) != NULL);
	t_free(c);
}

static void
m_nokey(cot_jw *j)
{
	cot_jw_obj(j);
	cot_jw_val(j, 1);
}
static void
m_keyarr(cot_jw *j)
{
	cot_jw_arr(j);
	cot_jw_key(j, "k");
}
static void
m_unclosed(cot_jw *j)
{
	cot_jw_obj(j);
	cot_jw_put_arr(j, "a");
}
static void
m_extra_end(cot_jw *j)
{
	cot_jw_arr(j);
	cot_jw_end(j);
	cot_jw_end(j);
}
static void
m_two(cot_jw *j)
{
	cot_jw_val(j, 1);
	cot_jw_val(j, 2);
}
static void
m_nan(cot_jw *j)
{
	cot_jw_arr(j);
	cot_jw_val(j, 1.0);
	cot_jw_val(j, NAN);
	cot_jw_end(j);
}
static void
m_raw(cot_jw *j)
{
	cot_jw_obj(j);
	cot_jw_put(j, "r", cot_jraw("{nope"));
	cot_jw_end(j);
}
static void
m_empty(cot_jw *j)
{
	(void)j;
}
static void
m_dangling(cot_jw *j)
{
	cot_jw_obj(j);
	cot_jw_key(j, "k");
	cot_jw_end(j);
}

static void
test_misuse(void)
{
	check_misuse("a value without a key in an object", m_nokey,
	             "at $: a value inside an "
	             "object needs a key");
	check_misuse("a key in an array", m_keyarr, "key \"k\" outside an object");
	check_misuse("a container left open", m_unclosed, "2 containers still open");
	check_misuse("one cot_jw_end too many", m_extra_end, "cot_jw_end with nothing open");
	check_misuse("two top-level values", m_two, "a second top-level value");
	check_misuse("NaN, naming the array index", m_nan, "at $[1]: NaN is not a JSON number");
	check_misuse("raw text that is not JSON", m_raw, "at $.r: raw text is not JSON");
	check_misuse("nothing written", m_empty, "nothing was written");
	check_misuse("a key without a value", m_dangling, "key \"k\" has no value");
}

/* ==== rows ============================================================= */

static char dbfile[] = "/tmp/test_jw_XXXXXX";

static void
test_rows(void)
{
	cot_ctx *c = t_ctx(NULL, 0);
	cot_db_exec(c, "CREATE TABLE t (id INTEGER, title TEXT, score REAL, done INTEGER, "
	               "tags TEXT, pic BLOB)");
	cot_db_exec(c, "INSERT INTO t VALUES (1, 'one', 1.5, 1, '[\"a\",\"b\"]', x'00ff10')");
	cot_db_exec(c, "INSERT INTO t VALUES (2, NULL, NULL, 0, NULL, NULL)");
	cot_rows *rs = cot_db_all(c, "SELECT * FROM t ORDER BY id");
	cot_jw *j = cot_jw_new(c);
	cot_jw_bools(j, "done", NULL);
	cot_jw_raws(j, "tags", NULL);
	cot_jw_val(j, rs);
	const char *text = cot_jw_text(j);
	printf("# %s\n", text ? text : cot_jw_error(j));
	json_t *v = parse(text), *r0 = json_array_get(v, 0), *r1 = json_array_get(v, 1);
	T_CHECK("rows: an array of objects", json_array_size(v) == 2 && json_is_object(r0));
	T_CHECK("INTEGER stays an integer", json_is_integer(json_object_get(r0, "id")));
	T_CHECK("REAL stays a real", json_real_value(json_object_get(r0, "score")) == 1.5);
	T_STREQ("TEXT is a string", json_string_value(json_object_get(r0, "title")), "one");
	T_CHECK("a column marked boolean: true / false",
	        json_is_true(json_object_get(r0, "done")) &&
	                json_is_false(json_object_get(r1, "done")));
	T_CHECK("a raw column nests its JSON",
	        json_is_array(json_object_get(r0, "tags")) &&
	                strcmp(json_string_value(json_array_get(json_object_get(r0, "tags"), 1)),
	                       "b") == 0);
	T_STREQ("BLOB as base64", json_string_value(json_object_get(r0, "pic")), "AP8Q");
	T_CHECK("NULL is null whatever the column (text, real, raw, blob)",
	        json_is_null(json_object_get(r1, "title")) &&
	                json_is_null(json_object_get(r1, "score")) &&
	                json_is_null(json_object_get(r1, "tags")) &&
	                json_is_null(json_object_get(r1, "pic")));
	T_CHECK("the column order is the SELECT's",
	        text && strstr(text, "{\"id\":1,\"title\":\"one\","));
	json_decref(v);

	/* nesting under a row: its columns, then more members */
	cot_row *first = cot_rows_get(rs, 0);
	j = cot_jw_new(c);
	cot_jw_obj(j);
	cot_jw_fields(j, first);
	cot_jw_put(j, "others", cot_db_all(c, "SELECT id FROM t WHERE id > ?", 1));
	cot_jw_put(j, "missing", cot_db_one(c, "SELECT id FROM t WHERE id = 99"));
	cot_jw_end(j);
	v = parse(cot_jw_text(j));
	T_CHECK("cot_jw_fields: the row's columns and more members",
	        json_integer_value(json_object_get(v, "id")) == 1 &&
	                json_integer_value(json_object_get(
	                        json_array_get(json_object_get(v, "others"), 0), "id")) == 2);
	T_CHECK("a NULL row is null", json_is_null(json_object_get(v, "missing")));
	T_CHECK("unmarked INTEGER 0/1 stays a number", json_is_integer(json_object_get(v, "done")));
	json_decref(v);

	j = cot_jw_new(c);
	cot_jw_bools(j, "title", NULL);
	cot_jw_val(j, first);
	T_CHECK("a boolean column holding text is refused, naming it",
	        cot_jw_error(j) && strstr(cot_jw_error(j), "column \"title\" is marked boolean"));

	/* the response */
	j = cot_jw_new(c);
	cot_jw_val(j, rs);
	cot_jw_send(c, 201, j);
	T_CHECK("cot_jw_send: status, type, body",
	        c->status == 201 && strcmp(c->content_type, "application/json") == 0 &&
	                c->resp_len == strlen(c->resp_body) && c->resp_body[0] == '[');
	t_free(c);
}

/* ==== body reads ======================================================= */

static cot_ctx *
body(const char *json)
{
	return t_form_ctx("application/json", json);
}

/* The field errors as "path=message;..." */
static const char *
fields(cot_ctx *c)
{
	char *s = arena_strdup(&c->mem, "");
	for (int i = 0; i < c->nfields; i++)
		s = arena_printf(&c->mem, "%s%s=%s;", s, c->fields[i].field, c->fields[i].message);
	return s;
}

static void
test_body(void)
{
	cot_ctx *c = body("{\"title\":\"hi\",\"n\":5,\"x\":2.5,\"ok\":true,\"none\":null,"
	                  "\"author\":{\"name\":\"ann\",\"tags\":[\"a\",{\"k\":7}]},\"s\":\"5\"}");
	T_STREQ("str", cot_body_str(c, "title"), "hi");
	T_CHECK("int", cot_body_int(c, "n") == 5);
	T_CHECK("double (an integer is a number)",
	        cot_body_double(c, "x") == 2.5 && cot_body_double(c, "n") == 5.0);
	T_CHECK("bool", cot_body_bool(c, "ok") == 1);
	T_STREQ("nested path", cot_body_str(c, "author.name"), "ann");
	T_STREQ("array index", cot_body_str(c, "author.tags[0]"), "a");
	T_CHECK("object in an array", cot_body_int(c, "author.tags[1].k") == 7);
	T_CHECK("count", cot_body_count(c, "author.tags") == 2 && cot_body_count(c, "gone") == 0);
	T_CHECK("has", cot_body_has(c, "author.name") && !cot_body_has(c, "none") &&
	                       !cot_body_has(c, "gone.deeper"));
	T_STREQ("_or: missing -> default", cot_body_str_or(c, "gone", "dflt"), "dflt");
	T_CHECK("_or: null -> default", cot_body_int_or(c, "none", 9) == 9);
	T_CHECK("no field errors so far", c->nfields == 0 && c->reject_status == 0);
	T_STREQ("missing required -> \"\"", cot_body_str(c, "author.email"), "");
	T_CHECK("wrong type -> 0", cot_body_int(c, "s") == 0);
	cot_body_str(c, "n");
	cot_body_bool(c, "x");
	cot_body_int(c, "x");
	cot_body_str(c, "title.first");
	cot_body_str(c, "author.tags.k");
	cot_body_count(c, "title");
	cot_body_str_or(c, "n", NULL);
	cot_body_str(c, "author.email"); /* twice: said once */
	T_STREQ("every problem, named by its path, once each", fields(c),
	        "author.email=is required;s=must be an integer;n=must be a string;"
	        "x=must be true or false;x=must be an integer;title=must be an object;"
	        "author.tags=must be an object;title=must be an array;");
	T_CHECK("field errors do not reject the body (the 422 is theirs)", c->reject_status == 0);
	c->status = 201; /* the handler answers a success anyway... */
	fields_reject(c);
	T_CHECK("... and the request answers 422 listing them",
	        c->status == 422 && strstr(c->resp_body, "author.email is required"));
	t_free(c);

	c = body("[1,2]");
	cot_body_str(c, "title");
	T_CHECK("a path into a body that is not an object: 400",
	        c->reject_status == 400 && strstr(c->reject_detail, "must be a JSON object"));
	t_free(c);
	c = body("{\"a\":");
	T_STREQ("malformed body: required str gives \"\"", cot_body_str(c, "a"), "");
	T_CHECK("... 400 from the parser, no field error",
	        c->reject_status == 400 && c->nfields == 0);
	t_free(c);
	c = body("{\"a\":[1]}");
	T_CHECK("index past the end is missing",
	        cot_body_int_or(c, "a[5]", -1) == -1 && c->nfields == 0);
	cot_body_int(c, "a[x]");
	T_CHECK("a bad path is named",
	        c->nfields == 1 && strstr(fields(c), "a[x]=is not a valid path"));
	t_free(c);
}

int
main(void)
{
	int fd = mkstemp(dbfile);
	close(fd);
	char err[256];
	T_CHECK("db_init", db_init(dbfile, err, sizeof(err)) == 0);
	test_nesting();
	test_strings();
	test_misuse();
	test_rows();
	test_body();
	db_shutdown();
	char path[64];
	unlink(dbfile);
	snprintf(path, sizeof(path), "%s-wal", dbfile);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", dbfile);
	unlink(path);
	return T_DONE();
}
