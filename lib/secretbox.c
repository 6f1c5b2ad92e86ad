#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "safefile.h"
#include "secretbox.h"

#define KEY_HEX_LEN (2 * AG_SECRETBOX_KEYBYTES)
/* Read a little more than a valid file so a long one gets our own reason. */
#define KEY_FILE_READ_MAX 256

static const char key_format_reason[] =
	"must hold exactly 64 hexadecimal digits and an optional newline";

int
ag_secretbox_key_load(const char *path, uint8_t key[AG_SECRETBOX_KEYBYTES],
                      const char **reasonp)
{
	char *buf = NULL;
	size_t len = 0, binlen = 0;
	const char *reason = "is invalid";
	int ret = AG_ERR_INVAL;

	sodium_memzero(key, AG_SECRETBOX_KEYBYTES);
	if (path == NULL) {
		reason = "no key file given";
		goto out;
	}
	if ((ret = ag_safe_check_parents(path, &reason)) != 0)
		goto out;
	ret = ag_safe_read_file(path, KEY_FILE_READ_MAX, AG_SAFE_NO_OTHER_READ, &buf, &len,
	                        &reason);
	if (ret != 0)
		goto out;
	ret = AG_ERR_INVAL;
	if (len != KEY_HEX_LEN && !(len == KEY_HEX_LEN + 1 && buf[KEY_HEX_LEN] == '\n')) {
		reason = len < KEY_HEX_LEN
		                 ? "is too short (must hold exactly 64 hexadecimal digits)"
		                 : "is too long (must hold exactly 64 hexadecimal digits)";
		goto out;
	}
	/* sodium_hex2bin runs in constant time and stops at the first non-hex
	 * byte, which then shows as a short result. */
	if (sodium_hex2bin(key, AG_SECRETBOX_KEYBYTES, buf, KEY_HEX_LEN, NULL, &binlen, NULL) != 0 ||
	    binlen != AG_SECRETBOX_KEYBYTES) {
		reason = key_format_reason;
		goto out;
	}
	ret = 0;
out:
	if (buf != NULL) {
		sodium_memzero(buf, len);
		free(buf);
	}
	if (ret != 0) {
		sodium_memzero(key, AG_SECRETBOX_KEYBYTES);
		if (reasonp != NULL)
			*reasonp = reason;
	}
	return ret;
}

int
ag_secretbox_key_generate(const char *path, mode_t mode, const char **reasonp)
{
	uint8_t key[AG_SECRETBOX_KEYBYTES];
	char hex[KEY_HEX_LEN + 2];
	const char *reason = "could not be created";
	int fd = -1, created = 0, ret = AG_ERR_INVAL;

	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	if (path == NULL) {
		reason = "no key file given";
		goto out;
	}
	if (mode != 0600 && mode != 0640) {
		reason = "must be created with mode 0600 or 0640";
		goto out;
	}
	if ((ret = ag_safe_check_parents(path, &reason)) != 0)
		goto out;
	if (sodium_init() < 0) {
		reason = "cannot be generated (libsodium failed to initialise)";
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	ret = AG_ERR_IO;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0) {
		reason = errno == EEXIST ? "already exists (remove it first to replace the key)"
		                         : "could not be created";
		goto out;
	}
	created = 1;
	/* The umask may have taken bits away; set exactly what was asked. */
	if (fchmod(fd, mode) != 0) {
		reason = "could not be given its mode";
		goto out;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	hex[KEY_HEX_LEN] = '\n';
	if (ag_safe_write_all(fd, hex, KEY_HEX_LEN + 1) != 0 || fsync(fd) != 0) {
		reason = "could not be written";
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		reason = "could not be written";
		goto out;
	}
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret != 0 && created)
		unlink(path);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	if (ret != 0 && reasonp != NULL)
		*reasonp = reason;
	return ret;
}

int
ag_secretbox_seal(const uint8_t key[AG_SECRETBOX_KEYBYTES], const uint8_t *msg,
                  size_t msglen, const uint8_t *ad, size_t adlen, uint8_t *out,
                  size_t outsize, size_t *outlen)
{
	unsigned long long clen = 0;

	if (outlen != NULL)
		*outlen = 0;
	if (key == NULL || outlen == NULL || out == NULL || (msg == NULL && msglen != 0) ||
	    (ad == NULL && adlen != 0))
		return AG_ERR_INVAL;
	if (msglen > AG_SECRETBOX_MAX_MSG || adlen > AG_SECRETBOX_MAX_AD ||
	    outsize < msglen + AG_SECRETBOX_OVERHEAD)
		return AG_ERR_TOOLONG;
	if (sodium_init() < 0)
		return AG_ERR_SYSTEM;
	randombytes_buf(out, AG_SECRETBOX_NONCEBYTES);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + AG_SECRETBOX_NONCEBYTES, &clen, msg,
	                                               msglen, ad, adlen, NULL, out, key) != 0 ||
	    clen != msglen + AG_SECRETBOX_ABYTES) {
		sodium_memzero(out, outsize);
		return AG_ERR_SYSTEM;
	}
	*outlen = AG_SECRETBOX_NONCEBYTES + (size_t)clen;
	return 0;
}

int
ag_secretbox_open(const uint8_t key[AG_SECRETBOX_KEYBYTES], const uint8_t *box,
                  size_t boxlen, const uint8_t *ad, size_t adlen, uint8_t *out,
                  size_t outsize, size_t *outlen)
{
	unsigned long long mlen = 0;
	int ret = AG_ERR_INVAL;

	if (outlen != NULL)
		*outlen = 0;
	if (key == NULL || box == NULL || outlen == NULL || (out == NULL && outsize != 0) ||
	    (ad == NULL && adlen != 0))
		goto out;
	if (boxlen < AG_SECRETBOX_OVERHEAD) {
		ret = AG_ERR_CORRUPT; /* truncated: cannot have been sealed by us */
		goto out;
	}
	if (boxlen > AG_SECRETBOX_MAX_MSG + AG_SECRETBOX_OVERHEAD || adlen > AG_SECRETBOX_MAX_AD ||
	    outsize < boxlen - AG_SECRETBOX_OVERHEAD) {
		ret = AG_ERR_TOOLONG;
		goto out;
	}
	if (sodium_init() < 0) {
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL,
	                                               box + AG_SECRETBOX_NONCEBYTES,
	                                               boxlen - AG_SECRETBOX_NONCEBYTES, ad, adlen,
	                                               box, key) != 0) {
		ret = AG_ERR_CORRUPT;
		goto out;
	}
	*outlen = (size_t)mlen;
	ret = 0;
out:
	if (ret != 0 && out != NULL)
		sodium_memzero(out, outsize);
	return ret;
}
