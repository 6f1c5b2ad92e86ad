/* Remote-host subjects: address parsing, normalisation and CIDR lists.
 *
 * A host subject is the text form of the network a request came from:
 * IPv4 addresses as themselves (IPv4-mapped IPv6 included), IPv6 addresses
 * grouped by a prefix (/64 by default, since one client usually owns a
 * whole /64), DNS names lower-cased and without trailing dots, and
 * anything else escaped so that it is still tracked (and cannot be used to
 * dodge tracking). */
#ifndef AG_NET_H
#define AG_NET_H

#include <stddef.h>
#include <stdint.h>

#define AG_HOST_MAX 300 /* longest normalised host subject, with NUL */

struct ag_cidr {
	int family;           /* AF_INET or AF_INET6 */
	unsigned prefix;      /* prefix length in bits */
	unsigned char addr[16];
};

/* Normalises rhost into out (AG_HOST_MAX bytes).  *is_ip is set to 1 when
 * the host is an address (then *ip holds it as a /32 or /128 CIDR), else 0.
 * Returns 0, or AG_ERR_INVAL for an empty host. */
int ag_host_normalize(const char *rhost, unsigned v6prefix, char *out,
                      size_t outsize, int *is_ip, struct ag_cidr *ip);

/* Parses "ADDR" or "ADDR/LEN"; IPv4-mapped IPv6 becomes IPv4.  Host bits
 * beyond the prefix must be zero.  Returns 0 or AG_ERR_INVAL. */
int ag_cidr_parse(const char *s, struct ag_cidr *out);

/* Returns 1 when addr (a full-length cidr) lies inside net, else 0. */
int ag_cidr_contains(const struct ag_cidr *net, const struct ag_cidr *addr);

#endif
