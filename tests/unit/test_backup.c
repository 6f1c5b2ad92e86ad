/* Unit tests for lib/backup: code format and alphabet, randomness sanity,
 * input normalisation with hostile input, the keyed hash (against a value
 * computed independently with Python's hashlib.blake2b) and verification. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "backup.h"
#include "error.h"
#include "util.h"

#include "tap.h"

static const char alphabet[] = "23456789ABCDEFGHJKMNPQRSTVWXYZ";

static int
well_formed(const char *c)
{
	size_t i;

	if (strlen(c) != 14 || c[4] != '-' || c[9] != '-')
		return 0;
	for (i = 0; i < 14; i++)
		if (i != 4 && i != 9 && (c[i] == '\0' || strchr(alphabet, c[i]) == NULL))
			return 0;
	return 1;
}

static void
test_generate(void)
{
	char codes[AG_BACKUP_MAX_COUNT][AG_BACKUP_CODE_SIZE], norm[AG_BACKUP_NORM_SIZE];
	unsigned seen[256] = { 0 };
	size_t i, j, round;
	int good = 1, distinct = 1, normal = 1, missing = 0, forbidden = 0;

	is_int(ag_backup_generate(codes, AG_BACKUP_DEFAULT_COUNT), 0, "generate 10 codes");
	for (i = 0; i < AG_BACKUP_DEFAULT_COUNT; i++) {
		good &= well_formed(codes[i]);
		normal &= ag_backup_normalize(codes[i], norm) == 0 && strlen(norm) == 12;
		for (j = 0; j < i; j++)
			distinct &= strcmp(codes[i], codes[j]) != 0;
	}
	ok(good, "every code looks like ABCD-EFGH-JKMN (e.g. %s)", codes[0]);
	ok(normal, "every code normalises to 12 symbols");
	ok(distinct, "10 distinct codes");

	/* 12000 symbols: each of the 30 appears, nothing else does */
	for (round = 0; round < 10; round++) {
		if (ag_backup_generate(codes, AG_BACKUP_MAX_COUNT) != 0)
			good = 0;
		for (i = 0; i < AG_BACKUP_MAX_COUNT; i++)
			for (j = 0; j < 14; j++)
				seen[(unsigned char)codes[i][j]]++;
	}
	ok(good, "generate 100 codes, 10 times");
	for (i = 0; i < sizeof(alphabet) - 1; i++)
		missing += seen[(unsigned char)alphabet[i]] == 0;
	is_int(missing, 0, "all 30 symbols occur");
	for (i = 0; i < 256; i++)
		if (seen[i] != 0 && (i == 0 || strchr(alphabet, (int)i) == NULL) && i != '-')
			forbidden++;
	is_int(forbidden, 0, "no other character occurs");
	ok(seen['0'] + seen['O'] + seen['1'] + seen['I'] + seen['L'] + seen['U'] == 0,
	   "no 0, O, 1, I, L or U");

	is_int(ag_backup_generate(codes, 0), AG_ERR_INVAL, "zero codes refused");
	is_int(ag_backup_generate(codes, AG_BACKUP_MAX_COUNT + 1), AG_ERR_INVAL,
	       "more than the maximum refused");
	is_int(ag_backup_generate(NULL, 1), AG_ERR_INVAL, "NULL refused");
}

