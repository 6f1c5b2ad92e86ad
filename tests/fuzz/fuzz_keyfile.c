/* libFuzzer target: JWK key files.
 *
 * The input is written as DIR/<kid>.key (mode 0600) in a private temporary
 * directory and the directory is loaded with ag_keyring_load().  The kid
 * is taken from the first "kid": "..." in the input when it is a plausible
 * file name, so that mutated valid keys get past the name check; else
 * "fuzz".  A loaded keyring is exercised (listing, JWKS, a signature
 * round trip) and freed. */
#include "autoconf.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "keyring.h"

#define FUZZ_MAX_INPUT (AG_KEYRING_FILE_MAX + 1024)

static char tmpdir[64];
static char path[256];

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
	rmdir(tmpdir);
}

static void
pick_kid(const uint8_t *data, size_t size, char kid[AG_KEYRING_KID_MAX + 1])
{
	static const char tag[] = "\"kid\"";
	const uint8_t *p = memmem(data, size, tag, sizeof(tag) - 1);
	const uint8_t *end = data + size;
	size_t i, n;

	strcpy(kid, "fuzz");
	if (p == NULL)
		return;
	p += sizeof(tag) - 1;
	while (p < end && (*p == ' ' || *p == '\t' || *p == ':'))
		p++;
	if (p == end || *p != '"')
		return;
	p++;
	n = (size_t)(end - p);
	for (i = 0; i < n && i < AG_KEYRING_KID_MAX && p[i] != '"'; i++) {
		unsigned char c = p[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return;
	}
	if (i == 0 || i == n || p[i] != '"')
		return;
	memcpy(kid, p, i);
	kid[i] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char kid[AG_KEYRING_KID_MAX + 1], err[AG_ERRBUF];
	struct ag_keyring *kr = NULL;
	size_t off = 0, i;
	int fd, r;

	if (!ready) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/agfz-key.XXXXXX",
		         base != NULL && base[0] == '/' && strlen(base) < 30 ? base : "/tmp");
		if (mkdtemp(tmpdir) == NULL)
			abort();
		atexit(cleanup);
		ready = 1;
	}
	if (size > FUZZ_MAX_INPUT)
		return 0;

	pick_kid(data, size, kid);
	snprintf(path, sizeof(path), "%s/%s.key", tmpdir, kid);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	close(fd);

	err[0] = '\0';
	r = ag_keyring_load(tmpdir, &kr, err);
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (r == 0) {
		const struct ag_key *key = ag_keyring_active(kr);
		struct ag_key_info info;
		uint8_t sig[AG_KEYRING_SIG_MAX];
		size_t siglen;
		json_t *jwks = NULL;

		if (key == NULL || ag_keyring_count(kr) != 1)
			abort();
		for (i = 0; i < ag_keyring_count(kr); i++)
			ag_keyring_info(ag_keyring_key(kr, i), &info);
		if (ag_keyring_jwks(kr, &jwks) == 0)
			json_decref(jwks);
		if (ag_keyring_sign(key, data, size, sig, &siglen) == 0) {
			if (ag_keyring_verify(key, data, size, sig, siglen) != 0)
				abort(); /* own signature refused */
			sig[0] ^= 1;
			if (ag_keyring_verify(key, data, size, sig, siglen) == 0)
				abort(); /* altered signature accepted */
		}
		ag_keyring_free(kr);
	}
	unlink(path);
	path[0] = '\0';
	return 0;
}
