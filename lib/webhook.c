/* Clerk webhooks: Svix / Standard Webhooks signature verification and the
 * session sync.  See webhook.h for the contract.
 *
 * Reference: the Standard Webhooks specification and the Svix libraries
 * (svix/webhooks, Webhook.verify), whose behaviour this follows: the
 * svix-* headers when all three are present, else the webhook-* ones;
 * signature entries separated by single spaces, "v1" entries only, any
 * one matching is enough; the body is signed byte for byte. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "error.h"
#include "json_out.h"
#include "safefile.h"
#include "store.h"
#include "util.h"
#include "webhook.h"

#define SECRET_PREFIX "whsec_"
#define SECRET_PREFIX_LEN 6
/* Base64 of AG_WEBHOOK_SECRET_MAX bytes, padded. */
#define SECRET_B64_MAX (4 * ((AG_WEBHOOK_SECRET_MAX + 2) / 3))
/* Read a little more than a valid file so that a long one gets our reason. */
#define SECRET_FILE_READ_MAX 512

static const char *const reason_names[] = {
	[AG_WEBHOOK_OK] = "ok",
	[AG_WEBHOOK_MISSING_HEADER] = "missing_header",
	[AG_WEBHOOK_BAD_HEADER] = "bad_header",
	[AG_WEBHOOK_BAD_TIMESTAMP] = "bad_timestamp",
	[AG_WEBHOOK_STALE_TIMESTAMP] = "stale_timestamp",
	[AG_WEBHOOK_FUTURE_TIMESTAMP] = "future_timestamp",
	[AG_WEBHOOK_NO_V1_SIGNATURE] = "no_v1_signature",
	[AG_WEBHOOK_BAD_SIGNATURE] = "bad_signature",
	[AG_WEBHOOK_REPLAYED] = "replayed",
	[AG_WEBHOOK_BAD_BODY] = "bad_body",
};

const char *
ag_webhook_reason_name(enum ag_webhook_reason reason)
{
	if ((unsigned)reason < AG_ARRAY_SIZE(reason_names) && reason_names[reason] != NULL)
		return reason_names[reason];
	return "invalid";
}

/* ------------------------------------------------------------- secret */

