/*
 * accept.c -- how much a client wants a content coding, from its
 * Accept-Encoding header (RFC 9110 section 12.5.3): static files choose a
 * precompressed variant with it, and compress.c whether to gzip a response.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "accept.h"

/* Parse a qvalue ("0", "0.5", "1.000") into thousandths; -1 if malformed. */
static int
accept_qvalue(const char *s, size_t len)
{
	int q = 0, scale = 1000;
	size_t i = 1;

	if (len == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = (s[0] - '0') * 1000;
	if (len > 1 && s[1] == '.')
		for (i = 2; i < len && i < 5 && s[i] >= '0' && s[i] <= '9'; i++)
			q += (s[i] - '0') * (scale /= 10);
	return i == len && q <= 1000 ? q : -1;
}

/*
 * The q of coding (or alias, may be NULL) in an Accept-Encoding value, in
 * thousandths. An explicit mention beats "*"; not mentioned at all is 0.
 */
int
accept_q(const char *ae, const char *coding, const char *alias)
{
	int named = -1, star = -1;

	while (ae != NULL && *ae != '\0') {
		const char *end = strchr(ae, ','), *semi, *p;
		size_t len;
		int q = 1000;

		end = end ? end : ae + strlen(ae);
		while (ae < end && (*ae == ' ' || *ae == '\t'))
			ae++;
		semi = end > ae ? memchr(ae, ';', (size_t)(end - ae)) : NULL;
		for (p = semi ? semi : end; p > ae && (p[-1] == ' ' || p[-1] == '\t'); p--)
			;
		len = (size_t)(p - ae);
		if (semi != NULL) {
			for (p = semi + 1; p < end && (*p == ' ' || *p == '\t'); p++)
				;
			if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
				const char *v = p + 2, *ve = end;

				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				q = accept_qvalue(v, (size_t)(ve - v));
			}
		}
		if (q >= 0 && len == 1 && *ae == '*')
			star = q;
		else if (q >= 0 &&
		         ((len == strlen(coding) && strncasecmp(ae, coding, len) == 0) ||
		          (alias && len == strlen(alias) && strncasecmp(ae, alias, len) == 0)))
			named = q > named ? q : named;
		ae = *end ? end + 1 : end;
	}
	return named >= 0 ? named : star >= 0 ? star : 0;
}
