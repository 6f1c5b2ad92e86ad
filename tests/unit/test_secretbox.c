/* Unit tests for lib/secretbox: key files (format, size, permissions,
 * symlinks, creation), and sealing: round trip, associated data, tampering,
 * truncation, bounds. */
#include "autoconf.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "secretbox.h"

#include "tap.h"

static char dir[PATH_MAX];

static const char *
path_of(const char *name)
{
	static char p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) >= sizeof(p))
		p[0] = '\0';
	return p;
}

/* Writes len bytes of data to dir/name with mode; returns the path. */
static const char *
write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	const char *p = path_of(name);
	int fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) != 0) {
		diag("cannot write %s", p);
		if (fd >= 0)
			close(fd);
		return p;
	}
	close(fd);
	return p;
}

static int
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static const char hex64[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/* Loads dir/name and checks the result; on failure the key must be zero
 * and the reason must say something. */
static void
check_load(const char *p, int want, const char *what)
{
	uint8_t key[AG_SECRETBOX_KEYBYTES];
	const char *reason = NULL;
	int r;

	memset(key, 0xa5, sizeof(key));
	r = ag_secretbox_key_load(p, key, &reason);
	is_int(r, want, "key load: %s", what);
	if (want != 0) {
		ok(all_zero(key, sizeof(key)), "key load: %s: key wiped", what);
		ok(reason != NULL && *reason != '\0', "key load: %s: reason \"%s\"", what,
		   reason != NULL ? reason : "(none)");
	}
}

static void
test_key_files(void)
{
	uint8_t key[AG_SECRETBOX_KEYBYTES], want[AG_SECRETBOX_KEYBYTES];
	char buf[300], upper[sizeof(hex64)], good[PATH_MAX];
	const char *p, *reason = NULL;
	size_t i;

	for (i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)i;

	p = write_file("good", hex64, 64, 0600);
	is_int(ag_secretbox_key_load(p, key, &reason), 0, "64 hex digits, mode 0600");
	ok(memcmp(key, want, sizeof(key)) == 0, "key bytes decoded");
	snprintf(buf, sizeof(buf), "%s\n", hex64);
	p = write_file("nl", buf, 65, 0640);
	is_int(ag_secretbox_key_load(p, key, &reason), 0, "with a newline, mode 0640 (group read)");
	ok(memcmp(key, want, sizeof(key)) == 0, "same key");
	for (i = 0; i < 64; i++)
		upper[i] = (char)(hex64[i] >= 'a' ? hex64[i] - 'a' + 'A' : hex64[i]);
	p = write_file("upper", upper, 64, 0400);
	is_int(ag_secretbox_key_load(p, key, &reason), 0, "upper-case hex, mode 0400");
	ok(memcmp(key, want, sizeof(key)) == 0, "same key from upper case");

	check_load(path_of("missing"), AG_ERR_NOTFOUND, "missing file");
	check_load(write_file("empty", "", 0, 0600), AG_ERR_INVAL, "empty file");
	check_load(write_file("short", hex64, 62, 0600), AG_ERR_INVAL, "62 hex digits");
	check_load(write_file("short1", hex64, 63, 0600), AG_ERR_INVAL, "63 hex digits");
	snprintf(buf, sizeof(buf), "%s0", hex64);
	check_load(write_file("long", buf, 65, 0600), AG_ERR_INVAL, "65 hex digits");
	snprintf(buf, sizeof(buf), "%s\n\n", hex64);
	check_load(write_file("nlnl", buf, 66, 0600), AG_ERR_INVAL, "two newlines");
	snprintf(buf, sizeof(buf), "%s\r\n", hex64);
	check_load(write_file("crlf", buf, 66, 0600), AG_ERR_INVAL, "CRLF");
	snprintf(buf, sizeof(buf), " %.63s", hex64);
	check_load(write_file("space", buf, 64, 0600), AG_ERR_INVAL, "leading space");
	memcpy(buf, hex64, 64);
	buf[10] = 'g';
	check_load(write_file("nonhex", buf, 64, 0600), AG_ERR_INVAL, "a non-hex digit");
	memcpy(buf, hex64, 64);
	buf[63] = '\0';
	check_load(write_file("nul", buf, 64, 0600), AG_ERR_INVAL, "a NUL byte");
	check_load(write_file("raw", want, 32, 0600), AG_ERR_INVAL, "32 raw bytes");
	memset(buf, 'a', sizeof(buf));
	check_load(write_file("huge", buf, sizeof(buf), 0600), AG_ERR_TOOLONG, "300 bytes");

	check_load(write_file("others", hex64, 64, 0604), AG_ERR_UNSAFE, "readable by others");
	check_load(write_file("world", hex64, 64, 0644), AG_ERR_UNSAFE, "mode 0644");
	check_load(write_file("gw", hex64, 64, 0660), AG_ERR_UNSAFE, "writable by its group");
	check_load(write_file("ow", hex64, 64, 0602), AG_ERR_UNSAFE, "writable by others");

	snprintf(good, sizeof(good), "%s", path_of("good"));
	p = path_of("link");
	unlink(p);
	if (symlink(good, p) != 0)
		diag("symlink failed");
	check_load(p, AG_ERR_UNSAFE, "a symlink to a good key");
	check_load(dir, AG_ERR_UNSAFE, "a directory");
	check_load("relative/key", AG_ERR_UNSAFE, "a relative path");
	check_load(NULL, AG_ERR_INVAL, "no path");
}

static void
test_key_generate(void)
{
	uint8_t k1[AG_SECRETBOX_KEYBYTES], k2[AG_SECRETBOX_KEYBYTES];
	const char *p, *reason = NULL;
	char target[PATH_MAX];
	struct stat st;
	mode_t old;

	old = umask(077); /* the requested mode must still come out exactly */
	p = path_of("gen1");
	is_int(ag_secretbox_key_generate(p, 0640, &reason), 0, "generate a key, mode 0640");
	ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640, "mode is exactly 0640");
	ok(stat(p, &st) == 0 && st.st_size == 65, "file is 64 hex digits and a newline");
	is_int(ag_secretbox_key_load(p, k1, &reason), 0, "generated key loads");
	is_int(ag_secretbox_key_generate(p, 0600, &reason), AG_ERR_IO, "never overwrites a key");
	ok(reason != NULL && strstr(reason, "exists") != NULL, "reason: \"%s\"",
	   reason != NULL ? reason : "");
	is_int(ag_secretbox_key_load(p, k2, &reason), 0, "old key still loads");
	ok(memcmp(k1, k2, sizeof(k1)) == 0, "old key unchanged");

	p = path_of("gen2");
	is_int(ag_secretbox_key_generate(p, 0600, &reason), 0, "generate a key, mode 0600");
	ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600, "mode is exactly 0600");
	is_int(ag_secretbox_key_load(p, k2, &reason), 0, "second key loads");
	ok(memcmp(k1, k2, sizeof(k1)) != 0, "two generated keys differ");
	umask(old);

	is_int(ag_secretbox_key_generate(path_of("gen3"), 0644, &reason), AG_ERR_INVAL,
	       "mode 0644 refused");
	is_int(ag_secretbox_key_generate(path_of("gen3"), 0660, &reason), AG_ERR_INVAL,
	       "mode 0660 refused");
	ok(access(path_of("gen3"), F_OK) != 0, "nothing created for a refused mode");

	/* a symlink planted where the key should go: refused, target untouched */
	snprintf(target, sizeof(target), "%s", path_of("target"));
	write_file("target", "x", 1, 0600);
	p = path_of("planted");
	unlink(p);
	if (symlink(target, p) != 0)
		diag("symlink failed");
	is_int(ag_secretbox_key_generate(p, 0600, &reason), AG_ERR_IO,
	       "a symlink at the key path is refused");
	ok(stat(target, &st) == 0 && st.st_size == 1, "symlink target untouched");

	is_int(ag_secretbox_key_generate(path_of("nodir/key"), 0600, &reason), AG_ERR_NOTFOUND,
	       "missing directory");
	is_int(ag_secretbox_key_generate("relative-key", 0600, &reason), AG_ERR_UNSAFE,
	       "relative path refused");
}