static void
test_normalize(void)
{
	char out[AG_BACKUP_NORM_SIZE], *big;
	size_t i;
	static const char *const good[] = {
		"ABCD-EFGH-JKMN", "abcd-efgh-jkmn", "ABCDEFGHJKMN", " abcd efgh jkmn ",
		"a-b-c-d-e-f-g-h-j-k-m-n", "AbCd--EfGh  JkMn",
	};
	static const char *const bad[] = {
		"", "    ", "----", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKM0",
		"ABCD-EFGH-JKMO", "ABCD-EFGH-JKM1", "ABCD-EFGH-JKMI", "ABCD-EFGH-JKML",
		"ABCD-EFGH-JKMU", "abcd-efgh-jkmo", "ABCD_EFGH_JKMN", "ABCD\tEFGH JKMN",
		"ABCD-EFGH-JKMN\n", "ABCD-EFGH-JKM\xc3\x91", "ABCD-EFGH-JK%n", "ABCD.EFGH.JKMN",
	};

	for (i = 0; i < AG_ARRAY_SIZE(good); i++) {
		is_int(ag_backup_normalize(good[i], out), 0, "normalise \"%s\"", good[i]);
		is_str(out, "ABCDEFGHJKMN", "normalised \"%s\"", good[i]);
	}
	for (i = 0; i < AG_ARRAY_SIZE(bad); i++) {
		is_int(ag_backup_normalize(bad[i], out), AG_ERR_INVAL, "reject \"%s\"", bad[i]);
		is_str(out, "", "rejected input leaves nothing (case %zu)", i);
	}
	is_int(ag_backup_normalize(NULL, out), AG_ERR_INVAL, "NULL");

	big = malloc(100 * 1024 + 1);
	if (big == NULL) {
		ok(0, "malloc");
		return;
	}
	memset(big, '-', 100 * 1024);
	big[100 * 1024] = '\0';
	memcpy(big, "ABCDEFGHJKMN", 12);
	is_int(ag_backup_normalize(big, out), AG_ERR_TOOLONG, "a code and 100 KiB of dashes");
	memset(big, 'A', 100 * 1024);
	is_int(ag_backup_normalize(big, out), AG_ERR_INVAL, "100 KiB of letters");
	free(big);
}

