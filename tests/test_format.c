/*
 * test_format.c -- runtime/format.c against the real vsnprintf: for every
 * format it takes, format_fast must write exactly what printf writes; for
 * every other format, and when the buffer is too small, it must decline.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/cot.h"
#include "format.h"
#include "t.h"

static int mismatches, declined;

/* format_fast and vsnprintf on the same arguments, into 256 bytes; records
 * a mismatch, or a decline when the format was expected to be taken. No
 * format attribute: this test passes formats gcc would warn about on purpose
 * ("" and a NULL %s). */
static void
same(int expect_fast, const char *fmt, ...)
{
	char fast[256], want[256];
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = format_fast(fast, sizeof(fast), fmt, ap);
	int m = vsnprintf(want, sizeof(want), fmt, ap2);
	va_end(ap2);
	va_end(ap);
	if (n < 0) {
		if (expect_fast) {
			declined++;
			printf("# declined: \"%s\"\n", fmt);
		}
		return;
	}
	if (!expect_fast) {
		mismatches++;
		printf("# took a format it should leave to vsnprintf: \"%s\"\n", fmt);
	} else if (n != m || memcmp(fast, want, (size_t)m + 1) != 0) {
		mismatches++;
		printf("# \"%s\": got [%s] (%d), printf [%s] (%d)\n", fmt, fast, n, want, m);
	}
}

static void
test_conversions(void)
{
	same(1, "plain text, no conversions");
	same(1, "");
	same(1, "Hello, %s!\n", "world");
	same(1, "%s|%s", "", (const char *)NULL);
	same(1, "100%% sure, %c%c", 'o', 'k');
	same(1, "%d %i %d %d", 0, -1, INT_MAX, INT_MIN);
	same(1, "%u %u", 0u, UINT_MAX);
	same(1, "%ld %ld %lu", LONG_MAX, LONG_MIN, ULONG_MAX);
	same(1, "%lld %lli %llu", LLONG_MAX, LLONG_MIN, ULLONG_MAX);
	same(1, "%zu %zd", SIZE_MAX, (ptrdiff_t)-5);
	same(1, "%jd %ju", INTMAX_MIN, UINTMAX_MAX);
	same(1, "%td", (ptrdiff_t)PTRDIFF_MIN);
	same(1, "%hd %hu %hhd %hhu", (short)-300, (unsigned short)65535, (signed char)-7,
	     (unsigned char)250);
	same(1, "%hd %hhu", 70000, 300); /* printf truncates the promoted int */
	same(1, "trailing %s", "end");
	same(1, "%s%d%s", "a", 42, "b");
	T_CHECK("every format it takes matches vsnprintf", mismatches == 0);
	T_CHECK("it takes %s %c %% %d %i %u with length modifiers", declined == 0);
}

/* Random integers and strings through a few formats: the same bytes. */
static void
test_random(void)
{
	srand(12345);
	char word[32];
	for (int i = 0; i < 20000; i++) {
		long long v = (long long)(((unsigned long long)rand() << 33) ^
		                          ((unsigned long long)rand() << 2) ^ (unsigned)rand());
		int len = rand() % 30;
		for (int k = 0; k < len; k++)
			word[k] = (char)(' ' + rand() % 95);
		word[len] = '\0';
		same(1, "<%s> %lld %d %u %ld", word, v, (int)v, (unsigned)v, (long)v);
	}
	T_CHECK("20000 random values: the same bytes as vsnprintf", mismatches == 0);
}

static void
test_declines(void)
{
	mismatches = 0;
	same(0, "%5d", 1);
	same(0, "%-3s|", "a");
	same(0, "%.2s", "abc");
	same(0, "%x", 255u);
	same(0, "%f", 1.5);
	same(0, "%p", (void *)&mismatches);
	same(0, "%+d", 3);
	same(0, "%05d", 3);
	same(0, "%ls", L"w");
	same(0, "%Lf", 1.0L);
	same(0, "%*d", 3, 4);
	T_CHECK("flags, width, precision, other conversions: left to vsnprintf", mismatches == 0);
}

/* Too small a buffer: declined, never a truncated string. */
static int
fast_into(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = format_fast(out, cap, fmt, ap);
	va_end(ap);
	return n;
}

static void
test_room(void)
{
	char out[8];
	T_CHECK("7 chars fit in 8 bytes",
	        fast_into(out, 8, "%s", "1234567") == 7 && strcmp(out, "1234567") == 0);
	T_CHECK("8 chars do not fit in 8 bytes", fast_into(out, 8, "%s", "12345678") == -1);
	T_CHECK("a number past the end does not fit", fast_into(out, 8, "abcd%d", 12345) == -1);
	T_CHECK("no room at all", fast_into(out, 0, "x") == -1);
	T_CHECK("a lone % at the end is declined", fast_into(out, 8, "50%") == -1);
}

int
main(void)
{
	test_conversions();
	test_random();
	test_declines();
	test_room();
	return T_DONE();
}
