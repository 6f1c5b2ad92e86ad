/* authguard-webhook: Clerk (Svix / Standard Webhooks) webhooks for a web
 * backend.
 *
 *   authguard-webhook [--conf FILE] receive [--header 'Name: value']...
 *                     [--headers FILE]                     < raw body
 *
 * verifies the signature, the timestamp and that the message id is new,
 * then syncs the event into the local sessions: session.ended,
 * session.removed and session.revoked end the sessions linked to that
 * Clerk session (and their refresh families), user.deleted ends all
 * sessions and refresh families of that user; other events are
 * acknowledged and ignored.
 *
 *   authguard-webhook [--conf FILE] verify  (same arguments)  < raw body
 *
 * checks the signature and the timestamp only: no state is read or
 * written, the message id is not consumed, the body is not interpreted.
 *
 * The signing secret comes from webhook_secret_file, never from argv.
 * One JSON object on stdout; exit 0 accepted (also when ignored), 1
 * rejected (signature, timestamp, replay, headers, body), 2 usage or
 * configuration (the secret file included), 3 internal or store error. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "error.h"
#include "log.h"
#include "session.h"
#include "store.h"
#include "subject.h"
#include "util.h"
#include "webhook.h"

static const char *conf_path;
static struct ag_config cfg;
static const struct ag_log wh_log = { .sink = ag_log_sink_syslog };

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr,
	        "usage: authguard-webhook [--conf FILE] receive [--header 'Name: value']...\n"
	        "                         [--headers FILE]             (the raw body on stdin)\n"
	        "       authguard-webhook [--conf FILE] verify  [--header 'Name: value']...\n"
	        "                         [--headers FILE]             (the raw body on stdin)\n"
	        "       authguard-webhook version\n"
	        "Headers: svix-id, svix-timestamp, svix-signature (or webhook-id,\n"
	        "webhook-timestamp, webhook-signature); other headers are ignored.\n");
	exit(CLI_USAGE);
}

/* Logs a configuration or internal failure (never the secret). */
static void
log_error(const char *what)
{
	struct ag_logline l;

	ag_logline_init(&l, "webhook_error");
	ag_logline_str(&l, "reason", what);
	ag_log_emit(&wh_log, LOG_ERR, &l);
}

/* Reads a whole file of at most max bytes (a FIFO or /dev/fd/N too: the
 * header block is request data, not a trusted file).  Returns 0, 1 when it
 * is longer than max, or -1 (errno set). */
static int
read_bounded(int fd, char *buf, size_t max, size_t *lenp)
{
	size_t n = 0;
	ssize_t got;

	for (;;) {
		got = read(fd, buf + n, max + 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max)
			return 1;
	}
	*lenp = n;
	return 0;
}

