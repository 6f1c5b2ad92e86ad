/* Unit tests for lib/net: host subject normalisation and CIDR lists, with
 * hostile input. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "net.h"
#include "util.h"

#include "tap.h"

/* Normalises rhost and checks the subject text and whether it is an IP. */
static void
check_host(const char *rhost, unsigned prefix, const char *want, int want_ip)
{
	char out[AG_HOST_MAX];
	struct ag_cidr ip;
	int is_ip = -1, r;

	memset(out, 'Z', sizeof(out));
	r = ag_host_normalize(rhost, prefix, out, sizeof(out), &is_ip, &ip);
	is_int(r, 0, "normalize \"%s\" /%u succeeds", rhost, prefix);
	is_str(r == 0 ? out : NULL, want, "normalize \"%s\" /%u", rhost, prefix);
	is_int(is_ip, want_ip, "normalize \"%s\": is_ip = %d", rhost, want_ip);
}

/* 1 when s contains no byte below 0x21, no DEL or 8-bit byte, no quote
 * and no '=' (what a log line or a status table could trip over). */
static int
clean_token(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x21 || c >= 0x7f || c == '"' || c == '\'' || c == '=')
			return 0;
	}
	return 1;
}

static void
test_host_normalize(void)
{
	char out[AG_HOST_MAX], longhost[2000];
	struct ag_cidr ip, want;
	int is_ip, r;

	/* IPv4 */
	check_host("192.0.2.1", 64, "192.0.2.1", 1);
	check_host("0.0.0.0", 64, "0.0.0.0", 1);
	check_host("255.255.255.255", 64, "255.255.255.255", 1);
	r = ag_host_normalize("203.0.113.9", 64, out, sizeof(out), &is_ip, &ip);
	ok(r == 0 && ip.family == AF_INET && ip.prefix == 32, "IPv4: ip is a /32");
	ok(ag_cidr_parse("203.0.113.9", &want) == 0 && memcmp(ip.addr, want.addr, 4) == 0,
	   "IPv4: ip holds the address");

	/* IPv4-mapped IPv6 is the IPv4 host: one subject, whichever the socket */
	check_host("::ffff:192.0.2.1", 64, "192.0.2.1", 1);
	check_host("::FFFF:192.0.2.1", 128, "192.0.2.1", 1);
	check_host("::ffff:c000:201", 64, "192.0.2.1", 1);
	check_host("[::ffff:192.0.2.1]", 64, "192.0.2.1", 1);
	r = ag_host_normalize("::ffff:10.1.2.3", 64, out, sizeof(out), &is_ip, &ip);
	ok(r == 0 && ip.family == AF_INET && ip.prefix == 32, "mapped: ip is an IPv4 /32");

	/* IPv6 grouped by prefix, ip keeps the full address */
	check_host("2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64", 1);
	check_host("2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64", 1);
	check_host("2001:DB8:1:2::1", 64, "2001:db8:1:2::/64", 1);
	check_host("2001:0db8:0001:0002:0000:0000:0000:0001", 64, "2001:db8:1:2::/64", 1);
	check_host("2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::/48", 1);
	check_host("2001:db8:1:2:3:4:5:6", 56, "2001:db8:1::/56", 1);
	check_host("2001:db8:1:2ff:3:4:5:6", 56, "2001:db8:1:200::/56", 1);
	check_host("2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6", 1);
	check_host("2001:db8:1:2:3:4:5:6", 127, "2001:db8:1:2:3:4:5:6/127", 1);
	check_host("2001:db8:1:2:3:4:5:7", 127, "2001:db8:1:2:3:4:5:6/127", 1);
	check_host("[::1]", 128, "::1", 1);
	check_host("[::1]", 64, "::/64", 1);
	check_host("[2001:db8::1]", 64, "2001:db8::/64", 1);
	r = ag_host_normalize("2001:db8:1:2:3:4:5:6", 64, out, sizeof(out), &is_ip, &ip);
	ok(r == 0 && ip.family == AF_INET6 && ip.prefix == 128, "IPv6: ip is a /128");
	ok(ag_cidr_parse("2001:db8:1:2:3:4:5:6", &want) == 0 && memcmp(ip.addr, want.addr, 16) == 0,
	   "IPv6: ip holds the full address, not the grouped one");

	/* DNS names: lower-cased, not addresses */
	check_host("Mail.EXAMPLE.org", 64, "mail.example.org", 0);
	check_host("localhost", 64, "localhost", 0);
	check_host("host-1.example", 64, "host-1.example", 0);

	/* ... and without the root's trailing dot: one name, one subject */
	check_host("host.example.com.", 64, "host.example.com", 0);
	check_host("HOST.Example.COM.", 64, "host.example.com", 0);
	check_host("host.example.com..", 64, "host.example.com", 0);
	check_host("localhost.", 64, "localhost", 0);
	check_host(".", 64, "raw:.", 0);
	check_host("...", 64, "raw:...", 0);
	/* an address with a trailing dot is no address, but the same subject */
	check_host("192.0.2.1.", 64, "192.0.2.1", 0);
	/* 253 characters and the root's dot: still a DNS name */
	{
		char fqdn[256];

		memset(fqdn, 'b', 253);
		fqdn[253] = '.';
		fqdn[254] = '\0';
		r = ag_host_normalize(fqdn, 64, out, sizeof(out), &is_ip, &ip);
		ok(r == 0 && strlen(out) == 253 && out[252] == 'b' && is_ip == 0,
		   "253-character name with its trailing dot: the name without the dot");
	}

	/* anything else: "raw:" + escaped, bounded, still a subject */
	check_host("bad host", 64, "raw:bad\\x20host", 0);
	check_host("a\nevent=x", 64, "raw:a\\x0aevent\\x3dx", 0);
	check_host("\"'", 64, "raw:\\x22\\x27", 0);
	check_host("h\xc3\xa9.example", 64, "raw:h\\xc3\\xa9.example", 0);
	check_host("[::1", 64, "raw:\\x5b::1", 0);
	check_host("[not-an-ip]", 64, "raw:\\x5bnot-an-ip\\x5d", 0);
	check_host("192.0.2.1 ", 64, "raw:192.0.2.1\\x20", 0);
	check_host("[]", 64, "raw:\\x5b\\x5d", 0);
	check_host("[", 64, "raw:\\x5b", 0);

	/* garbage of every length stays bounded, clean and distinct from IPs */
	memset(longhost, ' ', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	memset(out, 'Z', sizeof(out));
	r = ag_host_normalize(longhost, 64, out, sizeof(out), &is_ip, &ip);
	ok(r == 0 && is_ip == 0, "2000 spaces: accepted as a non-IP subject");
	ok(memchr(out, '\0', sizeof(out)) != NULL, "2000 spaces: output terminated in bounds");
	ok(strncmp(out, "raw:", 4) == 0 && clean_token(out), "2000 spaces: raw: and clean");
	ok(strlen(out) > 7 && strcmp(out + strlen(out) - 3, "...") == 0,
	   "2000 spaces: cut with \"...\"");

	memset(longhost, 'a', sizeof(longhost) - 1);
	r = ag_host_normalize(longhost, 64, out, sizeof(out), &is_ip, &ip);
	ok(r == 0 && strlen(out) < AG_HOST_MAX && strncmp(out, "raw:", 4) == 0,
	   "1999-byte name: raw and bounded (%zu)", strlen(out));
	longhost[253] = '\0';
	check_host(longhost, 64, longhost, 0);
	longhost[253] = 'a';
	longhost[254] = '\0';
	r = ag_host_normalize(longhost, 64, out, sizeof(out), &is_ip, &ip);
	ok(r == 0 && strncmp(out, "raw:", 4) == 0 && strlen(out) < AG_HOST_MAX,
	   "254-byte name is no DNS name: raw and bounded");

	{
		unsigned c;
		int all_clean = 1;

		for (c = 1; c < 256; c++) {
			char h[4] = {'x', (char)c, 'y', '\0'};

			r = ag_host_normalize(h, 64, out, sizeof(out), &is_ip, &ip);
			if (r != 0 || !clean_token(out)) {
				all_clean = 0;
				diag("byte 0x%02x: r=%d", c, r);
			}
		}
		ok(all_clean, "every byte value in a host gives a clean subject");
	}

	/* rejected */
	is_int(ag_host_normalize("", 64, out, sizeof(out), &is_ip, &ip), AG_ERR_INVAL,
	       "empty host rejected");
	is_int(ag_host_normalize(NULL, 64, out, sizeof(out), &is_ip, &ip), AG_ERR_INVAL,
	       "NULL host rejected");
	is_int(ag_host_normalize("192.0.2.1", 64, out, AG_HOST_MAX - 1, &is_ip, &ip), AG_ERR_INVAL,
	       "output buffer below AG_HOST_MAX rejected");
}

static void
check_cidr_bad(const char *s)
{
	struct ag_cidr c;

	memset(&c, 0x5a, sizeof(c));
	is_int(ag_cidr_parse(s, &c), AG_ERR_INVAL, "cidr \"%s\" rejected",
	       s != NULL ? s : "(null)");
	ok(c.family == 0x5a5a5a5a, "cidr \"%s\": output untouched", s != NULL ? s : "(null)");
}

static int
contains(const char *net, const char *addr)
{
	struct ag_cidr n, a;

	if (ag_cidr_parse(net, &n) != 0 || ag_cidr_parse(addr, &a) != 0)
		return -1;
	return ag_cidr_contains(&n, &a);
}

static void
test_cidr(void)
{
	static const unsigned char v6net[16] = {0x20, 0x01, 0x0d, 0xb8};
	static const unsigned char v4net[4] = {10, 0, 0, 0};
	struct ag_cidr c;
	char longs[200];

	ok(ag_cidr_parse("10.0.0.0/8", &c) == 0 && c.family == AF_INET && c.prefix == 8 &&
	           memcmp(c.addr, v4net, 4) == 0,
	   "10.0.0.0/8");
	ok(ag_cidr_parse("10.0.0.1", &c) == 0 && c.family == AF_INET && c.prefix == 32,
	   "bare IPv4 is a /32");
	ok(ag_cidr_parse("10.0.0.0/08", &c) == 0 && c.prefix == 8, "prefix with a leading zero");
	ok(ag_cidr_parse("0.0.0.0/0", &c) == 0 && c.prefix == 0, "0.0.0.0/0");
	ok(ag_cidr_parse("192.168.0.0/23", &c) == 0 && c.prefix == 23, "192.168.0.0/23");
	ok(ag_cidr_parse("2001:db8::/32", &c) == 0 && c.family == AF_INET6 && c.prefix == 32 &&
	           memcmp(c.addr, v6net, 16) == 0,
	   "2001:db8::/32");
	ok(ag_cidr_parse("2001:db8::1", &c) == 0 && c.family == AF_INET6 && c.prefix == 128,
	   "bare IPv6 is a /128");
	ok(ag_cidr_parse("::/0", &c) == 0 && c.family == AF_INET6 && c.prefix == 0, "::/0");
	ok(ag_cidr_parse("::ffff:10.0.0.0/104", &c) == 0 && c.family == AF_INET && c.prefix == 8 &&
	           memcmp(c.addr, v4net, 4) == 0,
	   "::ffff:10.0.0.0/104 is 10.0.0.0/8");
	ok(ag_cidr_parse("::ffff:10.0.0.1", &c) == 0 && c.family == AF_INET && c.prefix == 32,
	   "bare mapped address is an IPv4 /32");
	ok(ag_cidr_parse("::ffff:0.0.0.0/96", &c) == 0 && c.family == AF_INET && c.prefix == 0,
	   "::ffff:0.0.0.0/96 is 0.0.0.0/0");
	ok(ag_cidr_parse("2001:db8::/128", &c) == 0 && c.prefix == 128, "/128 with zero host bits");

	/* host bits set: almost always a typo */
	check_cidr_bad("10.0.0.1/8");
	check_cidr_bad("192.168.1.0/23");
	check_cidr_bad("2001:db8::1/64");
	check_cidr_bad("2001:db8::/16");
	check_cidr_bad("::ffff:10.0.0.1/104");
	check_cidr_bad("1.0.0.0/0");

	/* bad prefix lengths */
	check_cidr_bad("10.0.0.0/33");
	check_cidr_bad("10.0.0.0/-1");
	check_cidr_bad("10.0.0.0/");
	check_cidr_bad("10.0.0.0/+8");
	check_cidr_bad("10.0.0.0/ 8");
	check_cidr_bad("10.0.0.0/8 ");
	check_cidr_bad("10.0.0.0/8/8");
	check_cidr_bad("10.0.0.0/8x");
	check_cidr_bad("10.0.0.0/99999999999999999999999");
	check_cidr_bad("2001:db8::/129");
	check_cidr_bad("::ffff:10.0.0.0/95");
	check_cidr_bad("::ffff:10.0.0.0/129");

	/* not addresses */
	check_cidr_bad("");
	check_cidr_bad(NULL);
	check_cidr_bad("/8");
	check_cidr_bad(" 10.0.0.0/8");
	check_cidr_bad("10.0.0/8");
	check_cidr_bad("10.0.0.256");
	check_cidr_bad("example.com");
	check_cidr_bad("[::1]");
	check_cidr_bad("fe80::1%eth0");
	check_cidr_bad("10.0.0.0\n");
	memset(longs, '1', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	check_cidr_bad(longs);

	/* contains */
	is_int(contains("10.0.0.0/8", "10.255.1.2"), 1, "10/8 contains 10.255.1.2");
	is_int(contains("10.0.0.0/8", "10.0.0.0"), 1, "10/8 contains its network address");
	is_int(contains("10.0.0.0/8", "11.0.0.0"), 0, "10/8 excludes 11.0.0.0");
	is_int(contains("10.0.0.0/8", "9.255.255.255"), 0, "10/8 excludes 9.255.255.255");
	is_int(contains("192.168.0.0/23", "192.168.1.255"), 1, "/23 contains .1.255");
	is_int(contains("192.168.0.0/23", "192.168.2.0"), 0, "/23 excludes .2.0");
	is_int(contains("192.0.2.1", "192.0.2.1"), 1, "/32 contains itself");
	is_int(contains("192.0.2.1", "192.0.2.2"), 0, "/32 excludes its neighbour");
	is_int(contains("0.0.0.0/0", "203.0.113.9"), 1, "0/0 contains any IPv4");
	is_int(contains("0.0.0.0/0", "2001:db8::1"), 0, "0/0 excludes IPv6");
	is_int(contains("::/0", "2001:db8::1"), 1, "::/0 contains any IPv6");
	is_int(contains("::/0", "203.0.113.9"), 0, "::/0 excludes IPv4");
	is_int(contains("::/0", "::ffff:203.0.113.9"), 0, "::/0 excludes mapped IPv4 (it is IPv4)");
	is_int(contains("10.0.0.0/8", "::ffff:10.1.2.3"), 1, "10/8 contains mapped 10.1.2.3");
	is_int(contains("::ffff:10.0.0.0/104", "10.1.2.3"), 1, "mapped net contains plain IPv4");
	is_int(contains("2001:db8::/32", "2001:db8:ffff::1"), 1, "/32 contains 2001:db8:ffff::1");
	is_int(contains("2001:db8::/32", "2001:db9::1"), 0, "/32 excludes 2001:db9::1");
	is_int(contains("2001:db8::/33", "2001:db8:8000::1"), 0, "/33 excludes the upper half");
	is_int(contains("2001:db8::/33", "2001:db8:7fff::1"), 1, "/33 contains the lower half");
	is_int(contains("2001:db8::/32", "32.1.13.184"), 0,
	       "IPv6 net excludes IPv4 with the same bytes");

	/* normalised hosts work with contains */
	{
		struct ag_cidr net, ip;
		char out[AG_HOST_MAX];
		int is_ip;

		ok(ag_cidr_parse("2001:db8:1::/48", &net) == 0 &&
		           ag_host_normalize("2001:db8:1:2:3:4:5:6", 64, out, sizeof(out), &is_ip,
		                             &ip) == 0 &&
		           ag_cidr_contains(&net, &ip) == 1,
		   "normalised IPv6 host inside an allow-list /48");
		ok(ag_cidr_parse("2001:db8:1:2:3:4:5:6/128", &net) == 0 &&
		           ag_cidr_contains(&net, &ip) == 1,
		   "normalised IPv6 host matches its own /128 (ip keeps host bits)");
	}
}

int
main(void)
{
	test_host_normalize();
	test_cidr();
	return done_testing();
}
