/*
 * hex.h -- the value of one hexadecimal digit, for every %XX decoder
 * (router.c's paths and query strings, form.c's bodies, static_path.c).
 *
 * Header-only so that a test compiling one of those files alone (test_static)
 * needs nothing else.
 */
#ifndef COT_HEX_H
#define COT_HEX_H

/* 0..15 for '0'-'9', 'a'-'f', 'A'-'F'; -1 for anything else (NUL too). */
static inline int
hex_digit(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

#endif
