/*
 * hostallow.h -- which Host names the server answers to (DNS rebinding).
 */
#ifndef COT_HOSTALLOW_H
#define COT_HOSTALLOW_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when the Host header `host` ("name" or "name:port"; NULL: none sent)
 * may be answered: `list` is NULL (no check), or the name without its port
 * matches an entry of the comma-separated `list` (case-insensitive; an
 * entry ".example.com" also matches every name under it), or `any_ip` and
 * the name is an IPv4 or [IPv6] literal.
 */
bool hostallow_check(const char *list, bool any_ip, const char *host);

/* 0 if `list` is a usable --allowed-hosts value; else -1 and why in err. */
int hostallow_valid_list(const char *list, char *err, size_t errlen);

#endif
