/* libFuzzer target: remote host normalisation and CIDR parsing.
 *
 * The first byte picks the IPv6 grouping prefix (32..128, the range the
 * configuration allows); the rest, as a NUL-terminated string, goes to
 * ag_host_normalize() and ag_cidr_parse(). */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net.h"

#define FUZZ_MAX_INPUT 4096

static void
check_cidr(const struct ag_cidr *c)
{
	if (c->family != AF_INET && c->family != AF_INET6)
		abort();
	if (c->prefix > (c->family == AF_INET ? 32u : 128u))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[AG_HOST_MAX], small[8];
	struct ag_cidr ip, net;
	unsigned prefix;
	int is_ip = 0;
	char *s;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	prefix = 32 + data[0] % 97;
	if ((s = malloc(size)) == NULL)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	memset(out, 0x5a, sizeof(out));
	if (ag_host_normalize(s, prefix, out, sizeof(out), &is_ip, &ip) == 0) {
		if (memchr(out, '\0', sizeof(out)) == NULL || out[0] == '\0')
			abort();
		if (is_ip) {
			check_cidr(&ip);
			if (!ag_cidr_contains(&ip, &ip))
				abort(); /* an address lies in its own /32 or /128 */
		}
	}
	/* A too-small output buffer must be handled too. */
	(void)ag_host_normalize(s, prefix, small, sizeof(small), &is_ip, &ip);

	if (ag_cidr_parse(s, &net) == 0) {
		check_cidr(&net);
		if (is_ip)
			(void)ag_cidr_contains(&net, &ip);
	}
	free(s);
	return 0;
}
