/* TOTP (RFC 6238) with HMAC-SHA-1 (RFC 4226 dynamic truncation), the
 * variant every authenticator app implements.  Digits (6-8), period and
 * window are parameters; the defaults are 6 digits, 30 s and +-1 step.
 *
 * Time is passed in by the caller (ag_clock_now() in production), so the
 * module has no clock of its own.  A time step is floor(now / period). */
#ifndef AG_TOTP_H
#define AG_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define AG_TOTP_SECRET_BYTES 20 /* 160-bit secrets, as RFC 4226 recommends */
#define AG_TOTP_MIN_KEY 16      /* RFC 4226 R6: at least 128 bits */
#define AG_TOTP_MAX_KEY 64
#define AG_TOTP_MIN_DIGITS 6
#define AG_TOTP_MAX_DIGITS 8
#define AG_TOTP_CODE_SIZE (AG_TOTP_MAX_DIGITS + 1) /* a code and its NUL */
#define AG_TOTP_MAX_PERIOD 3600
#define AG_TOTP_MAX_WINDOW 10
#define AG_TOTP_MAX_INPUT 64 /* longest code a user may type, spaces included */

struct ag_totp_params {
	unsigned digits; /* AG_TOTP_MIN_DIGITS..AG_TOTP_MAX_DIGITS */
	unsigned period; /* seconds, 1..AG_TOTP_MAX_PERIOD */
	unsigned window; /* steps accepted either side of now, 0..AG_TOTP_MAX_WINDOW */
};

#define AG_TOTP_PARAMS_DEFAULT { 6, 30, 1 }

/* Non-negative results of ag_totp_verify() other than 0 (accepted). */
enum ag_totp_result {
	AG_TOTP_MISMATCH = 1, /* well-formed code, matches no step in the window */
	AG_TOTP_REPLAY = 2    /* matches only steps <= last_used_step */
};

/* Fills key (keylen bytes, AG_TOTP_MIN_KEY..AG_TOTP_MAX_KEY) from the
 * CSPRNG.  Returns 0, AG_ERR_INVAL or AG_ERR_SYSTEM. */
int ag_totp_secret_generate(uint8_t *key, size_t keylen);

/* Sets *stepp to floor(now / period).  Returns 0, or AG_ERR_RANGE for a
 * negative time or a period outside 1..AG_TOTP_MAX_PERIOD. */
int ag_totp_step(int64_t now, unsigned period, int64_t *stepp);

/* Writes the code for time step `step` (>= 0) as `digits` ASCII digits and
 * a NUL into out (outsize >= digits + 1).  Returns 0, AG_ERR_INVAL,
 * AG_ERR_RANGE or AG_ERR_SYSTEM (HMAC failed); out is wiped on error. */
int ag_totp_code(const uint8_t *key, size_t keylen, int64_t step, unsigned digits, char *out,
                 size_t outsize);

/* Strict parse of a code as typed: ASCII spaces are dropped ("123 456"),
 * then exactly `digits` ASCII digits must remain.  Writes them and a NUL to
 * out.  Returns 0, AG_ERR_INVAL (empty, wrong length, any other byte) or
 * AG_ERR_TOOLONG (more than AG_TOTP_MAX_INPUT bytes; never read further). */
int ag_totp_parse_code(const char *input, unsigned digits, char out[AG_TOTP_CODE_SIZE]);

/* Checks a typed code against every step in [step(now) - window,
 * step(now) + window], each compared in constant time, all of them always.
 * Returns 0 when one of them with step > last_used_step matches (the
 * largest such is stored in *matched_step), AG_TOTP_MISMATCH, AG_TOTP_REPLAY,
 * or a negative AG_ERR_* (malformed code, bad parameters, HMAC failure).
 * Use last_used_step = -1 before the first accepted code.  Only 0 grants. */
int ag_totp_verify(const uint8_t *key, size_t keylen, const char *input,
                   const struct ag_totp_params *params, int64_t now, int64_t last_used_step,
                   int64_t *matched_step) __attribute__((warn_unused_result));

#endif
