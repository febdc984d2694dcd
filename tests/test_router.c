/*
 * test_router.c -- runtime/router.c: patterns, slots, path splitting and
 * percent-decoding, and the 404 / 405 / HEAD rules of router_lookup.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "t.h"

static cot_result
fake_handler(cot_ctx *c)
{
	(void)c;
	cot_result r = {200};
	return r;
}

/* Splits `raw` into segs (arena-backed); returns the count or -1. */
static int
split(arena *a, const char *raw, char **segs)
{
	return router_split_path(a, raw, segs, ROUTER_MAX_SEGS);
}

/* Looks up method+raw path; the reference taken is released at once. */
static enum router_result
lookup(const char *method, const char *raw, route_match *m)
{
	arena a;
	arena_init(&a);
	char *segs[ROUTER_MAX_SEGS];
	int n = split(&a, raw, segs);
	enum router_result r = n < 0 ? ROUTER_NOT_FOUND : router_lookup(method, segs, n, m);
	if (r == ROUTER_FOUND) {
		/* keep params usable after the arena dies: copy them to static storage */
		static char vals[ROUTER_MAX_PARAMS][256];
		for (int i = 0; i < m->nparams; i++) {
			snprintf(vals[i], sizeof(vals[i]), "%s", m->values[i]);
			m->values[i] = vals[i];
		}
		router_release(m->b);
	}
	arena_free(&a);
	return r;
}

static const char *
param(const route_match *m, const char *name)
{
	for (int i = 0; i < m->nparams; i++)
		if (strcmp(m->names[i], name) == 0)
			return m->values[i];
	return NULL;
}

static binding bindings[64];
static int nbindings;

/* Creates the slot and binds a fresh binding whose `line` identifies it. */
static int
route(const char *method, const char *pattern, int id)
{
	char err[256];
	int s = router_slot(method, pattern, err, sizeof(err));
	if (s < 0) {
		printf("# router_slot(%s %s): %s\n", method, pattern, err);
		return -1;
	}
	binding *b = &bindings[nbindings++];
	*b = (binding){.fn = fake_handler, .owner = NULL, .file = "handlers/t.c", .line = id};
	router_bind(s, b);
	return s;
}

static void
test_patterns(void)
{
	char err[256];
	T_CHECK("pattern /notes/:id is valid",
	        router_pattern_valid("/notes/:id", err, sizeof(err)));
	T_CHECK("pattern / is valid", router_pattern_valid("/", err, sizeof(err)));
	T_CHECK("pattern without a leading / is refused",
	        !router_pattern_valid("notes", err, sizeof(err)) && strstr(err, "'/'") != NULL);
	T_CHECK("a parameter without a name is refused",
	        !router_pattern_valid("/notes/:", err, sizeof(err)));
	T_CHECK("'?' in a pattern is refused", !router_pattern_valid("/a?b", err, sizeof(err)));
	T_CHECK("'%' in a pattern is refused", !router_pattern_valid("/a%20", err, sizeof(err)));
	T_CHECK("a space in a pattern is refused", !router_pattern_valid("/a b", err, sizeof(err)));
	T_CHECK("NULL pattern is refused", !router_pattern_valid(NULL, err, sizeof(err)));
	char many[512] = "";
	for (int i = 0; i < ROUTER_MAX_PARAMS + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "/:p%d", i);
	T_CHECK("too many parameters are refused", !router_pattern_valid(many, err, sizeof(err)));

	int a = router_slot("GET", "/slots/x", err, sizeof(err));
	int b = router_slot("GET", "/slots/x", err, sizeof(err));
	int c = router_slot("POST", "/slots/x", err, sizeof(err));
	T_CHECK("the same (method, pattern) gets the same slot", a >= 0 && a == b);
	T_CHECK("another method gets another slot", c >= 0 && c != a);
	T_CHECK("a new slot starts switched off", router_binding(a) == NULL);
	T_STREQ("slot method", router_slot_method(c), "POST");
	T_STREQ("slot pattern", router_slot_pattern(c), "/slots/x");
	T_CHECK("an over-long method is refused",
	        router_slot("VERYLONGMETHOD", "/x", err, sizeof(err)) < 0);
	T_CHECK("a bad pattern gets no slot", router_slot("GET", "x", err, sizeof(err)) < 0);
}