static void
read_header_file(const char *path, struct ag_webhook_headers *h, int *bad)
{
	char *buf = malloc(AG_WEBHOOK_BLOCK_MAX + 1);
	size_t len = 0;
	int fd, r;

	if (buf == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		cli_die(CLI_USAGE, "--headers %s: %s", path, strerror(errno));
	r = read_bounded(fd, buf, AG_WEBHOOK_BLOCK_MAX, &len);
	if (r < 0)
		cli_die(CLI_USAGE, "--headers %s: %s", path, strerror(errno));
	close(fd);
	/* Request data: a malformed or oversized block is a rejection. */
	if (r > 0 || ag_webhook_headers_parse(h, buf, len) != 0)
		*bad = 1;
	free(buf);
}

/* The body, byte for byte, as the sender signed it. */
static uint8_t *
read_body(size_t *lenp)
{
	uint8_t *buf = malloc(AG_WEBHOOK_BODY_MAX + 1);
	int r;

	if (buf == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	r = read_bounded(STDIN_FILENO, (char *)buf, AG_WEBHOOK_BODY_MAX, lenp);
	if (r < 0)
		cli_die(CLI_USAGE, "cannot read the body on stdin: %s", strerror(errno));
	if (r > 0) {
		log_error("body_too_large");
		cli_die(CLI_USAGE, "body on stdin larger than %d bytes: refused",
		        AG_WEBHOOK_BODY_MAX);
	}
	return buf;
}

static int
reject(enum ag_webhook_reason reason, const struct ag_webhook_msg *msg,
       const struct ag_webhook_event *ev)
{
	const char *name = ag_webhook_reason_name(reason);
	struct ag_logline l;
	json_t *o;

	ag_logline_init(&l, "webhook_rejected");
	ag_logline_str(&l, "reason", name);
	if (msg != NULL && msg->id[0] != '\0')
		ag_logline_str(&l, "id", msg->id);
	if (ev != NULL && ev->type[0] != '\0')
		ag_logline_str(&l, "type", ev->type);
	ag_log_emit(&wh_log, LOG_WARNING, &l);

	o = json_pack("{s:b, s:s}", "valid", 0, "reason", name);
	if (o != NULL && msg != NULL && msg->id[0] != '\0')
		json_object_set_new(o, "id", json_string(msg->id));
	cli_print_json(o);
	cli_warn("rejected: %s", name);
	return CLI_REJECT;
}

static const char *
action_name(enum ag_webhook_action a)
{
	switch (a) {
	case AG_WEBHOOK_END_SESSION:
		return "sessions_ended";
	case AG_WEBHOOK_END_USER:
		return "user_sessions_ended";
	default:
		return "ignored";
	}
}

static int
cmd_webhook(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "header", required_argument, NULL, 'H' },
		{ "headers", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct ag_webhook_headers *h;
	struct ag_webhook_secret secret;
	struct ag_webhook_msg msg;
	struct ag_webhook_event ev, keyed;
	struct ag_webhook_result res;
	struct ag_store *store = NULL;
	enum ag_webhook_reason reason;
	struct ag_logline l;
	char err[AG_ERRBUF];
	const char *why = NULL;
	uint8_t *body;
	size_t len = 0;
	int64_t now;
	int c, r, bad = 0, replayed = 0, receive;

	receive = strcmp(argv[0], "receive") == 0;
	if ((h = malloc(sizeof(*h))) == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	ag_webhook_headers_init(h);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			if (ag_webhook_header_add(h, optarg, strlen(optarg)) != 0)
				bad = 1;
			break;
		case 'F':
			read_header_file(optarg, h, &bad);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* The body first: nothing exits between loading the secret and
	 * wiping it. */
	body = read_body(&len);
	if ((r = ag_webhook_secret_load(cfg.webhook_secret_file, &secret, &why)) != 0) {
		log_error("secret_file");
		/* A block lost at exit is a leak to valgrind (tests/pam/lib.sh). */
		free(h);
		free(body);
		cli_die(r == AG_ERR_SYSTEM || r == AG_ERR_NOMEM ? CLI_INTERNAL : CLI_USAGE,
		        "webhook_secret_file %s: %s", cfg.webhook_secret_file, why);
	}
	now = ag_clock_now();
	memset(&msg, 0, sizeof(msg));
	memset(&ev, 0, sizeof(ev));
	reason = bad ? AG_WEBHOOK_BAD_HEADER
	             : ag_webhook_verify(&secret, h, body, len, now, cfg.webhook_tolerance, &msg);
	ag_webhook_secret_clear(&secret);
	free(h);
	if (reason != AG_WEBHOOK_OK)
		goto rejected;

	if (!receive) {
		free(body);
		ag_logline_init(&l, "webhook_verified");
		ag_logline_str(&l, "id", msg.id);
		ag_log_emit(&wh_log, LOG_INFO, &l);
		cli_print_json(json_pack("{s:b, s:s, s:I}", "valid", 1, "id", msg.id, "timestamp",
		                         (json_int_t)msg.timestamp));
		return CLI_OK;
	}

	/* Only a verified body is parsed. */
	if ((r = ag_webhook_event_parse(body, len, &ev)) == AG_ERR_NOMEM) {
		log_error("out_of_memory");
		cli_die(CLI_INTERNAL, "cannot parse the body: out of memory");
	}
	if (r != 0) {
		reason = AG_WEBHOOK_BAD_BODY;
		goto rejected;
	}
	free(body);
	body = NULL;
	/* A user id is keyed like every web subject (web_subject_fold), so
	 * user.deleted ends the sessions created under any spelling of it;
	 * the log keeps the id as sent. */
	keyed = ev;
	if (ev.action == AG_WEBHOOK_END_USER &&
	    (r = ag_subject_key(&cfg, AG_REALM_WEB, ev.target, keyed.target, &why)) != 0) {
		if (r == AG_ERR_NOMEM) {
			log_error("out_of_memory");
			cli_die(CLI_INTERNAL, "cannot fold the user id: out of memory");
		}
		reason = AG_WEBHOOK_BAD_BODY;
		goto rejected;
	}
	if ((r = ag_store_open(&cfg, 0, &store, err)) != 0) {
		log_error("store_open");
		cli_die(cli_exit_for(r), "%s", err);
	}
	r = ag_webhook_apply(store, &msg, &keyed, now, cfg.webhook_tolerance, ag_session_handle,
	                     &replayed, &res);
	if (r != 0) {
		const char *m = ag_store_errmsg(store);

		/* Nothing was recorded: the sender's retry is processed. */
		ag_logline_init(&l, "webhook_error");
		ag_logline_str(&l, "reason", "store");
		ag_logline_str(&l, "id", msg.id);
		ag_logline_str(&l, "type", ev.type);
		if (ev.action == AG_WEBHOOK_END_USER)
			ag_logline_str(&l, "user", ev.target);
		ag_log_emit(&wh_log, LOG_ERR, &l);
		cli_warn("%s", m[0] != '\0' ? m : ag_strerror(r));
		ag_store_close(store);
		return CLI_INTERNAL;
	}
	ag_store_close(store);
	if (replayed) {
		reason = AG_WEBHOOK_REPLAYED;
		goto rejected;
	}

	ag_logline_init(&l, "webhook_ok");
	ag_logline_str(&l, "id", msg.id);
	ag_logline_str(&l, "type", ev.type);
	ag_logline_str(&l, "action", action_name(ev.action));
	/* A Clerk user id names the account; a Clerk session id is not logged. */
	if (ev.action == AG_WEBHOOK_END_USER)
		ag_logline_str(&l, "user", ev.target);
	ag_logline_int(&l, "sessions_ended", res.sessions_ended);
	if (res.families_revoked >= 0)
		ag_logline_int(&l, "families_revoked", res.families_revoked);
	ag_log_emit(&wh_log, ev.action == AG_WEBHOOK_IGNORE ? LOG_INFO : LOG_NOTICE, &l);

	cli_print_json(json_pack("{s:b, s:s, s:s, s:s, s:I, s:o}", "valid", 1, "id", msg.id,
	                         "type", ev.type, "action", action_name(ev.action),
	                         "sessions_ended", (json_int_t)res.sessions_ended,
	                         "families_revoked",
	                         res.families_revoked >= 0
	                                 ? json_integer((json_int_t)res.families_revoked)
	                                 : json_null()));
	return CLI_OK;

rejected:
	free(body);
	return reject(reason, &msg, &ev);
}

int
main(int argc, char **argv)
{
	int i;

	cli_progname = "authguard-webhook";
	cli_json_wipe_memory();
	i = cli_global_options(argc, argv, &conf_path, usage);
	if (strcmp(argv[i], "version") == 0) {
		printf("authguard-webhook %s\n", PACKAGE_VERSION);
		return CLI_OK;
	}
	if (strcmp(argv[i], "receive") != 0 && strcmp(argv[i], "verify") != 0) {
		cli_warn("unknown command %s", argv[i]);
		usage();
	}
	if (sodium_init() < 0)
		cli_die(CLI_INTERNAL, "libsodium failed to initialise");
	cli_log_open();
	cli_load_config(&cfg, conf_path);
	return cmd_webhook(argc - i, argv + i);
}