int
ag_webhook_secret_parse(const char *text, size_t len, struct ag_webhook_secret *s,
                        const char **reasonp)
{
	const char *b64, *end = NULL;
	const char *reason = "is invalid";
	size_t b64len, binlen = 0;
	int ret = AG_ERR_INVAL;

	sodium_memzero(s, sizeof(*s));
	if (text == NULL || len == 0) {
		reason = "is empty (expected one line: whsec_ and the Base64 signing secret)";
		goto out;
	}
	if (len < SECRET_PREFIX_LEN || memcmp(text, SECRET_PREFIX, SECRET_PREFIX_LEN) != 0) {
		reason = "must hold one line: whsec_ and the Base64 secret, as Clerk shows it";
		goto out;
	}
	b64 = text + SECRET_PREFIX_LEN;
	b64len = len - SECRET_PREFIX_LEN;
	/* One line: at most one LF, or CRLF, at the very end. */
	if (b64len > 0 && b64[b64len - 1] == '\n') {
		b64len--;
		if (b64len > 0 && b64[b64len - 1] == '\r')
			b64len--;
	}
	if (b64len == 0) {
		reason = "holds whsec_ but no secret after it";
		goto out;
	}
	if (b64len > SECRET_B64_MAX) {
		reason = "holds a secret longer than 64 bytes, or more than one line";
		goto out;
	}
	/* Strict: padded standard Base64, no whitespace, canonical last
	 * character (libsodium refuses non-zero padding bits). */
	if (sodium_base642bin(s->key, sizeof(s->key), b64, b64len, NULL, &binlen, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + b64len) {
		reason = "is not whsec_ followed by standard, padded Base64 on one line";
		goto out;
	}
	if (binlen < AG_WEBHOOK_SECRET_MIN) {
		reason = "holds a secret shorter than 24 bytes";
		goto out;
	}
	s->len = binlen;
	ret = 0;
out:
	if (ret != 0) {
		sodium_memzero(s, sizeof(*s));
		if (reasonp != NULL)
			*reasonp = reason;
	}
	return ret;
}

int
ag_webhook_secret_load(const char *path, struct ag_webhook_secret *s, const char **reasonp)
{
	char *buf = NULL;
	size_t len = 0;
	const char *reason = "is invalid";
	int ret = AG_ERR_INVAL;

	sodium_memzero(s, sizeof(*s));
	if (sodium_init() < 0) {
		reason = "cannot be used (libsodium failed to initialise)";
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	if (path == NULL || path[0] == '\0') {
		reason = "no secret file given";
		goto out;
	}
	if ((ret = ag_safe_check_parents(path, &reason)) != 0)
		goto out;
	ret = ag_safe_read_file(path, SECRET_FILE_READ_MAX, AG_SAFE_NO_OTHER_READ, &buf, &len,
	                        &reason);
	if (ret != 0)
		goto out;
	ret = ag_webhook_secret_parse(buf, len, s, &reason);
out:
	if (buf != NULL) {
		sodium_memzero(buf, len);
		free(buf);
	}
	if (ret != 0) {
		sodium_memzero(s, sizeof(*s));
		if (reasonp != NULL)
			*reasonp = reason;
	}
	return ret;
}

void
ag_webhook_secret_clear(struct ag_webhook_secret *s)
{
	if (s != NULL)
		sodium_memzero(s, sizeof(*s));
}

/* ------------------------------------------------------------ headers */

static const char *const header_names[AG_WH_NSLOTS] = {
	"svix-id", "svix-timestamp", "svix-signature",
	"webhook-id", "webhook-timestamp", "webhook-signature",
};

void
ag_webhook_headers_init(struct ag_webhook_headers *h)
{
	memset(h, 0, sizeof(*h));
}

/* RFC 9110 token characters (header names). */
static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* One header, its name (nlen bytes) and its value (vlen bytes, before the
 * optional white space around it is dropped). */
static int
header_add(struct ag_webhook_headers *h, const char *name, size_t nlen, const char *v,
           size_t vlen)
{
	size_t i;
	int slot = -1;

	if (nlen == 0)
		return AG_ERR_INVAL;
	for (i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)name[i]))
			return AG_ERR_INVAL;
	while (vlen > 0 && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	for (i = 0; i < AG_WH_NSLOTS; i++)
		if (name_is(name, nlen, header_names[i]))
			slot = (int)i;
	/* No control bytes anywhere (a CR or NUL could split or cut a line
	 * further down); ours must be plain ASCII, others may carry
	 * obs-text. */
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f || (slot >= 0 && c >= 0x80))
			return AG_ERR_INVAL;
	}
	if (slot < 0)
		return 0;
	if (vlen > AG_WEBHOOK_HEADER_MAX || (h->seen & (1u << slot)) != 0)
		return AG_ERR_INVAL;
	memcpy(h->value[slot], v, vlen);
	h->value[slot][vlen] = '\0';
	h->seen |= 1u << slot;
	return 0;
}

int
ag_webhook_header_add(struct ag_webhook_headers *h, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);

	if (colon == NULL)
		return AG_ERR_INVAL;
	return header_add(h, line, (size_t)(colon - line), colon + 1,
	                  len - (size_t)(colon - line) - 1);
}

int
ag_webhook_header_add_value(struct ag_webhook_headers *h, const char *name, size_t nlen,
                            const char *value, size_t vlen)
{
	return header_add(h, name, nlen, value, vlen);
}

int
ag_webhook_block_lines(const char *block, size_t len,
                       int (*fn)(void *ctx, const char *line, size_t n), void *ctx)
{
	const char *p = block, *end = block + len, *nl;
	size_t n;
	int r;

	if (len > AG_WEBHOOK_BLOCK_MAX)
		return AG_ERR_INVAL;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* the end of the header block */
		if ((r = fn(ctx, p, n)) != 0)
			return r;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return 0;
}

static int
add_line(void *h, const char *line, size_t n)
{
	return ag_webhook_header_add(h, line, n);
}

int
ag_webhook_headers_parse(struct ag_webhook_headers *h, const char *block, size_t len)
{
	return ag_webhook_block_lines(block, len, add_line, h);
}

/* --------------------------------------------------------- verification */

int
ag_webhook_parse_timestamp(const char *s, int64_t *out)
{
	size_t len, i;
	int64_t v = 0;

	if (s == NULL)
		return AG_ERR_INVAL;
	len = strnlen(s, AG_WEBHOOK_TS_MAX + 1);
	if (len == 0 || len > AG_WEBHOOK_TS_MAX || (len > 1 && s[0] == '0'))
		return AG_ERR_INVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return AG_ERR_INVAL;
		v = v * 10 + (s[i] - '0'); /* at most 12 digits: no overflow */
	}
	*out = v;
	return 0;
}

