/*
 * format.c -- printf for the formats handlers use most, without vsnprintf.
 *
 * Nearly every response body goes through arena_vprintf, and most formats
 * are text with %s and %d in it ("Hello, %s!\n"). glibc's vsnprintf costs
 * about 800 instructions for that and is large enough that its code falls
 * out of the instruction cache between requests when the machine is busy;
 * measured under wrk, it was the largest single cost cot added to a hello
 * request. format_fast handles conversions without flags, width or
 * precision -- %s %c %%, and %d %i %u with h, hh, l, ll, z, j or t -- and
 * gives up (-1) on anything else, so the caller falls back to vsnprintf and
 * the output is always exactly what printf would write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "format.h"

/* Appends n bytes if they fit; false when the buffer is full. */
static int
format_put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n >= cap)
		return 0;
	memcpy(out + *len, s, n);
	*len += n;
	return 1;
}

/* Decimal digits of v (and a '-' when neg) into the end of buf[24]. */
static const char *
format_decimal(char buf[24], unsigned long long v, int neg, size_t *n)
{
	char *p = buf + 24;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (neg)
		*--p = '-';
	*n = (size_t)(buf + 24 - p);
	return p;
}

enum { F_INT, F_LONG, F_LLONG, F_SIZE, F_MAX, F_PTRDIFF, F_SHORT, F_CHAR };

/* The length modifier at *f (F_INT if none); advances *f past it. */
static int
format_length(const char **f)
{
	const char *p = *f;
	int len = F_INT;
	switch (*p) {
	case 'h':
		len = p[1] == 'h' ? F_CHAR : F_SHORT;
		break;
	case 'l':
		len = p[1] == 'l' ? F_LLONG : F_LONG;
		break;
	case 'z':
		len = F_SIZE;
		break;
	case 'j':
		len = F_MAX;
		break;
	case 't':
		len = F_PTRDIFF;
		break;
	default:
		return F_INT;
	}
	*f = p + 1 + (len == F_CHAR || len == F_LLONG);
	return len;
}

/* One integer conversion ('d', 'i' or 'u') of length `len` from ap. */
static const char *
format_integer(char buf[24], char conv, int len, va_list *ap, size_t *n)
{
	if (conv == 'u') {
		unsigned long long v;
		switch (len) {
		case F_LONG:
			v = va_arg(*ap, unsigned long);
			break;
		case F_LLONG:
			v = va_arg(*ap, unsigned long long);
			break;
		case F_SIZE:
			v = va_arg(*ap, size_t);
			break;
		case F_MAX:
			v = va_arg(*ap, uintmax_t);
			break;
		case F_PTRDIFF:
			v = (unsigned long long)va_arg(*ap, ptrdiff_t);
			break;
		case F_SHORT:
			v = (unsigned short)va_arg(*ap, unsigned int);
			break;
		case F_CHAR:
			v = (unsigned char)va_arg(*ap, unsigned int);
			break;
		default:
			v = va_arg(*ap, unsigned int);
			break;
		}
		return format_decimal(buf, v, 0, n);
	}
	long long v;
	switch (len) {
	case F_LONG:
		v = va_arg(*ap, long);
		break;
	case F_LLONG:
		v = va_arg(*ap, long long);
		break;
	case F_SIZE:
		v = va_arg(*ap, ptrdiff_t);
		break; /* ssize_t */
	case F_MAX:
		v = va_arg(*ap, intmax_t);
		break;
	case F_PTRDIFF:
		v = va_arg(*ap, ptrdiff_t);
		break;
	case F_SHORT:
		v = (short)va_arg(*ap, int);
		break;
	case F_CHAR:
		v = (signed char)va_arg(*ap, int);
		break;
	default:
		v = va_arg(*ap, int);
		break;
	}
	/* negate in unsigned arithmetic: -LLONG_MIN does not fit a long long */
	unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	return format_decimal(buf, mag, v < 0, n);
}

/*
 * Formats fmt into out[cap] with a terminating NUL and returns the length,
 * or -1 when fmt has a conversion this does not handle or the result does
 * not fit in cap - 1 bytes: then the caller uses vsnprintf (with its own
 * copy of the arguments: ap is consumed either way).
 */
int
format_fast(char *out, size_t cap, const char *fmt, va_list ap)
{
	va_list args;
	va_copy(args, ap);
	size_t len = 0;
	int ok = cap > 0;
	for (const char *f = fmt; ok && *f != '\0';) {
		const char *pct = strchr(f, '%');
		size_t lit = pct != NULL ? (size_t)(pct - f) : strlen(f);
		ok = format_put(out, cap, &len, f, lit);
		if (pct == NULL || !ok)
			break;
		f = pct + 1;
		int lenmod = format_length(&f);
		char conv = *f++, buf[24];
		size_t n = 1;
		const char *s = buf;
		if (conv == 's' && lenmod == F_INT) {
			s = va_arg(args, const char *);
			s = s != NULL ? s : "(null)";
			n = strlen(s);
		} else if (conv == 'c' && lenmod == F_INT) {
			buf[0] = (char)va_arg(args, int);
		} else if (conv == '%' && lenmod == F_INT) {
			buf[0] = '%';
		} else if (conv == 'd' || conv == 'i' || conv == 'u') {
			s = format_integer(buf, conv, lenmod, &args, &n);
		} else {
			ok = 0; /* flags, width, precision, %x, %f, %p, ...: vsnprintf */
			break;
		}
		ok = format_put(out, cap, &len, s, n);
	}
	va_end(args);
	if (!ok)
		return -1;
	out[len] = '\0';
	return (int)len;
}
