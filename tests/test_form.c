/*
 * test_form.c -- cot_form, cot_form_file, cot_form_error (runtime/form.c):
 * both encodings, their malformed variants and the 400 they force.
 */
#include "api_test.h"
#include "t.h"

#define URLENC "application/x-www-form-urlencoded"
#define MP(b)  "multipart/form-data; boundary=" b

static void
test_urlencoded(void)
{
	cot_ctx *c = t_form_ctx(URLENC "; charset=UTF-8",
	                        "a=1&b=x+y%21&&empty=&bare&a=2&%C3%A9=%e2%82%ac");
	T_STREQ("urlenc first of repeated", cot_form(c, "a"), "1");
	T_STREQ("urlenc plus and escape", cot_form(c, "b"), "x y!");
	T_STREQ("urlenc empty value", cot_form(c, "empty"), "");
	T_STREQ("urlenc name without =", cot_form(c, "bare"), "");
	T_STREQ("urlenc utf-8 name and value", cot_form(c, "\xc3\xa9"), "\xe2\x82\xac");
	T_CHECK("urlenc absent", cot_form(c, "zzz") == NULL);
	T_CHECK("urlenc no file", cot_form_file(c, "a") == NULL);
	T_CHECK("urlenc no error", cot_form_error(c) == NULL && c->reject_status == 0);
	t_free(c);

	c = t_form_ctx(" Application/X-WWW-Form-Urlencoded ", "k=v");
	T_STREQ("urlenc type case-insensitive", cot_form(c, "k"), "v");
	t_free(c);
}

static void
test_urlencoded_bad(void)
{
	const char *bad[] = {"a=%zz", "a=1&b=%4", "a=%", "x=%00", "%G1=2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cot_ctx *c = t_form_ctx(URLENC, bad[i]);
		char name[64];
		snprintf(name, sizeof(name), "urlenc bad %s", bad[i]);
		T_CHECK(name, cot_form(c, "a") == NULL && cot_form_error(c) != NULL &&
		                      c->reject_status == 400 &&
		                      strstr(c->reject_detail, "percent") != NULL);
		t_free(c);
	}
	cot_ctx *c = t_form_ctx(URLENC, "a=1&b=%4");
	cot_form(c, "a");
	T_STREQ("urlenc bad names field and byte", c->reject_detail,
	        "malformed form body: field 2 has bad percent-encoding at byte 6");
	t_free(c);

	c = t_ctx("a=1\0b=2", 7);
	t_header(c, "Content-Type", URLENC);
	T_CHECK("urlenc raw NUL is malformed",
	        cot_form(c, "a") == NULL && strstr(cot_form_error(c), "NUL") != NULL);
	t_free(c);
}

static void
test_not_a_form(void)
{
	cot_ctx *c = t_form_ctx("application/json", "{\"a\":1}");
	T_CHECK("json body: no field", cot_form(c, "a") == NULL);
	T_CHECK("json body: error says why",
	        cot_form_error(c) != NULL && strstr(cot_form_error(c), "application/json") != NULL);
	T_CHECK("json body: no forced 400", c->reject_status == 0);
	t_free(c);

	c = t_form_ctx(NULL, NULL);
	T_CHECK("no body, no type: empty form, no error",
	        cot_form(c, "a") == NULL && cot_form_error(c) == NULL && c->reject_status == 0);
	t_free(c);

	c = t_form_ctx(NULL, "a=1");
	T_CHECK("body without type: error", cot_form(c, "a") == NULL && cot_form_error(c) != NULL);
	t_free(c);
}

static const char mp_body[] =
        "preamble to ignore\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"title\"\r\n"
        "\r\n"
        "Hello\r\nworld\r\n"
        "--XyZ\r\n"
        "content-disposition: form-data; name=\"up\"; filename=\"a \\\"b\\\".bin\"\r\n"
        "Content-Type: image/png\r\n"
        "\r\n"
        "\x89PNG\0\r\n--XyZnot-a-delimiter\r\n"
        "--XyZ   \r\n"
        "Content-Disposition: form-data; name=empty; filename=\"\"\r\n"
        "\r\n"
        "\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"title\"\r\n"
        "\r\n"
        "second\r\n"
        "--XyZ--\r\n"
        "epilogue";