static void
mac_message(const struct ag_webhook_secret *s, const char *id, const char *timestamp,
            const uint8_t *body, size_t len, uint8_t mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	/* The _init API takes a key of any length (Svix secrets are 24
	 * bytes, crypto_auth_hmacsha256() would want 32). */
	crypto_auth_hmacsha256_init(&st, s->key, s->len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	if (len > 0)
		crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

void
ag_webhook_sign(const struct ag_webhook_secret *s, const char *id, const char *timestamp,
                const uint8_t *body, size_t len, char out[3 + AG_WEBHOOK_SIG_B64_LEN + 1])
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];

	mac_message(s, id, timestamp, body, len, mac);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, AG_WEBHOOK_SIG_B64_LEN + 1, mac, sizeof(mac),
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(mac, sizeof(mac));
}

enum ag_webhook_reason
ag_webhook_check_signature(const struct ag_webhook_secret *s, const char *id,
                           const char *timestamp, const uint8_t *body, size_t len,
                           const char *header)
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
	const char *p = header, *sp, *comma, *b64end;
	size_t n, binlen;
	int saw_v1 = 0, match = 0;

	mac_message(s, id, timestamp, body, len, mac);
	while (*p != '\0') {
		sp = strchr(p, ' ');
		n = sp != NULL ? (size_t)(sp - p) : strlen(p);
		comma = memchr(p, ',', n);
		if (comma != NULL && comma - p == 2 && memcmp(p, "v1", 2) == 0) {
			const char *sig = comma + 1;
			size_t siglen = n - 3;

			saw_v1 = 1;
			binlen = 0;
			b64end = NULL;
			/* Exactly 44 characters of padded Base64 decoding to 32
			 * bytes; anything else is skipped, never compared. */
			if (siglen == AG_WEBHOOK_SIG_B64_LEN &&
			    sodium_base642bin(got, sizeof(got), sig, siglen, NULL, &binlen, &b64end,
			                      sodium_base64_VARIANT_ORIGINAL) == 0 &&
			    b64end == sig + siglen && binlen == sizeof(got) &&
			    sodium_memcmp(got, mac, sizeof(mac)) == 0)
				match = 1;
		}
		if (sp == NULL || match)
			break;
		p = sp + 1;
	}
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(got, sizeof(got));
	if (match)
		return AG_WEBHOOK_OK;
	return saw_v1 ? AG_WEBHOOK_BAD_SIGNATURE : AG_WEBHOOK_NO_V1_SIGNATURE;
}

static int
have_set(const struct ag_webhook_headers *h, int first)
{
	int i;

	for (i = first; i < first + 3; i++)
		if ((h->seen & (1u << i)) == 0 || h->value[i][0] == '\0')
			return 0;
	return 1;
}

static int
valid_id(const char *id)
{
	size_t len = strnlen(id, AG_WEBHOOK_ID_MAX + 1), i;

	if (len == 0 || len > AG_WEBHOOK_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
			return 0;
	return 1;
}

enum ag_webhook_reason
ag_webhook_verify(const struct ag_webhook_secret *s, const struct ag_webhook_headers *h,
                  const uint8_t *body, size_t len, int64_t now, int64_t tolerance,
                  struct ag_webhook_msg *msg)
{
	const char *id, *ts, *sig;
	int first;

	memset(msg, 0, sizeof(*msg));
	/* As the Svix libraries: the branded set wins when complete. */
	if (have_set(h, 0))
		first = 0;
	else if (have_set(h, 3))
		first = 3;
	else
		return AG_WEBHOOK_MISSING_HEADER;
	id = h->value[first + AG_WH_ID];
	ts = h->value[first + AG_WH_TS];
	sig = h->value[first + AG_WH_SIG];
	if (!valid_id(id))
		return AG_WEBHOOK_BAD_HEADER;
	ag_strlcpy(msg->id, id, sizeof(msg->id));
	if (ag_webhook_parse_timestamp(ts, &msg->timestamp) != 0)
		return AG_WEBHOOK_BAD_TIMESTAMP;
	if (msg->timestamp < now - tolerance)
		return AG_WEBHOOK_STALE_TIMESTAMP;
	if (msg->timestamp > now + tolerance)
		return AG_WEBHOOK_FUTURE_TIMESTAMP;
	return ag_webhook_check_signature(s, id, ts, body, len, sig);
}

/* -------------------------------------------------------------- events */

/* A JSON string of 1 to max bytes, no NUL, no control character. */
static int
copy_id(json_t *v, size_t max, int ascii_only, char *out, size_t outsize)
{
	const char *s;
	size_t len, i;

	if (!json_is_string(v))
		return AG_ERR_INVAL;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len > max || len >= outsize || strlen(s) != len)
		return AG_ERR_INVAL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (ascii_only && (c == ' ' || c >= 0x80)))
			return AG_ERR_INVAL;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int
