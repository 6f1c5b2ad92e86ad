/* libFuzzer target: key URIs built from hostile issuer and account names.
 *
 * The input is split at its first NUL into issuer and account (an input
 * without one is the account, issuer "authguard").  Properties: a name
 * the check refuses is never built into a URI; a URI that is built starts
 * with "otpauth://totp/", has exactly one ':' after that (the label
 * separator: a ':' in a name is %3A), and holds only printable ASCII with
 * no space, '#', '&' or '?' of the names' own (they are percent-encoded). */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otpauth.h"

#define FUZZ_MAX_INPUT 4096
#define PREFIX "otpauth://totp/"

static void
check_uri(const char *uri)
{
	const char *p, *q = strchr(uri, '?'), *label = uri + strlen(PREFIX);
	size_t colons = 0;

	if (strncmp(uri, PREFIX, strlen(PREFIX)) != 0 || q == NULL)
		abort();
	for (p = uri; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '#')
			abort();
	for (p = label; p < q; p++)
		if (*p == ':')
			colons++;
		else if (*p == '&' || *p == '=')
			abort();
	if (colons != 1)
		abort();
	if (strstr(q, "secret=JBSWY3DPEHPK3PXP") == NULL || strchr(q + 1, '?') != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, uri[AG_OTPAUTH_URI_MAX];
	const char *issuer, *account, *why = NULL, *nul;
	int ok_issuer, ok_account, r;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if ((buf = malloc(size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	nul = memchr(buf, '\0', size);
	if (nul != NULL) {
		issuer = buf;
		account = nul + 1;
	} else {
		issuer = "authguard";
		account = buf;
	}
	ok_issuer = ag_otpauth_check_name(issuer, AG_OTPAUTH_MAX_ISSUER, &why) == 0;
	ok_account = ag_otpauth_check_name(account, AG_OTPAUTH_MAX_ACCOUNT, &why) == 0;
	why = NULL;
	r = ag_otpauth_uri(issuer, account, "JBSWY3DPEHPK3PXP", 6, 30, uri, sizeof(uri), &why);
	if (r == 0) {
		if (!ok_issuer || !ok_account)
			abort();
		check_uri(uri);
	} else if (why == NULL || uri[0] != '\0') {
		abort();
	} else if (ok_issuer && ok_account) {
		abort(); /* valid names and a valid secret always make a URI */
	}
	free(buf);
	return 0;
}
