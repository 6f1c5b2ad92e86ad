#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "backup.h"
#include "error.h"

static const char alphabet[] = "23456789ABCDEFGHJKMNPQRSTVWXYZ";
#define ALPHABET_SIZE (sizeof(alphabet) - 1)

static const char kdf_context[crypto_kdf_CONTEXTBYTES + 1] = "agbackup";
#define KDF_SUBKEY_ID 1

static int
in_alphabet(char c)
{
	return c != '\0' && memchr(alphabet, c, ALPHABET_SIZE) != NULL;
}

/* Writes one random code, formatted, into out. */
static void
random_code(char out[AG_BACKUP_CODE_SIZE])
{
	size_t i, o = 0;

	for (i = 0; i < AG_BACKUP_CODE_CHARS; i++) {
		if (i > 0 && i % AG_BACKUP_GROUP_CHARS == 0)
			out[o++] = '-';
		/* randombytes_uniform has no modulo bias */
		out[o++] = alphabet[randombytes_uniform((uint32_t)ALPHABET_SIZE)];
	}
	out[o] = '\0';
}

int
ag_backup_generate(char codes[][AG_BACKUP_CODE_SIZE], size_t n)
{
	size_t i, j, tries;
	int dup, ret = AG_ERR_INVAL;

	if (codes == NULL || n == 0 || n > AG_BACKUP_MAX_COUNT)
		return AG_ERR_INVAL;
	if (sodium_init() < 0) {
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		/* A repeat has odds of about 2^-53 per pair; refuse rather than
		 * loop if the generator is broken. */
		for (tries = 0;; tries++) {
			if (tries == 8) {
				ret = AG_ERR_SYSTEM;
				goto out;
			}
			random_code(codes[i]);
			for (dup = 0, j = 0; j < i; j++)
				dup |= sodium_memcmp(codes[i], codes[j], AG_BACKUP_CODE_SIZE) == 0;
			if (!dup)
				break;
		}
	}
	ret = 0;
out:
	if (ret != 0)
		sodium_memzero(codes, n * sizeof(codes[0]));
	return ret;
}

int
ag_backup_normalize(const char *input, char out[AG_BACKUP_NORM_SIZE])
{
	size_t i, n = 0;
	char c;
	int ret = AG_ERR_INVAL;

	out[0] = '\0';
	if (input == NULL)
		goto out;
	for (i = 0; input[i] != '\0'; i++) {
		if (i >= AG_BACKUP_MAX_INPUT) {
			ret = AG_ERR_TOOLONG;
			goto out;
		}
		c = input[i];
		if (c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!in_alphabet(c) || n >= AG_BACKUP_CODE_CHARS)
			goto out;
		out[n++] = c;
	}
	if (n != AG_BACKUP_CODE_CHARS)
		goto out;
	out[n] = '\0';
	ret = 0;
out:
	if (ret != 0)
		sodium_memzero(out, AG_BACKUP_NORM_SIZE);
	return ret;
}

int
ag_backup_hash(const uint8_t key[AG_BACKUP_KEYBYTES], const char *account,
               const char *code, uint8_t out[AG_BACKUP_HASH_BYTES])
{
	crypto_generichash_state st;
	uint8_t subkey[crypto_generichash_KEYBYTES];
	char norm[AG_BACKUP_NORM_SIZE];
	size_t alen;
	int ret = AG_ERR_INVAL;

	sodium_memzero(out, AG_BACKUP_HASH_BYTES);
	sodium_memzero(subkey, sizeof(subkey));
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(&st, sizeof(st));
	if (key == NULL || account == NULL)
		goto out;
	alen = strnlen(account, AG_BACKUP_MAX_ACCOUNT + 1);
	if (alen == 0)
		goto out;
	if (alen > AG_BACKUP_MAX_ACCOUNT) {
		ret = AG_ERR_TOOLONG;
		goto out;
	}
	if ((ret = ag_backup_normalize(code, norm)) != 0)
		goto out;
	ret = AG_ERR_SYSTEM;
	if (sodium_init() < 0)
		goto out;
	if (crypto_kdf_derive_from_key(subkey, sizeof(subkey), KDF_SUBKEY_ID, kdf_context, key) != 0)
		goto out;
	if (crypto_generichash_init(&st, subkey, sizeof(subkey), AG_BACKUP_HASH_BYTES) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)account, alen + 1) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)norm, AG_BACKUP_CODE_CHARS) != 0 ||
	    crypto_generichash_final(&st, out, AG_BACKUP_HASH_BYTES) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		sodium_memzero(out, AG_BACKUP_HASH_BYTES);
	sodium_memzero(subkey, sizeof(subkey));
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(&st, sizeof(st));
	return ret;
}

int
ag_backup_verify(const uint8_t key[AG_BACKUP_KEYBYTES], const char *account,
                 const char *input, const uint8_t (*hashes)[AG_BACKUP_HASH_BYTES],
                 size_t n, size_t *index)
{
	uint8_t h[AG_BACKUP_HASH_BYTES];
	size_t i, found = 0, idx = 0;
	int ret;

	if (index != NULL)
		*index = 0;
	if (index == NULL || (hashes == NULL && n != 0))
		return AG_ERR_INVAL;
	if ((ret = ag_backup_hash(key, account, input, h)) != 0)
		goto out;
	/* Every stored hash is compared; no early exit. */
	for (i = 0; i < n; i++) {
		size_t eq = (size_t)(sodium_memcmp(h, hashes[i], sizeof(h)) == 0);
		size_t mask = (size_t)0 - eq;

		idx = (idx & ~mask) | (i & mask);
		found |= eq;
	}
	if (found) {
		*index = idx;
		ret = 0;
	} else {
		ret = AG_BACKUP_MISMATCH;
	}
out:
	sodium_memzero(h, sizeof(h));
	return ret;
}