ag_webhook_event_parse(const uint8_t *body, size_t len, struct ag_webhook_event *ev)
{
	static const char *const session_types[] = { "session.ended", "session.removed",
		                                     "session.revoked" };
	json_t *root = NULL, *data;
	size_t i;
	json_error_t jerr;
	int ret = AG_ERR_INVAL, nomem = 0;

	memset(ev, 0, sizeof(*ev));
	if (body == NULL || len == 0 || len > AG_WEBHOOK_BODY_MAX)
		return AG_ERR_INVAL;
	/* A failed allocation must not give a shorter "type" (an event
	 * ignored, its message id spent): ag_json_loadb tells. */
	root = ag_json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr, &nomem);
	if (nomem)
		return AG_ERR_NOMEM;
	if (root == NULL)
		return AG_ERR_INVAL;
	if (!json_is_object(root) ||
	    copy_id(json_object_get(root, "type"), AG_WEBHOOK_TYPE_MAX, 1, ev->type,
	            sizeof(ev->type)) != 0)
		goto out;
	data = json_object_get(root, "data");
	ev->action = AG_WEBHOOK_IGNORE;
	for (i = 0; i < AG_ARRAY_SIZE(session_types); i++)
		if (strcmp(ev->type, session_types[i]) == 0)
			ev->action = AG_WEBHOOK_END_SESSION;
	if (strcmp(ev->type, "user.deleted") == 0)
		ev->action = AG_WEBHOOK_END_USER;
	if (ev->action != AG_WEBHOOK_IGNORE &&
	    (!json_is_object(data) ||
	     copy_id(json_object_get(data, "id"),
	             ev->action == AG_WEBHOOK_END_SESSION ? AG_SID_MAX : AG_NAME_MAX, 0, ev->target,
	             sizeof(ev->target)) != 0))
		goto out;
	ret = 0;
out:
	json_decref(root);
	if (ret != 0)
		memset(ev, 0, sizeof(*ev));
	return ret;
}

int
ag_webhook_apply(struct ag_store *store, const struct ag_webhook_msg *msg,
                 const struct ag_webhook_event *ev, int64_t now, int64_t tolerance,
                 void (*sid_of_hash)(const uint8_t h[32], char out[AG_SID_MAX + 1]),
                 int *replayed, struct ag_webhook_result *res)
{
	int64_t expires, fams = 0;
	int first = 0, r, tries;

	*replayed = 0;
	memset(res, 0, sizeof(*res));
	if (!valid_id(msg->id) || tolerance < 0)
		return AG_ERR_INVAL;
	/* The message stays acceptable until its timestamp plus the
	 * tolerance, which for a timestamp ahead of our clock is later than
	 * now plus the tolerance: remember the id that long. */
	expires = (msg->timestamp > now ? msg->timestamp : now) + tolerance;
	/* The id and the event's action in one transaction: a crash between
	 * the two would refuse the sender's retry as a replay of an event
	 * never applied.  A store that stays busy gets two more chances (each
	 * waits up to busy_timeout); on an error nothing is recorded, so the
	 * sender's retry is processed. */
	tries = 0;
	do
		r = ag_store_webhook_apply(store, msg->id, now, expires,
		                           ev->action == AG_WEBHOOK_END_USER ? ev->target : NULL,
		                           ev->action == AG_WEBHOOK_END_SESSION ? ev->target : NULL,
		                           sid_of_hash, &first, &res->sessions_ended, &fams);
	while (r == AG_ERR_BUSY && ++tries < 3);
	if (r != 0)
		return r;
	if (!first) {
		*replayed = 1;
		return 0;
	}
	res->recorded = 1;
	if (ev->action == AG_WEBHOOK_END_USER)
		res->families_revoked = fams;
	else if (ev->action == AG_WEBHOOK_END_SESSION)
		res->families_revoked = -1; /* revoked with the sessions, not counted */
	return 0;
}
