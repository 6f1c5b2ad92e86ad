/* libFuzzer target: webhook header lines, header blocks, signature lists,
 * timestamps, secret files and event bodies.
 *
 * The input is a header block, an empty line ("\n\n" or "\r\n\r\n"), and a
 * body.  The block is parsed with ag_webhook_headers_parse() and, line by
 * line, with ag_webhook_header_add(); the message is then checked with
 * ag_webhook_verify() against a fixed secret.  As the input cannot know
 * the HMAC key, an accepted message is a failure.  The whole input is also
 * tried as a signature header, a timestamp, a secret file and (the body)
 * a Clerk event. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

#define FUZZ_MAX_INPUT (AG_WEBHOOK_BLOCK_MAX + 8192)
#define NOW 1700000000
#define TOLERANCE 300

/* 32 bytes 0x00..0x1f, standard Base64. */
static const char secret_text[] = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";

static struct ag_webhook_secret secret;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static struct ag_webhook_headers h, h2;
	struct ag_webhook_secret s2;
	struct ag_webhook_msg msg;
	struct ag_webhook_event ev;
	const char *text = (const char *)data, *reason = NULL, *p, *end;
	const uint8_t *body;
	size_t blen, bodylen;
	enum ag_webhook_reason r;
	int64_t ts;
	char *copy;

	if (!ready) {
		if (ag_webhook_secret_parse(secret_text, strlen(secret_text), &secret, &reason) != 0)
			abort();
		ready = 1;
	}
	if (size > FUZZ_MAX_INPUT)
		return 0;

	/* Split into header block and body. */
	blen = size;
	body = (const uint8_t *)"";
	bodylen = 0;
	for (p = text; p + 1 < text + size; p++) {
		if (p[0] == '\n' && p[1] == '\n') {
			blen = (size_t)(p - text) + 1;
			body = (const uint8_t *)p + 2;
			bodylen = size - blen - 1;
			break;
		}
		if (p + 3 < text + size && memcmp(p, "\r\n\r\n", 4) == 0) {
			blen = (size_t)(p - text) + 2;
			body = (const uint8_t *)p + 4;
			bodylen = size - blen - 2;
			break;
		}
	}

	ag_webhook_headers_init(&h);
	if (ag_webhook_headers_parse(&h, text, blen) == 0) {
		memset(&msg, 0, sizeof(msg));
		r = ag_webhook_verify(&secret, &h, body, bodylen, NOW, TOLERANCE, &msg);
		if (r == AG_WEBHOOK_OK)
			abort(); /* accepted without knowing the secret */
		if (memchr(msg.id, '\0', sizeof(msg.id)) == NULL)
			abort();
		(void)ag_webhook_reason_name(r);
	}

	/* The same block, one line at a time. */
	ag_webhook_headers_init(&h2);
	for (p = text, end = text + blen; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (ag_webhook_header_add(&h2, p, n) != 0 || nl == NULL)
			break;
		p = nl + 1;
	}

	/* The whole input as a signature list, a timestamp, a secret, a body. */
	if ((copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (size <= AG_WEBHOOK_HEADER_MAX) {
		r = ag_webhook_check_signature(&secret, "msg_fuzz", "1700000000", body, bodylen,
		                               copy);
		if (r == AG_WEBHOOK_OK)
			abort();
	}
	if (ag_webhook_parse_timestamp(copy, &ts) == 0 && ts < 0)
		abort();
	reason = NULL;
	if (ag_webhook_secret_parse(text, size, &s2, &reason) == 0) {
		if (s2.len < AG_WEBHOOK_SECRET_MIN || s2.len > AG_WEBHOOK_SECRET_MAX)
			abort();
		ag_webhook_secret_clear(&s2);
	} else if (reason == NULL) {
		abort();
	}
	free(copy);
	if (ag_webhook_event_parse(body, bodylen, &ev) == 0) {
		if (memchr(ev.type, '\0', sizeof(ev.type)) == NULL ||
		    memchr(ev.target, '\0', sizeof(ev.target)) == NULL)
			abort();
	}
	return 0;
}
