/*
 * hostallow.c -- which Host names the server answers to.
 *
 * DNS rebinding: a page on attacker.example makes its own name resolve to
 * 127.0.0.1, and the victim's browser then talks to the dev server as if it
 * were attacker.example -- same origin for the page, so it reads every
 * answer (/_cot/, the app's data). Refusing a Host the server does not know
 * stops it: the browser sends the attacker's name. An IP literal is no such
 * risk (no DNS to rebind), so a server bound to every interface (0.0.0.0)
 * answers any IP literal too.
 *
 * The development server always checks (localhost, 127.0.0.1, [::1] and the
 * bound address); an exported binary checks when given --allowed-hosts.
 * Entries match the Host's name without its port, case-insensitively; an
 * entry ".example.com" matches example.com and every name under it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hostallow.h"

/* The Host header's name: "[::1]:8080" -> "[::1]", "Example.com:80" ->
 * "Example.com". Into out (at most outlen - 1 bytes); 0, or -1 if too long. */
static int
hostallow_name(const char *host, char *out, size_t outlen)
{
	size_t n;
	if (host[0] == '[') {
		const char *end = strchr(host, ']');
		n = end ? (size_t)(end - host) + 1 : strlen(host);
	} else {
		n = strcspn(host, ":");
	}
	if (n >= outlen)
		return -1;
	memcpy(out, host, n);
	out[n] = '\0';
	return 0;
}

/* Does `name` match the list entry of length elen at e? */
static bool
hostallow_entry_matches(const char *e, size_t elen, const char *name)
{
	size_t n = strlen(name);
	if (elen > 1 && e[0] == '.') { /* ".example.com": itself and below */
		if (n == elen - 1 && strncasecmp(name, e + 1, n) == 0)
			return true;
		return n > elen && strncasecmp(name + n - elen, e, elen) == 0;
	}
	return n == elen && strncasecmp(name, e, n) == 0;
}

/* An IPv4 dotted quad or a bracketed IPv6 literal. */
static bool
hostallow_is_ip(const char *name)
{
	unsigned char buf[16];
	char v6[64];
	size_t n = strlen(name);
	if (name[0] == '[' && n > 2 && n - 2 < sizeof(v6) && name[n - 1] == ']') {
		memcpy(v6, name + 1, n - 2);
		v6[n - 2] = '\0';
		return inet_pton(AF_INET6, v6, buf) == 1;
	}
	return inet_pton(AF_INET, name, buf) == 1;
}

bool
hostallow_check(const char *list, bool any_ip, const char *host)
{
	char name[256];
	if (list == NULL || host == NULL)
		return true; /* no list, or HTTP/1.0 without Host: nothing to check */
	if (hostallow_name(host, name, sizeof(name)) != 0 || name[0] == '\0')
		return false;
	if (any_ip && hostallow_is_ip(name))
		return true;
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");
		const char *e = p;
		size_t elen = n;
		while (elen > 0 && (*e == ' ' || *e == '\t'))
			e++, elen--;
		while (elen > 0 && (e[elen - 1] == ' ' || e[elen - 1] == '\t'))
			elen--;
		if (elen > 0 && hostallow_entry_matches(e, elen, name))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

int
hostallow_valid_list(const char *list, char *err, size_t errlen)
{
	if (list == NULL || strspn(list, " ,\t") == strlen(list)) {
		snprintf(err, errlen,
		         "--allowed-hosts wants host names separated by commas, "
		         "like example.com,.example.org");
		return -1;
	}
	for (const char *p = list; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' && ch != ' ' && ch != '\t') {
			snprintf(err, errlen, "--allowed-hosts holds control byte 0x%02x", ch);
			return -1;
		}
		if (ch == '/' || ch == '@') {
			snprintf(err, errlen, "--allowed-hosts wants host names, not URLs (\"%s\")",
			         list);
			return -1;
		}
	}
	return 0;
}
