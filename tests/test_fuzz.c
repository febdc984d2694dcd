/*
 * test_fuzz.c -- seeded random inputs for every request-parsing path, run
 * under ASan/UBSan by make test (issue 6, item 5).
 *
 * Targets: urlencoded forms, multipart bodies with random boundaries, Cookie
 * headers and Set-Cookie values, JSON bodies, path percent-decoding and
 * splitting (router.c) and query decoding (the same router_percent_decode
 * with '+' as space, which is all cot_query adds). Each target mutates seed
 * inputs and also generates structured random ones whose parse must give
 * back what was encoded (round trips), so the test checks answers, not only
 * the absence of crashes.
 *
 * Reproducible: the seed is fixed (COT_FUZZ_SEED overrides it) and printed
 * with the number of inputs tried; COT_FUZZ_SCALE multiplies the counts.
 */
#include <jansson.h>
#include <stdint.h>

#include "api_test.h"
#include "t.h"

static uint64_t rng;
static long inputs;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Du;
}

static size_t
below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* ==== mutation ========================================================= */

#define FUZZ_MAX 4096

static const char *const tokens[] = {
        "%",
        "%0",
        "%00",
        "%2",
        "%zz",
        "%41",
        "&",
        "=",
        "+",
        "\r\n",
        "\r\n\r\n",
        "--",
        "--b",
        "\r\n--b",
        "\r\n--b--",
        "\"",
        ";",
        "\\",
        " ",
        "\t",
        "\0",
        "\xff",
        "Content-Disposition: form-data; name=",
        "filename=\"",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"\\u",
        "\\ud800",
        "1e999",
        "-",
        "/",
        "//",
        "%2F",
        "..",
};

/* Applies 1-4 random edits to buf[0..*len), keeping it under FUZZ_MAX. */
static void
mutate(char *buf, size_t *len)
{
	int edits = 1 + (int)below(4);
	for (int e = 0; e < edits; e++) {
		size_t n = *len, at = below(n + 1);
		switch (below(6)) {
		case 0: /* flip a byte */
			if (n > 0)
				buf[below(n)] ^= (char)(1u << below(8));
			break;
		case 1: /* random byte */
			if (n > 0)
				buf[below(n)] = (char)rnd();
			break;
		case 2: /* delete a range */
			if (n > 0) {
				size_t k = 1 + below(n - at < 16 ? n - at + 1 : 16);
				if (at + k > n)
					k = n - at;
				memmove(buf + at, buf + at + k, n - at - k);
				*len = n - k;
			}
			break;
		case 3: { /* insert a token */
			const char *t = tokens[below(sizeof(tokens) / sizeof(tokens[0]))];
			size_t k = t[0] ? strlen(t) : 1;
			if (n + k < FUZZ_MAX) {
				memmove(buf + at + k, buf + at, n - at);
				memcpy(buf + at, t, k);
				*len = n + k;
			}
			break;
		}
		case 4: /* truncate */
			*len = at;
			break;
		default: /* duplicate a range */
			if (n > 0 && n * 2 < FUZZ_MAX) {
				size_t from = below(n), k = 1 + below(n - from);
				memmove(buf + at + k, buf + at, n - at);
				memmove(buf + at, buf + (from < at ? from : from + k), k);
				*len = n + k;
			}
		}
	}
}

/* A mutated copy of one of `seeds` in buf; returns its length. */
static size_t
mutated_seed(char *buf, const char *const *seeds, size_t nseeds)
{
	const char *s = seeds[below(nseeds)];
	size_t len = strlen(s);
	memcpy(buf, s, len);
	mutate(buf, &len);
	return len;
}

/* ==== urlencoded forms ================================================= */

static const char *const urlenc_seeds[] = {
        "a=1&b=x+y%21", "name=%C3%A9t%C3%A9&empty=&bare&&a=2", "=v&k=",
        "%41%42=%43",   "q=hello+world&page=2&tags=a&tags=b",  "x=%ZZ&y=%",
};

