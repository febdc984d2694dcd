/*
 * test_hostallow.c -- runtime/hostallow.c: which Host names are answered.
 */
#include <stdio.h>

#include "../runtime/hostallow.h"
#include "t.h"

int
main(void)
{
	const char *dev = "localhost,127.0.0.1,[::1],127.0.0.1";
	T_CHECK("no list: everything (the export's default)", hostallow_check(NULL, false, "x.y"));
	T_CHECK("no Host header (HTTP/1.0): nothing to check", hostallow_check(dev, false, NULL));
	T_CHECK("localhost", hostallow_check(dev, false, "localhost"));
	T_CHECK("localhost with a port", hostallow_check(dev, false, "localhost:8080"));
	T_CHECK("[::1] with a port", hostallow_check(dev, false, "[::1]:8080"));
	T_CHECK("127.0.0.1", hostallow_check(dev, false, "127.0.0.1:1"));
	T_CHECK("a foreign name is refused", !hostallow_check(dev, false, "attacker.example"));
	T_CHECK("a prefix of an entry is refused", !hostallow_check(dev, false, "local"));
	T_CHECK("an entry as a prefix is refused", !hostallow_check(dev, false, "localhost.evil"));
	T_CHECK("an empty Host is refused", !hostallow_check(dev, false, ""));
	T_CHECK("a port alone is refused", !hostallow_check(dev, false, ":80"));
	T_CHECK("another IP is refused without any_ip", !hostallow_check(dev, false, "10.0.0.2"));
	T_CHECK("any_ip: an IPv4 literal", hostallow_check(dev, true, "10.0.0.2:8080"));
	T_CHECK("any_ip: an IPv6 literal", hostallow_check(dev, true, "[fe80::1]:8080"));
	T_CHECK("any_ip: not a name", !hostallow_check(dev, true, "evil.example"));
	T_CHECK("any_ip: not a name made of digits", !hostallow_check(dev, true, "1.2.3.4.evil"));
	const char *list = " example.com , .example.org";
	T_CHECK("spaces around entries", hostallow_check(list, false, "example.com"));
	T_CHECK("case-insensitive", hostallow_check(list, false, "EXAMPLE.Com:443"));
	T_CHECK("a leading dot: the name itself", hostallow_check(list, false, "example.org"));
	T_CHECK("a leading dot: below it", hostallow_check(list, false, "a.b.example.org"));
	T_CHECK("a leading dot: not a longer name",
	        !hostallow_check(list, false, "badexample.org"));
	T_CHECK("no dot: not below", !hostallow_check(list, false, "www.example.com"));
	char err[256];
	T_CHECK("a good list", hostallow_valid_list("a.com,.b.org", err, sizeof(err)) == 0);
	T_CHECK("an empty list is an error", hostallow_valid_list(" , ", err, sizeof(err)) != 0);
	T_CHECK("a URL is an error", hostallow_valid_list("https://a.com", err, sizeof(err)) != 0);
	return T_DONE();
}
