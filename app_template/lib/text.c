/*
 * text.c -- shared C code. Every .c file in lib/ is compiled once and its
 * non-static functions can be called from any handler that includes its
 * header (here lib/text.h). Save it and every handler that uses it links
 * the new code on the next request; break it and those handlers' routes
 * answer with its compile error until it is fixed, while the others serve.
 *
 * A file in lib/ (like a handler) declares the C libraries it calls:
 *
 *     #include <zlib.h>
 *     COT_LIBS("zlib")          // pkg-config names; "-lNAME" without a .pc
 *
 * The declaration is per file, like an #include: a library is visible only
 * to the files that declare it (and the files that include a header that
 * declares it). libc, libm and jansson need no declaration. The export
 * links what is declared and lists its Debian packages.
 */
#include <ctype.h>
#include <string.h>

#include "text.h"

const char *
text_shout(cot_ctx *c, const char *s, int times)
{
	size_t n = strlen(s);
	char *out = cot_alloc(c, n + (size_t)times + 1);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)toupper((unsigned char)s[i]);
	memset(out + n, '!', (size_t)times);
	return out;
}
