/* Clerk webhooks, as Svix and Standard Webhooks sign them.
 *
 * A message is three headers (svix-id, svix-timestamp, svix-signature, or
 * the unbranded webhook-id, webhook-timestamp, webhook-signature), and the
 * body exactly as received.  It is genuine when the signature header holds
 * a "v1,<base64>" entry equal to HMAC-SHA256(secret, id "." timestamp "."
 * body), and recent when the timestamp is within the tolerance of now.
 * The secret is "whsec_" followed by the standard Base64 of 24 to 64
 * bytes.  After verification the body is read as a Clerk event; the store
 * records each message id so that a message is acted on at most once.
 *
 * Validators return a reason (enum ag_webhook_reason) for the caller to
 * log and report once; other functions return 0 or a negative AG_ERR_*. */
#ifndef AG_WEBHOOK_H
#define AG_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define AG_WEBHOOK_BODY_MAX (1024 * 1024)   /* bytes of a body accepted */
#define AG_WEBHOOK_HEADER_MAX 4096          /* bytes of one header value */
#define AG_WEBHOOK_BLOCK_MAX (64 * 1024)    /* bytes of a header block */
#define AG_WEBHOOK_ID_MAX 256               /* bytes of a message id */
#define AG_WEBHOOK_TS_MAX 12                /* digits of a timestamp */
#define AG_WEBHOOK_SECRET_MIN 24            /* bytes of a decoded secret */
#define AG_WEBHOOK_SECRET_MAX 64
#define AG_WEBHOOK_SIG_B64_LEN 44           /* Base64 of 32 bytes, padded */
#define AG_WEBHOOK_TYPE_MAX 128             /* bytes of an event type */

enum ag_webhook_reason {
	AG_WEBHOOK_OK = 0,
	AG_WEBHOOK_MISSING_HEADER,   /* no complete svix-* or webhook-* set */
	AG_WEBHOOK_BAD_HEADER,       /* malformed line, repeated header, bad id */
	AG_WEBHOOK_BAD_TIMESTAMP,    /* not strictly decimal seconds */
	AG_WEBHOOK_STALE_TIMESTAMP,  /* older than now - tolerance */
	AG_WEBHOOK_FUTURE_TIMESTAMP, /* newer than now + tolerance */
	AG_WEBHOOK_NO_V1_SIGNATURE,  /* no "v1," entry in the signature header */
	AG_WEBHOOK_BAD_SIGNATURE,    /* no v1 entry matches */
	AG_WEBHOOK_REPLAYED,         /* this message id was processed already */
	AG_WEBHOOK_BAD_BODY          /* verified, but not a Clerk event */
};

/* The reason as the helpers print and log it ("bad_signature"). */
const char *ag_webhook_reason_name(enum ag_webhook_reason reason);

/* ------------------------------------------------------------- secret */

struct ag_webhook_secret {
	uint8_t key[AG_WEBHOOK_SECRET_MAX];
	size_t len;
};

/* Parses the text of a secret file: "whsec_" and standard, padded Base64
 * (decoded strictly), then at most one LF or CRLF, nothing else.  The
 * prefix is required.  Returns 0, or AG_ERR_INVAL with *reasonp set (the
 * reason never quotes the input). */
int ag_webhook_secret_parse(const char *text, size_t len, struct ag_webhook_secret *s,
                            const char **reasonp);

/* Reads and parses the secret file at path: a regular file, no symlink,
 * owned by root or the caller, not writable by group or others, not
 * readable by others, in directories nobody else can change.  Returns 0,
 * or AG_ERR_NOTFOUND / AG_ERR_UNSAFE / AG_ERR_INVAL / AG_ERR_TOOLONG /
 * AG_ERR_IO with *reasonp set.  The secret is wiped on failure. */
int ag_webhook_secret_load(const char *path, struct ag_webhook_secret *s, const char **reasonp);

/* Wipes a secret; accepts NULL. */
void ag_webhook_secret_clear(struct ag_webhook_secret *s);

/* ------------------------------------------------------------ headers */

enum { AG_WH_ID, AG_WH_TS, AG_WH_SIG, AG_WH_NSLOTS = 6 }; /* svix-*, then webhook-* */

struct ag_webhook_headers {
	char value[AG_WH_NSLOTS][AG_WEBHOOK_HEADER_MAX + 1];
	unsigned seen;  /* one bit per slot */
};

/* Empties h. */
void ag_webhook_headers_init(struct ag_webhook_headers *h);

/* Adds one "Name: value" header (len bytes, no line end).  Names are
 * matched case-insensitively; optional spaces or tabs around the value are
 * dropped.  Headers other than the six above are ignored.  Returns 0, or
 * AG_ERR_INVAL for a line without a name and a colon, a control byte, a
 * value longer than AG_WEBHOOK_HEADER_MAX, or one of the six headers given
 * twice. */
int ag_webhook_header_add(struct ag_webhook_headers *h, const char *line, size_t len);

/* Adds one header given as its name (nlen bytes: a non-empty RFC 9110
 * token, so no colon) and its value (vlen bytes), with the rules above:
 * what a header line "Name: value" gives.  Returns 0 or AG_ERR_INVAL. */