static void
test_decode(void)
{
	char s1[] = "a%20b%2fc", s2[] = "a+b", s3[] = "a+b", s4[] = "%zz", s5[] = "%2",
	     s6[] = "%00", s7[] = "%C3%A9", s8[] = "abc%", s9[] = "%4";
	T_CHECK("%20 and %2f decode",
	        router_percent_decode(s1, false) == 5 && strcmp(s1, "a b/c") == 0);
	T_CHECK("'+' stays '+' in a path",
	        router_percent_decode(s2, false) == 3 && strcmp(s2, "a+b") == 0);
	T_CHECK("'+' is a space in a query",
	        router_percent_decode(s3, true) == 3 && strcmp(s3, "a b") == 0);
	T_CHECK("%zz is malformed", router_percent_decode(s4, false) == (size_t)-1);
	T_CHECK("%2 at the end is malformed", router_percent_decode(s5, false) == (size_t)-1);
	T_CHECK("an encoded NUL is refused", router_percent_decode(s6, false) == (size_t)-1);
	T_CHECK("UTF-8 bytes decode",
	        router_percent_decode(s7, false) == 2 && strcmp(s7, "\xc3\xa9") == 0);
	T_CHECK("a lone % at the end is malformed", router_percent_decode(s8, false) == (size_t)-1);
	T_CHECK("%4 at the end is malformed", router_percent_decode(s9, false) == (size_t)-1);

	arena a;
	arena_init(&a);
	char *segs[ROUTER_MAX_SEGS];
	int n = split(&a, "/files/a%2Fb/raw", segs);
	T_CHECK("%2F stays inside its segment", n == 3 && strcmp(segs[1], "a/b") == 0);
	n = split(&a, "//notes///7/", segs);
	T_CHECK("empty segments are dropped",
	        n == 2 && strcmp(segs[0], "notes") == 0 && strcmp(segs[1], "7") == 0);
	T_CHECK("/ has no segments", split(&a, "/", segs) == 0);
	T_CHECK("a bad escape makes the path malformed", split(&a, "/notes/%G1", segs) < 0);
	char deep[ROUTER_MAX_SEGS * 2 + 8] = "";
	for (int i = 0; i <= ROUTER_MAX_SEGS; i++)
		strcat(deep, "/a");
	T_CHECK("more segments than the limit is malformed", split(&a, deep, segs) < 0);
	arena_free(&a);
}

static void
test_lookup(void)
{
	route_match m;
	route("GET", "/notes", 1);
	route("GET", "/notes/:id", 2);
	route("DELETE", "/notes/:id", 3);
	route("GET", "/notes/new", 4);
	route("GET", "/users/:user/notes/:note", 5);
	route("POST", "/form", 6);
	route("GET", "/", 7);
	route("GET", "/files/:name", 8);

	memset(&m, 0, sizeof(m));
	T_CHECK("GET /notes found", lookup("GET", "/notes", &m) == ROUTER_FOUND && m.b->line == 1);
	memset(&m, 0, sizeof(m));
	T_CHECK("GET /notes/7 finds :id",
	        lookup("GET", "/notes/7", &m) == ROUTER_FOUND && m.b->line == 2);
	T_STREQ("... with id=7", param(&m, "id"), "7");
	memset(&m, 0, sizeof(m));
	T_CHECK("GET / found", lookup("GET", "/", &m) == ROUTER_FOUND && m.b->line == 7);
	memset(&m, 0, sizeof(m));
	T_CHECK("two parameters", lookup("GET", "/users/ann/notes/3", &m) == ROUTER_FOUND &&
	                                  m.b->line == 5 && m.nparams == 2);
	T_STREQ("... user", param(&m, "user"), "ann");
	T_STREQ("... note", param(&m, "note"), "3");
	memset(&m, 0, sizeof(m));
	T_CHECK("parameter values are percent-decoded",
	        lookup("GET", "/files/a%20b%2Fc", &m) == ROUTER_FOUND && m.b->line == 8);
	T_STREQ("... %2F inside a parameter stays one value", param(&m, "name"), "a b/c");
	memset(&m, 0, sizeof(m));
	T_CHECK("a trailing slash matches the same route",
	        lookup("GET", "/notes/7/", &m) == ROUTER_FOUND && m.b->line == 2);

	memset(&m, 0, sizeof(m));
	T_CHECK("unknown path is NOT_FOUND", lookup("GET", "/nope", &m) == ROUTER_NOT_FOUND);
	memset(&m, 0, sizeof(m));
	T_CHECK("too many segments is NOT_FOUND",
	        lookup("GET", "/notes/7/x", &m) == ROUTER_NOT_FOUND);
	memset(&m, 0, sizeof(m));
	T_CHECK("known path, wrong method is BAD_METHOD",
	        lookup("PUT", "/notes/7", &m) == ROUTER_BAD_METHOD);
	T_STREQ("... allow lists GET, DELETE and HEAD", m.allow, "GET, DELETE, HEAD");
	memset(&m, 0, sizeof(m));
	T_CHECK("POST-only path, GET is BAD_METHOD",
	        lookup("GET", "/form", &m) == ROUTER_BAD_METHOD);
	T_STREQ("... allow is POST (no HEAD without GET)", m.allow, "POST");
	memset(&m, 0, sizeof(m));
	T_CHECK("HEAD on a POST-only path is BAD_METHOD",
	        lookup("HEAD", "/form", &m) == ROUTER_BAD_METHOD);
	memset(&m, 0, sizeof(m));
	T_CHECK("HEAD is served by GET",
	        lookup("HEAD", "/notes/9", &m) == ROUTER_FOUND && m.b->line == 2);
	memset(&m, 0, sizeof(m));
	T_CHECK("methods are case-sensitive", lookup("get", "/notes", &m) == ROUTER_BAD_METHOD);
}