static void
test_seal_open(void)
{
	uint8_t key[AG_SECRETBOX_KEYBYTES], other[AG_SECRETBOX_KEYBYTES];
	uint8_t msg[20], box[20 + AG_SECRETBOX_OVERHEAD], box2[sizeof(box)];
	uint8_t out[64], big[AG_SECRETBOX_MAX_MSG + AG_SECRETBOX_OVERHEAD + 1];
	size_t boxlen = 0, box2len = 0, outlen = 0, i, j;
	int bad;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	randombytes_buf(msg, sizeof(msg));

	is_int(ag_secretbox_seal(key, msg, sizeof(msg), (const uint8_t *)"alice", 5, box,
	                         sizeof(box), &boxlen), 0, "seal a 20-byte secret for alice");
	is_int(boxlen, sizeof(msg) + AG_SECRETBOX_OVERHEAD, "sealed size is msg + 40");
	ok(memmem(box, boxlen, msg, sizeof(msg)) == NULL, "plaintext not visible in the box");
	is_int(ag_secretbox_open(key, box, boxlen, (const uint8_t *)"alice", 5, out, sizeof(out),
	                         &outlen), 0, "open with the same account");
	ok(outlen == sizeof(msg) && memcmp(out, msg, sizeof(msg)) == 0, "round trip");

	is_int(ag_secretbox_seal(key, msg, sizeof(msg), (const uint8_t *)"alice", 5, box2,
	                         sizeof(box2), &box2len), 0, "seal again");
	ok(memcmp(box, box2, AG_SECRETBOX_NONCEBYTES) != 0, "fresh nonce each time");
	ok(memcmp(box, box2, boxlen) != 0, "different ciphertext each time");

	memset(out, 0xa5, sizeof(out));
	is_int(ag_secretbox_open(key, box, boxlen, (const uint8_t *)"bob", 3, out, sizeof(out),
	                         &outlen), AG_ERR_CORRUPT, "another account (AD) is refused");
	ok(outlen == 0 && all_zero(out, sizeof(out)), "output wiped on failure");
	is_int(ag_secretbox_open(key, box, boxlen, (const uint8_t *)"alicE", 5, out, sizeof(out),
	                         &outlen), AG_ERR_CORRUPT, "AD differing in case is refused");
	is_int(ag_secretbox_open(key, box, boxlen, (const uint8_t *)"alice\0", 6, out,
	                         sizeof(out), &outlen), AG_ERR_CORRUPT, "AD with a NUL appended");
	is_int(ag_secretbox_open(key, box, boxlen, NULL, 0, out, sizeof(out), &outlen),
	       AG_ERR_CORRUPT, "no AD is refused");
	is_int(ag_secretbox_open(other, box, boxlen, (const uint8_t *)"alice", 5, out,
	                         sizeof(out), &outlen), AG_ERR_CORRUPT, "another key is refused");

	/* every single-bit flip, in every byte: nonce, ciphertext and tag */
	bad = 0;
	for (i = 0; i < boxlen; i++) {
		for (j = 0; j < 8; j++) {
			box[i] ^= (uint8_t)(1u << j);
			if (ag_secretbox_open(key, box, boxlen, (const uint8_t *)"alice", 5, out,
			                      sizeof(out), &outlen) != AG_ERR_CORRUPT ||
			    !all_zero(out, sizeof(out)))
				bad++;
			box[i] ^= (uint8_t)(1u << j);
		}
	}
	is_int(bad, 0, "all %zu single-bit tamperings refused", boxlen * 8);
	bad = 0;
	for (i = 0; i < boxlen; i++)
		if (ag_secretbox_open(key, box, i, (const uint8_t *)"alice", 5, out, sizeof(out),
		                      &outlen) != AG_ERR_CORRUPT)
			bad++;
	is_int(bad, 0, "every truncation refused");
	is_int(ag_secretbox_open(key, box, boxlen, (const uint8_t *)"alice", 5, out, sizeof(out),
	                         &outlen), 0, "untampered box still opens");

	/* bounds */
	is_int(ag_secretbox_seal(key, msg, sizeof(msg), (const uint8_t *)"a", 1, box,
	                         sizeof(box) - 1, &boxlen), AG_ERR_TOOLONG, "seal: output too small");
	is_int(ag_secretbox_seal(key, big, AG_SECRETBOX_MAX_MSG + 1, (const uint8_t *)"a", 1, big,
	                         sizeof(big), &boxlen), AG_ERR_TOOLONG, "seal: message too long");
	is_int(ag_secretbox_seal(key, msg, sizeof(msg), big, AG_SECRETBOX_MAX_AD + 1, box,
	                         sizeof(box), &boxlen), AG_ERR_TOOLONG, "seal: AD too long");
	is_int(ag_secretbox_seal(key, msg, sizeof(msg), (const uint8_t *)"alice", 5, box,
	                         sizeof(box), &boxlen), 0, "seal again");
	is_int(ag_secretbox_open(key, box, boxlen, (const uint8_t *)"alice", 5, out,
	                         sizeof(msg) - 1, &outlen), AG_ERR_TOOLONG, "open: output too small");
	is_int(ag_secretbox_open(key, big, sizeof(big), (const uint8_t *)"alice", 5, out,
	                         sizeof(out), &outlen), AG_ERR_TOOLONG, "open: box too long");
	is_int(ag_secretbox_seal(key, NULL, 0, (const uint8_t *)"alice", 5, box, sizeof(box),
	                         &boxlen), 0, "seal an empty message");
	is_int(ag_secretbox_open(key, box, boxlen, (const uint8_t *)"alice", 5, out, 0, &outlen), 0,
	       "open an empty message");
	is_int(outlen, 0, "empty message round trip");
	is_int(ag_secretbox_seal(NULL, msg, sizeof(msg), NULL, 0, box, sizeof(box), &boxlen),
	       AG_ERR_INVAL, "seal: no key");
}

int
main(void)
{
	char tmpl[] = "/tmp/test_secretbox.XXXXXX";
	char cmd[PATH_MAX + 16];
	int status;

	if (sodium_init() < 0)
		return 1;
	if (mkdtemp(tmpl) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", tmpl);
	test_key_files();
	test_key_generate();
	test_seal_open();
	status = done_testing();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return status;
}