int ag_webhook_header_add_value(struct ag_webhook_headers *h, const char *name, size_t nlen,
                                const char *value, size_t vlen);

/* Adds a header block: "Name: value" lines ended by LF or CRLF (the last
 * one may lack it).  The block ends at the first empty line or at len; at
 * most AG_WEBHOOK_BLOCK_MAX bytes.  Returns 0 or AG_ERR_INVAL as above. */
int ag_webhook_headers_parse(struct ag_webhook_headers *h, const char *block, size_t len);

/* Calls fn for each line of a header block, as ag_webhook_headers_parse()
 * reads it (without its LF or CRLF; up to the first empty line), and
 * stops at the first non-zero return, which it returns.  A block longer
 * than AG_WEBHOOK_BLOCK_MAX is AG_ERR_INVAL, fn not called. */
int ag_webhook_block_lines(const char *block, size_t len,
                           int (*fn)(void *ctx, const char *line, size_t n), void *ctx);

/* --------------------------------------------------------- verification */

/* Parses a timestamp strictly: 1 to AG_WEBHOOK_TS_MAX decimal digits, no
 * sign, no spaces, no leading zero (except "0").  Returns 0 or
 * AG_ERR_INVAL. */
int ag_webhook_parse_timestamp(const char *s, int64_t *out);

/* The v1 signature of a message: "v1," and the Base64 of
 * HMAC-SHA256(secret, id "." timestamp "." body). */
void ag_webhook_sign(const struct ag_webhook_secret *s, const char *id, const char *timestamp,
                     const uint8_t *body, size_t len, char out[3 + AG_WEBHOOK_SIG_B64_LEN + 1]);

/* Checks a signature header (space-separated "version,signature" entries)
 * against the message: AG_WEBHOOK_OK when any v1 entry matches (compared
 * in constant time), AG_WEBHOOK_NO_V1_SIGNATURE when there is no v1 entry,
 * else AG_WEBHOOK_BAD_SIGNATURE.  Other versions and malformed v1
 * entries never match. */
enum ag_webhook_reason ag_webhook_check_signature(const struct ag_webhook_secret *s,
                                                  const char *id, const char *timestamp,
                                                  const uint8_t *body, size_t len,
                                                  const char *header);

struct ag_webhook_msg {
	char id[AG_WEBHOOK_ID_MAX + 1];  /* "" when the headers gave none */
	int64_t timestamp;
};

/* Verifies a message received at now: the complete svix-* set (else the
 * complete webhook-* set), a message id of 1 to AG_WEBHOOK_ID_MAX
 * printable bytes without spaces, the timestamp within +-tolerance of now,
 * then the signature.  msg receives the id (when well-formed) and the
 * timestamp either way, for logging. */
enum ag_webhook_reason ag_webhook_verify(const struct ag_webhook_secret *s,
                                         const struct ag_webhook_headers *h, const uint8_t *body,
                                         size_t len, int64_t now, int64_t tolerance,
                                         struct ag_webhook_msg *msg);

/* -------------------------------------------------------------- events */

enum ag_webhook_action {
	AG_WEBHOOK_IGNORE = 0,      /* acknowledged, nothing to do */
	AG_WEBHOOK_END_SESSION,     /* session.ended/removed/revoked: data.id */
	AG_WEBHOOK_END_USER         /* user.deleted: data.id */
};

struct ag_webhook_event {
	char type[AG_WEBHOOK_TYPE_MAX + 1];
	enum ag_webhook_action action;
	char target[AG_NAME_MAX + 1];  /* Clerk session id or user id; "" when ignored */
};

/* Reads a verified body as a Clerk event: a JSON object (duplicate keys
 * refused) with a string "type" of printable ASCII; for the events acted
 * on, "data" must be an object whose "id" is a string of 1 to AG_SID_MAX
 * (session) or AG_NAME_MAX (user) bytes without control characters.
 * Returns 0, AG_ERR_INVAL (bad_body) or AG_ERR_NOMEM. */
int ag_webhook_event_parse(const uint8_t *body, size_t len, struct ag_webhook_event *ev);

struct ag_webhook_result {
	int64_t sessions_ended;
	int64_t families_revoked;  /* -1: revoked with the sessions, not counted */
	int recorded;              /* the message id was recorded by this call */
};

/* Acts on a verified message: records msg->id until the timestamp window
 * of the message has passed (a replay sets *replayed and does nothing
 * else) and, in the same transaction, ends the sessions of the event and
 * revokes their refresh families.  sid_of_hash maps a session hash to the
 * handle its refresh families were recorded with.  Returns 0 or AG_ERR_*
 * (after two retries on AG_ERR_BUSY); on an error nothing was recorded
 * (res->recorded is 0), so a sender's retry of the message is processed. */
int ag_webhook_apply(struct ag_store *store, const struct ag_webhook_msg *msg,
                     const struct ag_webhook_event *ev, int64_t now, int64_t tolerance,
                     void (*sid_of_hash)(const uint8_t h[32], char out[AG_SID_MAX + 1]),
                     int *replayed, struct ag_webhook_result *res);

#endif