/* Percent-encodes n random bytes (no NUL) into out; returns the raw bytes. */
static void
random_field(char *raw, size_t n, char *enc)
{
	for (size_t i = 0; i < n; i++) {
		raw[i] = (char)(1 + below(255));
		unsigned char ch = (unsigned char)raw[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')
			*enc++ = (char)ch;
		else if (ch == ' ')
			*enc++ = '+';
		else
			enc += sprintf(enc, "%%%02X", ch);
	}
	raw[n] = '\0';
	*enc = '\0';
}

static void
fuzz_urlencoded(long n)
{
	char buf[FUZZ_MAX];
	int roundtrip_fail = 0;
	for (long i = 0; i < n; i++, inputs++) {
		cot_ctx *c;
		if (i % 4 == 0) { /* round trip of random fields */
			char k[40], v[40], ek[130], ev[130];
			random_field(k, 1 + below(30), ek);
			random_field(v, below(30), ev);
			snprintf(buf, sizeof(buf), "z=0&%s=%s&y=1", ek, ev);
			c = t_form_ctx("application/x-www-form-urlencoded", buf);
			const char *got = cot_form(c, k);
			if (strcmp(k, "z") != 0 && (got == NULL || strcmp(got, v) != 0))
				roundtrip_fail++;
		} else {
			size_t len = mutated_seed(buf, urlenc_seeds,
			                          sizeof(urlenc_seeds) / sizeof(urlenc_seeds[0]));
			c = t_ctx(buf, len);
			t_header(c, "Content-Type", "application/x-www-form-urlencoded");
			cot_form(c, "a");
			cot_form_file(c, "a");
			if (cot_form_error(c) != NULL && c->reject_status != 400)
				roundtrip_fail++;
		}
		t_free(c);
	}
	T_CHECK("fuzz urlencoded: round trips and errors force 400", roundtrip_fail == 0);
}

/* ==== multipart ======================================================== */

static const char bchars[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?";

/* Builds a multipart body of random parts into buf; records part 0. */
static size_t
random_multipart(char *buf, char *boundary, char *data0, size_t *len0, int *file0)
{
	size_t blen = 1 + below(70), len = 0;
	for (size_t i = 0; i < blen; i++)
		boundary[i] = bchars[below(sizeof(bchars) - 1)];
	boundary[blen] = '\0';
	if (below(3) == 0)
		len += (size_t)sprintf(buf, "preamble %zu\r\n", below(100));
	int parts = (int)below(4);
	for (int p = 0; p < parts; p++) {
		char data[200];
		size_t dlen = below(sizeof(data));
		for (size_t i = 0; i < dlen; i++) {
			data[i] = below(4) == 0 ? "\r\n-\0"[below(4)] : (char)rnd();
			if (data[i] == '-' && i >= 2 && data[i - 2] == '\r' && data[i - 1] == '\n')
				data[i] = 'x'; /* no "\r\n--" inside: it could be a delimiter */
		}
		int file = (int)below(2);
		len += (size_t)sprintf(buf + len,
		                       "--%s\r\nContent-Disposition: form-data; "
		                       "name=\"f%d\"%s\r\n%s\r\n",
		                       boundary, p, file ? "; filename=\"x.bin\"" : "",
		                       file ? "Content-Type: application/x-test\r\n" : "");
		memcpy(buf + len, data, dlen);
		len += dlen;
		len += (size_t)sprintf(buf + len, "\r\n");
		if (p == 0) {
			memcpy(data0, data, dlen);
			*len0 = dlen;
			*file0 = file;
		}
	}
	len += (size_t)sprintf(buf + len, "--%s--\r\n", boundary);
	return len;
}

/* True if part 0 came back as it was sent. */
static bool
multipart_part0_ok(cot_ctx *c, const char *data0, size_t len0, int file0)
{
	if (file0) {
		const cot_upload *f = cot_form_file(c, "f0");
		if (len0 == 0)
			return true; /* an empty file with a filename is still a file */
		return f != NULL && f->len == len0 && memcmp(f->data, data0, len0) == 0 &&
		       strcmp(f->content_type, "application/x-test") == 0;
	}
	const char *v = cot_form(c, "f0");
	return v != NULL && memcmp(v, data0, strnlen(data0, len0)) == 0;
}

static void
fuzz_multipart(long n)
{
	static char buf[FUZZ_MAX * 2];
	int fail = 0;
	for (long i = 0; i < n; i++, inputs++) {
		char boundary[80], ctype[160], data0[200];
		size_t len0 = 0;
		int file0 = 0;
		size_t len = random_multipart(buf, boundary, data0, &len0, &file0);
		bool intact = len < FUZZ_MAX && i % 2 == 0;
		if (!intact && len < FUZZ_MAX)
			mutate(buf, &len);
		snprintf(ctype, sizeof(ctype),
		         below(2) ? "multipart/form-data; boundary=%s"
		                  : "multipart/form-data; charset=x; boundary=\"%s\"",
		         boundary);
		cot_ctx *c = t_ctx(buf, len);
		t_header(c, "Content-Type", ctype);
		const char *err = cot_form_error(c);
		/* data that happens to hold "\r\n--BOUNDARY\r\n" is a different body */
		bool clean = memmem(data0, len0, "\r\n--", 4) == NULL;
		if (intact && clean &&
		    (err != NULL || (len0 > 0 && !multipart_part0_ok(c, data0, len0, file0)))) {
			if (fail++ == 0)
				printf("# multipart round trip failed: %s\n",
				       err ? err : "part 0 differs");
		}
		if (err != NULL && c->reject_status != 400)
			fail++;
		cot_form_file(c, "f1");
		t_free(c);
	}
	T_CHECK("fuzz multipart: random boundaries round trip, mutations never crash", fail == 0);
}

/* ==== cookies ========================================================== */

static void
fuzz_cookies(long n)
{
	static const char alphabet[] = "ab=; \"\t,\\x\x01\xff";
	int fail = 0;
	for (long i = 0; i < n; i++, inputs++) {
		char hdr[64], name[12], value[24];
		size_t hlen = below(sizeof(hdr) - 1);
		for (size_t k = 0; k < hlen; k++)
			hdr[k] = alphabet[below(sizeof(alphabet) - 1)];
		hdr[hlen] = '\0';
		cot_ctx *c = t_ctx(NULL, 0);
		t_header(c, "Cookie", hdr);
		cot_cookie(c, "a");
		cot_cookie(c, "ab");
		t_free(c);

		/* what cot_set_cookie accepts must read back unchanged */
		size_t nl = below(sizeof(name) - 1), vl = below(sizeof(value) - 1);
		for (size_t k = 0; k < nl; k++)
			name[k] = (char)(below(2) ? 'a' + below(26) : 1 + below(255));
		for (size_t k = 0; k < vl; k++)
			value[k] = (char)(below(2) ? 'a' + below(26) : 1 + below(255));
		name[nl] = value[vl] = '\0';
		c = t_ctx(NULL, 0);
		if (cot_set_cookie(c, name, value, NULL) == 0) {
			const char *set = t_resp_header(c, "Set-Cookie");
			for (const char *p = set; *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
					fail++;
			cot_ctx *back = t_ctx(NULL, 0);
			t_header(back, "Cookie", set);
			const char *got = cot_cookie(back, name);
			if (got == NULL || strcmp(got, value) != 0)
				fail++;
			t_free(back);
		} else if (c->reject_status != 500) {
			fail++;
		}
		t_free(c);
	}
	T_CHECK("fuzz cookies: accepted Set-Cookie reads back, no control bytes", fail == 0);
}

/* ==== JSON bodies ====================================================== */

static const char *const json_seeds[] = {
        "{\"a\": [1, 2.5e3, -0, true, false, null], \"s\": \"\\u00e9\\n\"}",
        "[[[[[[[[[[]]]]]]]]]]",
        "\"\\ud83d\\ude00\"",
        "{\"k\": {\"k\": {\"k\": 1}}}",
        "12345678901234567890123",
        "[1,]",
        "{\"a\" 1}",
};

static void
fuzz_json(long n)
{
	char buf[FUZZ_MAX];
	int fail = 0;
	for (long i = 0; i < n; i++, inputs++) {
		size_t len =
		        mutated_seed(buf, json_seeds, sizeof(json_seeds) / sizeof(json_seeds[0]));
		cot_ctx *c = t_ctx(buf, len);
		json_t *j = cot_body_json(c);
		if (j != NULL) { /* what parsed must survive a dump and re-parse */
			char *s = json_dumps(j, JSON_ENCODE_ANY);
			json_t *again = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
			if (again == NULL || !json_equal(j, again))
				fail++;
			json_decref(again);
			free(s);
		} else if (c->reject_status != 400 || strstr(c->reject_detail, "line") == NULL) {
			if (len > 0)
				fail++;
		}
		t_free(c);
	}
	T_CHECK("fuzz json: parsed values round trip, errors name the line", fail == 0);
}

/* ==== paths and queries (router.c) ===================================== */

static void
fuzz_percent(long n)
{
	static const char alphabet[] = "%/+aZ09fF\0x~.";
	int fail = 0;
	for (long i = 0; i < n; i++, inputs++) {
		char s[80], copy[80];
		size_t len = below(sizeof(s) - 1);
		for (size_t k = 0; k < len; k++)
			s[k] = i % 2 ? alphabet[below(sizeof(alphabet) - 2)]
			             : (char)(1 + below(255));
		s[len] = '\0';
		memcpy(copy, s, len + 1);
		size_t r = router_percent_decode(copy, i % 3 == 0); /* query: '+' is space */
		if (r != (size_t)-1 && (r > len || strlen(copy) != r))
			fail++;
		arena a;
		arena_init(&a);
		char *segs[8];
		int nseg = router_split_path(&a, s, segs, 8);
		for (int k = 0; k < nseg; k++)
			if (segs[k][0] == '\0' && strchr(s, '%') == NULL)
				fail++; /* an empty segment only from decoding, never from "//" */
		arena_free(&a);
	}
	T_CHECK("fuzz percent-decoding and path splitting", fail == 0);
}

int
main(void)
{
	const char *seed = getenv("COT_FUZZ_SEED"), *scale_s = getenv("COT_FUZZ_SCALE");
	uint64_t s = seed ? strtoull(seed, NULL, 0) : 0xC07F022A5EEDull;
	long scale = scale_s ? strtol(scale_s, NULL, 10) : 1;
	if (scale < 1)
		scale = 1;
	rng = s ? s : 1;
	fuzz_urlencoded(100000 * scale);
	fuzz_multipart(60000 * scale);
	fuzz_cookies(50000 * scale);
	fuzz_json(80000 * scale);
	fuzz_percent(100000 * scale);
	printf("# fuzz: %ld inputs, seed 0x%llx (repeat with COT_FUZZ_SEED=0x%llx)\n", inputs,
	       (unsigned long long)s, (unsigned long long)s);
	return T_DONE();
}