static void
test_multipart(void)
{
	cot_ctx *c = t_ctx(mp_body, sizeof(mp_body) - 1);
	t_header(c, "Content-Type", MP("\"XyZ\""));
	T_STREQ("mp field keeps CRLF inside", cot_form(c, "title"), "Hello\r\nworld");
	T_CHECK("mp no error", cot_form_error(c) == NULL && c->reject_status == 0);
	const cot_upload *f = cot_form_file(c, "up");
	T_CHECK("mp file found", f != NULL);
	if (f != NULL) {
		T_STREQ("mp filename unquoted", f->filename, "a \"b\".bin");
		T_STREQ("mp file type", f->content_type, "image/png");
		T_STREQ("mp file field name", f->name, "up");
		static const char want[] = "\x89PNG\0\r\n--XyZnot-a-delimiter";
		T_CHECK("mp file bytes with NUL and fake delimiter",
		        f->len == sizeof(want) - 1 && memcmp(f->data, want, sizeof(want) - 1) == 0);
	}
	T_CHECK("mp file part is not a field", cot_form(c, "up") == NULL);
	T_CHECK("mp empty file input is NULL", cot_form_file(c, "empty") == NULL);
	t_free(c);

	c = t_form_ctx(MP("b"), "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--");
	T_STREQ("mp opens with delimiter, token name", cot_form(c, "x"), "1");
	t_free(c);

	c = t_form_ctx(
	        MP("b"),
	        "--b\r\nContent-Disposition: form-data; name=f; filename=x.txt\r\n\r\nhi\r\n--b--");
	f = cot_form_file(c, "f");
	T_CHECK("mp file default type",
	        f != NULL && strcmp(f->content_type, "application/octet-stream") == 0);
	t_free(c);

	c = t_form_ctx(MP("b"), "--b--\r\n");
	T_CHECK("mp no parts", cot_form(c, "x") == NULL && cot_form_error(c) == NULL);
	t_free(c);
}

/* Each body is malformed; the error must mention `why`. */
static void
test_multipart_bad(void)
{
	struct {
		const char *ctype, *body, *why;
	} cases[] = {
	        {"multipart/form-data", "--b\r\n\r\nx\r\n--b--", "boundary parameter"},
	        {MP("b"), "no delimiter at all", "boundary line"},
	        {MP("b"), "--b\r\nContent-Disposition: form-data; name=x\r\n\r\ntruncated",
	         "truncated"},
	        {MP("b"), "--b\r\nContent-Disposition: form-data; name=x\r\n", "never end"},
	        {MP("b"), "--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--",
	         "Content-Disposition"},
	        {MP("b"), "--b\r\nContent-Disposition: form-data; filename=a\r\n\r\n1\r\n--b--",
	         "no name"},
	        {MP("b"), "--b\r\nContent-Disposition: form-data; name=\"x\r\n\r\n1\r\n--b--",
	         "no name"},
	        {MP("b"), "--bX\r\n", "not followed"},
	        {MP("b"), "--b\r\nbroken header\r\n\r\n1\r\n--b--", "without ':'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cot_ctx *c = t_form_ctx(cases[i].ctype, cases[i].body);
		char name[80];
		snprintf(name, sizeof(name), "mp bad %zu: %s", i, cases[i].why);
		const char *err = cot_form_error(c);
		T_CHECK(name, cot_form(c, "x") == NULL && err != NULL &&
		                      strstr(err, cases[i].why) != NULL && c->reject_status == 400);
		if (err == NULL || strstr(err, cases[i].why) == NULL)
			printf("# got: %s\n", err ? err : "(null)");
		t_free(c);
	}
}

static void
test_reject_first_wins(void)
{
	cot_ctx *c = t_form_ctx(URLENC, "a=%");
	cot_form(c, "a");
	ctx_reject(c, 500, "later");
	T_CHECK("first reject wins", c->reject_status == 400);
	t_free(c);
}

int
main(void)
{
	test_urlencoded();
	test_urlencoded_bad();
	test_not_a_form();
	test_multipart();
	test_multipart_bad();
	test_reject_first_wins();
	return T_DONE();
}