static void
test_hash_and_verify(void)
{
	uint8_t key[AG_BACKUP_KEYBYTES], key2[AG_BACKUP_KEYBYTES];
	uint8_t h1[AG_BACKUP_HASH_BYTES], h2[AG_BACKUP_HASH_BYTES];
	uint8_t stored[AG_BACKUP_DEFAULT_COUNT][AG_BACKUP_HASH_BYTES];
	char codes[AG_BACKUP_DEFAULT_COUNT][AG_BACKUP_CODE_SIZE], hex[65], lower[AG_BACKUP_CODE_SIZE];
	char longacct[AG_BACKUP_MAX_ACCOUNT + 2];
	size_t i, idx = 99;
	int ok_all = 1;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;

	/* Known answer: BLAKE2b-256 keyed with crypto_kdf("agbackup", id 1)
	 * of the key above, over "alice\0ABCDEFGHJKMN" (Python hashlib). */
	is_int(ag_backup_hash(key, "alice", "ABCD-EFGH-JKMN", h1), 0, "hash a code");
	sodium_bin2hex(hex, sizeof(hex), h1, sizeof(h1));
	is_str(hex, "6047599c3d1b787d90b7e8bd8ba2f03f2a952f8e2c71f9d33b06f240564700b9",
	       "known-answer hash");
	is_int(ag_backup_hash(key, "alice", "abcd efgh jkmn", h2), 0, "hash the typed form");
	ok(memcmp(h1, h2, sizeof(h1)) == 0, "typed and formatted codes hash alike");
	is_int(ag_backup_hash(key, "bob", "ABCD-EFGH-JKMN", h2), 0, "hash for another account");
	ok(memcmp(h1, h2, sizeof(h1)) != 0, "account is part of the hash");
	memcpy(key2, key, sizeof(key));
	key2[31] ^= 1;
	is_int(ag_backup_hash(key2, "alice", "ABCD-EFGH-JKMN", h2), 0, "hash under another key");
	ok(memcmp(h1, h2, sizeof(h1)) != 0, "key is part of the hash");

	memset(h2, 0xa5, sizeof(h2));
	is_int(ag_backup_hash(key, "alice", "ABCD-EFGH-JKM0", h2), AG_ERR_INVAL,
	       "hash of a malformed code refused");
	ok(h2[0] == 0 && memcmp(h2, h2 + 1, sizeof(h2) - 1) == 0, "output wiped");
	is_int(ag_backup_hash(key, "", "ABCD-EFGH-JKMN", h2), AG_ERR_INVAL, "empty account");
	memset(longacct, 'a', sizeof(longacct) - 1);
	longacct[sizeof(longacct) - 1] = '\0';
	is_int(ag_backup_hash(key, longacct, "ABCD-EFGH-JKMN", h2), AG_ERR_TOOLONG,
	       "account over %d bytes", AG_BACKUP_MAX_ACCOUNT);
	longacct[AG_BACKUP_MAX_ACCOUNT] = '\0';
	is_int(ag_backup_hash(key, longacct, "ABCD-EFGH-JKMN", h2), 0, "account of %d bytes",
	       AG_BACKUP_MAX_ACCOUNT);
	is_int(ag_backup_hash(NULL, "alice", "ABCD-EFGH-JKMN", h2), AG_ERR_INVAL, "no key");

	/* enrollment: generate, store hashes; login: verify */
	is_int(ag_backup_generate(codes, AG_BACKUP_DEFAULT_COUNT), 0, "generate a set");
	for (i = 0; i < AG_BACKUP_DEFAULT_COUNT; i++)
		ok_all &= ag_backup_hash(key, "alice", codes[i], stored[i]) == 0;
	ok(ok_all, "hash the set");
	for (i = 0; i < AG_BACKUP_DEFAULT_COUNT; i++) {
		is_int(ag_backup_verify(key, "alice", codes[i], stored, AG_BACKUP_DEFAULT_COUNT, &idx),
		       0, "code %zu verifies", i);
		is_int(idx, i, "code %zu found at its index", i);
	}
	for (i = 0; codes[3][i] != '\0'; i++)
		lower[i] = (char)(codes[3][i] >= 'A' && codes[3][i] <= 'Z' ? codes[3][i] - 'A' + 'a'
		                                                            : codes[3][i]);
	lower[i] = '\0';
	is_int(ag_backup_verify(key, "alice", lower, stored, AG_BACKUP_DEFAULT_COUNT, &idx), 0,
	       "lower-case input verifies");
	is_int(idx, 3, "at index 3");
	is_int(ag_backup_verify(key, "bob", codes[3], stored, AG_BACKUP_DEFAULT_COUNT, &idx),
	       AG_BACKUP_MISMATCH, "alice's code is no good for bob");
	is_int(ag_backup_verify(key2, "alice", codes[3], stored, AG_BACKUP_DEFAULT_COUNT, &idx),
	       AG_BACKUP_MISMATCH, "nor under another key");
	is_int(ag_backup_verify(key, "alice", "2222-2222-2222", stored, AG_BACKUP_DEFAULT_COUNT,
	                        &idx), AG_BACKUP_MISMATCH, "a guess is a mismatch");
	is_int(ag_backup_verify(key, "alice", "not a code", stored, AG_BACKUP_DEFAULT_COUNT, &idx),
	       AG_ERR_INVAL, "malformed input is an error, not a mismatch");
	/* single use: the caller deletes the used hash; then it is gone */
	memcpy(stored[3], stored[AG_BACKUP_DEFAULT_COUNT - 1], AG_BACKUP_HASH_BYTES);
	is_int(ag_backup_verify(key, "alice", codes[3], stored, AG_BACKUP_DEFAULT_COUNT - 1, &idx),
	       AG_BACKUP_MISMATCH, "a used (deleted) code no longer verifies");
	is_int(ag_backup_verify(key, "alice", codes[3], NULL, 0, &idx), AG_BACKUP_MISMATCH,
	       "no stored codes: mismatch");
	is_int(ag_backup_verify(key, "alice", codes[3], stored, 1, NULL), AG_ERR_INVAL,
	       "no index pointer");
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_generate();
	test_normalize();
	test_hash_and_verify();
	return done_testing();
}
