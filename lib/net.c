#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "net.h"
#include "util.h"

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Parses a bare address; IPv4-mapped IPv6 is folded into IPv4. */
static int
parse_addr(const char *s, struct ag_cidr *out)
{
	struct in_addr a4;
	struct in6_addr a6;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &a4) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
		memcpy(out->addr, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		if (memcmp(a6.s6_addr, v4mapped, sizeof(v4mapped)) == 0) {
			out->family = AF_INET;
			out->prefix = 32;
			memcpy(out->addr, a6.s6_addr + 12, 4);
			return 0;
		}
		out->family = AF_INET6;
		out->prefix = 128;
		memcpy(out->addr, a6.s6_addr, 16);
		return 0;
	}
	return AG_ERR_INVAL;
}

static void
mask_bits(unsigned char *addr, unsigned bytes, unsigned prefix)
{
	unsigned i;

	for (i = 0; i < bytes; i++) {
		unsigned bit = i * 8;

		if (bit >= prefix)
			addr[i] = 0;
		else if (prefix - bit < 8)
			addr[i] &= (unsigned char)(0xff << (8 - (prefix - bit)));
	}
}

static int
is_dns_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

int
ag_host_normalize(const char *rhost, unsigned v6prefix, char *out,
                  size_t outsize, int *is_ip, struct ag_cidr *ip)
{
	struct ag_cidr a;
	char buf[INET6_ADDRSTRLEN];
	size_t len, n, i;

	*is_ip = 0;
	if (outsize < AG_HOST_MAX)
		return AG_ERR_INVAL;
	if (rhost == NULL || *rhost == '\0')
		return AG_ERR_INVAL;
	len = strnlen(rhost, 1024);

	/* Scoped link-local ("fe80::1%eth0") and bracketed forms are not
	 * accepted by inet_pton; strip only the brackets. */
	if (len < sizeof(buf) + 2 && rhost[0] == '[' && rhost[len - 1] == ']') {
		memcpy(buf, rhost + 1, len - 2);
		buf[len - 2] = '\0';
		if (parse_addr(buf, &a) != 0)
			goto other;
	} else if (parse_addr(rhost, &a) != 0) {
		goto other;
	}
	*is_ip = 1;
	*ip = a;
	if (a.family == AF_INET) {
		inet_ntop(AF_INET, a.addr, out, (socklen_t)outsize);
		return 0;
	}
	mask_bits(a.addr, 16, v6prefix);
	inet_ntop(AF_INET6, a.addr, buf, sizeof(buf));
	if (v6prefix >= 128)
		snprintf(out, outsize, "%s", buf);
	else
		snprintf(out, outsize, "%s/%u", buf, v6prefix);
	return 0;

other:
	/* DNS names compare without case, and "host.example.com." is the
	 * fully qualified spelling of "host.example.com": one subject. */
	for (n = len; n > 0 && rhost[n - 1] == '.'; n--)
		;
	if (n > 0 && is_dns_name(rhost, n)) {
		for (i = 0; i < n; i++) {
			char c = rhost[i];
			out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		out[n] = '\0';
		return 0;
	}
	/* Anything else is still a subject: keep it, escaped and bounded, so
	 * odd values are tracked rather than ignored. */
	memcpy(out, "raw:", 4);
	ag_log_escape(out + 4, outsize - 4, rhost, len, (outsize - 8) / 4);
	return 0;
}

int
ag_cidr_parse(const char *s, struct ag_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	struct ag_cidr a, check;
	int64_t plen;
	unsigned bytes;
	int was_mapped;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return AG_ERR_INVAL;
	ag_strlcpy(buf, s, sizeof(buf));
	slash = strchr(buf, '/');
	if (slash != NULL)
		buf[slash - buf] = '\0';
	if (parse_addr(buf, &a) != 0)
		return AG_ERR_INVAL;
	was_mapped = a.family == AF_INET && strchr(buf, ':') != NULL;
	if (slash != NULL) {
		int64_t max = a.family == AF_INET && !was_mapped ? 32 : 128;

		if (ag_parse_int64(slash + 1, 0, max, &plen) != 0)
			return AG_ERR_INVAL;
		if (was_mapped) {
			if (plen < 96)
				return AG_ERR_INVAL;
			plen -= 96;
		}
		a.prefix = (unsigned)plen;
	}
	bytes = a.family == AF_INET ? 4 : 16;
	check = a;
	mask_bits(check.addr, bytes, a.prefix);
	if (memcmp(check.addr, a.addr, bytes) != 0)
		return AG_ERR_INVAL; /* host bits set: almost always a typo */
	*out = a;
	return 0;
}

int
ag_cidr_contains(const struct ag_cidr *net, const struct ag_cidr *addr)
{
	unsigned char masked[16];
	unsigned bytes;

	if (net->family != addr->family)
		return 0;
	bytes = net->family == AF_INET ? 4 : 16;
	memcpy(masked, addr->addr, bytes);
	mask_bits(masked, bytes, net->prefix);
	return memcmp(masked, net->addr, bytes) == 0;
}