static void
test_switched_off(void)
{
	route_match m;
	char err[256];
	int s = route("GET", "/off", 20);
	int p = route("POST", "/off", 21);
	memset(&m, 0, sizeof(m));
	T_CHECK("a bound route is found", lookup("GET", "/off", &m) == ROUTER_FOUND);
	router_bind(s, NULL);
	memset(&m, 0, sizeof(m));
	T_CHECK("switched off GET, POST still bound: 405",
	        lookup("GET", "/off", &m) == ROUTER_BAD_METHOD);
	T_STREQ("... allow is POST", m.allow, "POST");
	router_bind(p, NULL);
	memset(&m, 0, sizeof(m));
	T_CHECK("both switched off: 404", lookup("GET", "/off", &m) == ROUTER_NOT_FOUND);
	int again = router_slot("GET", "/off", err, sizeof(err));
	T_CHECK("the switched-off route keeps its slot", again == s);
	binding *b = &bindings[nbindings++];
	*b = (binding){.fn = fake_handler, .file = "handlers/t.c", .line = 22};
	router_bind(again, b);
	memset(&m, 0, sizeof(m));
	T_CHECK("re-binding the slot serves again",
	        lookup("GET", "/off", &m) == ROUTER_FOUND && m.b->line == 22);

	/* A literal route declared before a parameter route of the same shape wins. */
	route("GET", "/order/first", 30);
	route("GET", "/order/:any", 31);
	memset(&m, 0, sizeof(m));
	T_CHECK("the earlier slot wins when two patterns match",
	        lookup("GET", "/order/first", &m) == ROUTER_FOUND && m.b->line == 30);
	memset(&m, 0, sizeof(m));
	T_CHECK("the parameter route takes the rest",
	        lookup("GET", "/order/other", &m) == ROUTER_FOUND && m.b->line == 31);
}

static void
test_refcount(void)
{
	code_owner o;
	atomic_init(&o.refs, 0);
	atomic_init(&o.retired, false);
	binding *b = &bindings[nbindings++];
	*b = (binding){.fn = fake_handler, .owner = &o, .file = "handlers/r.c", .line = 40};
	char err[256];
	int s = router_slot("GET", "/counted", err, sizeof(err));
	router_bind(s, b);
	route_match m;
	memset(&m, 0, sizeof(m));
	arena a;
	arena_init(&a);
	char *segs[ROUTER_MAX_SEGS];
	int n = split(&a, "/counted", segs);
	T_CHECK("lookup of an owned binding", router_lookup("GET", segs, n, &m) == ROUTER_FOUND);
	T_CHECK("... holds one reference", atomic_load(&o.refs) == 1);
	router_release(m.b);
	T_CHECK("release drops it", atomic_load(&o.refs) == 0);
	memset(&m, 0, sizeof(m));
	T_CHECK("405 takes no reference", router_lookup("PUT", segs, n, &m) == ROUTER_BAD_METHOD &&
	                                          atomic_load(&o.refs) == 0);
	arena_free(&a);
	router_bind(s, NULL);
}

/* The most literal pattern wins, whatever the declaration order. */
static void
test_specificity(void)
{
	route_match m;
	route("GET", "/spec/:id", 40);
	route("GET", "/spec/new", 41);
	route("GET", "/spec/:a/:b", 42);
	route("GET", "/spec/:a/edit", 43);
	T_CHECK("/spec/new beats an earlier /spec/:id",
	        lookup("GET", "/spec/new", &m) == ROUTER_FOUND && m.b->line == 41);
	T_CHECK("/spec/7 still finds /spec/:id", lookup("GET", "/spec/7", &m) == ROUTER_FOUND &&
	                                                 m.b->line == 40 && m.nparams == 1 &&
	                                                 strcmp(m.values[0], "7") == 0);
	T_CHECK("/spec/7/edit beats /spec/:a/:b, with its own parameters",
	        lookup("GET", "/spec/7/edit", &m) == ROUTER_FOUND && m.b->line == 43 &&
	                m.nparams == 1 && strcmp(m.names[0], "a") == 0);
}

int
main(void)
{
	test_patterns();
	test_decode();
	test_lookup();
	test_specificity();
	test_switched_off();
	test_refcount();
	router_reset();
	T_CHECK("router_reset empties the table", router_count() == 0);
	return T_DONE();
}
