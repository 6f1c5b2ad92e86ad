/* authguard-enroll: TOTP enrollment on the command line.
 *
 *   authguard-enroll [--conf FILE] [--user ACCOUNT] [--issuer NAME] [--json]
 *                    [--svg FILE] [--png FILE] [--ascii] [--invert] [--no-qr]
 *   authguard-enroll [--conf FILE] [--user ACCOUNT] --confirm [--json]     < code
 *   authguard-enroll [--conf FILE] [--user ACCOUNT] --regenerate-backup-codes [--json]
 *   authguard-enroll [--conf FILE] [--user ACCOUNT] --reset [--json]
 *   authguard-enroll [--conf FILE] [--user ACCOUNT] --status [--json]
 *
 * The first form starts (or restarts) an enrollment: a fresh secret, its
 * key URI and QR code; on a terminal it then asks for the current code and
 * confirms, as --confirm does.  Exit 0 done, 1 refused (wrong code, locked,
 * not enrolled), 2 usage, configuration or permission, 3 internal error.
 *
 * Privilege model.  The program may be installed setgid authguard so that
 * people can enroll themselves: the state file and the secrets key are
 * group authguard, and nothing else is.  It is never meant to be setuid and
 * refuses to run so.  The caller is the REAL user:
 *   - the account is the real user's login name (getpwuid(getuid()));
 *     --user naming another account, --reset and --conf are for real uid 0
 *     only (anyone else: exit 2, logged);
 *   - a non-root caller re-enrolling an enrolled account, or regenerating
 *     backup codes, first gives a current code (TOTP or backup) on stdin,
 *     checked like `authguard-token mfa verify`: refused while the account
 *     is locked, a wrong code counted as a failure.  The code that confirms
 *     an enrollment is counted the same way (confirming reveals fresh
 *     backup codes, so guessing it must be as slow as guessing a login
 *     code).  Root skips the current code, not the count;
 *   - the privileged resources are acquired first -- configuration, state
 *     file (SQLite keeps its descriptors, including the WAL's), secrets
 *     key -- and then the group privileges are dropped for good
 *     (setresgid(rgid, rgid, rgid), checked with getresgid) BEFORE stdin or
 *     the terminal is read and before any --svg/--png file is written;
 *   - the process stays non-dumpable (PR_SET_DUMPABLE 0, set again after
 *     the drop, which would reset it to fs.suid_dumpable), so the caller
 *     cannot ptrace it for the key; descriptors 0-2 are made valid first,
 *     so the state file can never become stdout;
 *   - output files are created, never replaced: the SVG with
 *     O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600; the PNG by lib/qr (a mkostemp
 *     file renamed into place) inside a private mkdtemp directory, then
 *     moved to its name with renameat2(RENAME_NOREPLACE), or link(2) where
 *     the file system lacks it -- neither follows nor replaces a symlink
 *     or file an attacker put there;
 *   - secrets (the Base32 secret, the URI and QR renderings that spell it,
 *     typed codes, backup codes) are wiped after use, including jansson's
 *     copies (a wiping allocator) and stdout's buffer (ours, wiped at
 *     exit); they are never logged and never taken from argv.
 * An unconfirmed enrollment grants and requires nothing: lib/mfa keeps it
 * apart from the secret in force. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "config.h"
#include "error.h"
#include "guard.h"
#include "log.h"
#include "mfa.h"
#include "otpauth.h"
#include "qr.h"
#include "store.h"
#include "util.h"

#define CODE_MAX 256   /* longest line taken as a typed code */
#define PROMPT_TRIES 3 /* codes asked for at the terminal before giving up */
#define TOTP_DIGITS 6  /* DESIGN.md: SHA-1, 6 digits, 30 s */
#define TOTP_PERIOD 30

enum mode { MODE_START, MODE_CONFIRM, MODE_REGENERATE, MODE_RESET, MODE_STATUS };

struct opts {
	const char *conf, *user, *issuer, *svg, *png;
	int json, ascii, invert, no_qr;
	enum mode mode;
	int nmodes;
};

static struct ag_config cfg;
static struct ag_store *store;
static struct ag_mfa mfa;
static const struct ag_log evlog = { .sink = ag_log_sink_syslog };
static char account[AG_OTPAUTH_MAX_ACCOUNT + 1];
static int caller_root; /* real uid 0 */
static char outbuf[BUFSIZ]; /* stdout's buffer: it holds secrets, wiped at exit */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	        "usage: authguard-enroll [--user ACCOUNT] [--issuer NAME] [--json] [--svg FILE]\n"
	        "                        [--png FILE] [--ascii] [--invert] [--no-qr]\n"
	        "       authguard-enroll [--user ACCOUNT] --confirm [--json]   (code on stdin)\n"
	        "       authguard-enroll [--user ACCOUNT] --regenerate-backup-codes [--json]\n"
	        "       authguard-enroll [--user ACCOUNT] --reset [--json]\n"
	        "       authguard-enroll [--user ACCOUNT] --status [--json]\n"
	        "       authguard-enroll version\n"
	        "For root only: --conf FILE (default: %s),\n"
	        "--user naming another account, and --reset.  Codes come on stdin.\n",
	        ag_config_default_path());
	exit(CLI_USAGE);
}

/* ------------------------------------------------------------ hygiene */

static void
at_exit(void)
{
	fflush(stdout);
	sodium_memzero(outbuf, sizeof(outbuf));
	ag_mfa_clear(&mfa);
	ag_store_close(store);
	store = NULL;
}

/* A closed descriptor 0, 1 or 2 would be reused by the next open(): the
 * state file could become stdout.  Point them at /dev/null instead. */
static void
sanitize_fds(void)
{
	int fd;

	for (;;) {
		fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			exit(CLI_INTERNAL); /* cannot even report it safely */
		if (fd > STDERR_FILENO) {
			close(fd);
			return;
		}
	}
}

static void
make_undumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		cli_die(CLI_INTERNAL, "cannot make the process undumpable: %s", strerror(errno));
}

/* Drops the setgid group for good: real, effective and saved gid all
 * become the real gid, and that is verified. */
static void
drop_group_privileges(void)
{
	gid_t rgid = getgid(), egid = getegid(), r, e, s;

	if (setresgid(rgid, rgid, rgid) != 0)
		cli_die(CLI_INTERNAL, "cannot drop group privileges: %s", strerror(errno));
	if (getresgid(&r, &e, &s) != 0 || r != rgid || e != rgid || s != rgid)
		cli_die(CLI_INTERNAL, "group privileges still held after dropping them");
	/* Without CAP_SETGID the old group must be out of reach now. */
	if (!caller_root && egid != rgid && setegid(egid) == 0)
		cli_die(CLI_INTERNAL, "group privileges could be regained after dropping them");
	make_undumpable(); /* the credential change reset it */
}

/* ------------------------------------------------------------ helpers */

static void
log_cli_event(int prio, const char *event, const char *op, const char *user,
              const char *reason)
{
	struct ag_logline l;

	ag_logline_init(&l, event);
	ag_logline_str(&l, "op", op);
	ag_logline_str(&l, "user", user);
	ag_logline_int(&l, "uid", (int64_t)getuid());
	if (reason != NULL)
		ag_logline_str(&l, "reason", reason);
	ag_log_emit(&evlog, prio, &l);
}

static const char *
mode_name(enum mode m)
{
	switch (m) {
	case MODE_START: return "start";
	case MODE_CONFIRM: return "confirm";
	case MODE_REGENERATE: return "regenerate_backup_codes";
	case MODE_RESET: return "reset";
	case MODE_STATUS: return "status";
	}
	return "unknown";
}

static void __attribute__((noreturn))
store_die(int r)
{
	const char *msg = ag_store_errmsg(store);

	cli_die(CLI_INTERNAL, "%s",
	        msg[0] != '\0' ? msg
	        : r == AG_ERR_CORRUPT
	                ? "stored TOTP secret does not open (wrong secrets key or tampered row)"
	                : ag_strerror(r));
}

static void
fmt_time(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		ag_strlcpy(buf, "?", size);
}

/* A refusal: one JSON object (with --json) on stdout, msg as one line on
 * stderr, exit 1.  obj holds the fields; the account is added. */
static void __attribute__((noreturn))
refuse(int json, json_t *obj, const char *msg)
{
	json_t *out;

	if (obj == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	if (json) {
		out = json_pack("{s:s}", "account", account);
		if (out == NULL || json_object_update(out, obj) != 0)
			cli_die(CLI_INTERNAL, "out of memory");
		cli_print_json(out);
	}
	json_decref(obj);
	cli_warn("%s", msg);
	exit(CLI_REJECT);
}

static int
is_tty_in(void)
{
	return isatty(STDIN_FILENO);
}

static void
prompt(const char *text)
{
	fflush(stdout);
	fputs(text, stderr);
	fflush(stderr);
}

/* Reads the rest of a refused terminal line so the next prompt starts
 * clean. */
static void
drain_line(void)
{
	char c = 0;
	ssize_t n;

	while ((n = read(STDIN_FILENO, &c, 1)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && c == '\n')
			break;
	sodium_memzero(&c, sizeof(c));
}

/* ------------------------------------------------ brute-force guard */

static void
guard_init(struct ag_guard *g, struct ag_guard_req *req)
{
	memset(g, 0, sizeof(*g));
	memset(req, 0, sizeof(*req));
	g->cfg = &cfg;
	g->store = store;
	g->log = evlog;
	req->user = account;
	req->service = "authguard-enroll";
	req->system_account = 1;
}

/* Refuses (exit 1) while the account is locked: codes are not checked
 * then, exactly as at a login.  field names the JSON verdict ("allowed"
 * for a current code, "enrolled" for a confirmation). */
static void
refuse_if_locked(int json, const char *field)
{
	struct ag_guard g;
	struct ag_guard_req req;
	struct ag_guard_result res;
	char wait[64], msg[128];
	int r;

	guard_init(&g, &req);
	if ((r = ag_guard_account_check(&g, &req, &res)) != 0)
		store_die(r);
	if (res.allowed)
		return;
	if (res.retry_after < 0)
		ag_strlcpy(wait, "until an administrator unlocks it", sizeof(wait));
	else
		ag_format_wait(wait, sizeof(wait), res.retry_after);
	snprintf(msg, sizeof(msg), "account locked (%s); no code is checked", wait);
	refuse(json,
	       json_pack("{s:b, s:s, s:I}", field, 0, "reason", "locked", "retry_after",
	                 (json_int_t)res.retry_after),
	       msg);
}

/* Counts a wrong code as a failed attempt, as the PAM module does (a
 * replayed one is refused without counting, ag_mfa_counts_as_failure()). */
static void
count_failure(void)
{
	struct ag_guard g;
	struct ag_guard_req req;
	struct ag_guard_result res;
	int r;

	guard_init(&g, &req);
	if ((r = ag_guard_fail(&g, &req, 0, &res)) != 0)
		store_die(r);
}

/* A non-root caller proves possession of the enrolled account's second
 * factor before replacing it: a current TOTP or an unused backup code on
 * stdin (a backup code is used up).  Returns only when it was accepted. */
static void
require_current_code(int json)
{
	enum ag_mfa_result result = AG_MFA_WRONG;
	char code[CODE_MAX], msg[128];
	int r;

	refuse_if_locked(json, "allowed");
	if (!json && is_tty_in())
		prompt("Current code from your app (or a backup code): ");
	cli_read_secret(code, sizeof(code), "current code");
	r = ag_mfa_verify(&mfa, account, code, &result);
	sodium_memzero(code, sizeof(code));
	if (r != 0)
		store_die(r);
	if (result == AG_MFA_OK_TOTP || result == AG_MFA_OK_BACKUP)
		return;
	if (ag_mfa_counts_as_failure(result))
		count_failure();
	snprintf(msg, sizeof(msg), "current code refused (%s); nothing changed",
	         ag_mfa_result_name(result));
	refuse(json,
	       json_pack("{s:b, s:s}", "allowed", 0, "reason", ag_mfa_result_name(result)),
	       msg);
}

/* ------------------------------------------------------ output files */

/* Exit code for a failure to create an output file: the caller's doing
 * (exists, no permission, no such directory) is a usage error. */
static int
file_exit_code(int err)
{
	switch (err) {
	case EEXIST:
	case EACCES:
	case EPERM:
	case ENOENT:
	case ENOTDIR:
	case ELOOP:
	case EISDIR:
	case EROFS:
	case ENAMETOOLONG:
		return CLI_USAGE;
	default:
		return CLI_INTERNAL;
	}
}

/* Checks, before anything is changed, that an output file can be
 * created: the name is free and its directory writable (privileges are
 * dropped by now, so by the real user).  The creation checks again. */
static void
check_output(const char *opt, const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat sb;

	if (path == NULL)
		return;
	if (path[0] == '\0')
		cli_die(CLI_USAGE, "%s: empty file name", opt);
	if (strlen(path) + 8 > sizeof(dir))
		cli_die(CLI_USAGE, "%s %s: file name too long", opt, path);
	if (lstat(path, &sb) == 0)
		cli_die(CLI_USAGE, "%s %s: file exists; refusing to overwrite it", opt, path);
	if (errno != ENOENT)
		cli_die(CLI_USAGE, "%s %s: %s", opt, path, strerror(errno));
	ag_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL)
		ag_strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	/* AT_EACCESS: the effective ids, those the creation will use. */
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0)
		cli_die(CLI_USAGE, "%s %s: cannot create files in %s: %s", opt, path, dir,
		        strerror(errno));
}

/* Creates path (which must not exist; a symlink is not followed) with
 * mode 0600 and writes data.  Returns 0 or an errno value; a partly
 * written file is removed. */
static int
write_new_file(const char *path, const char *data, size_t len)
{
	ssize_t n;
	int fd, err;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		data += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	err = errno != 0 ? errno : EIO;
	if (fd >= 0)
		close(fd);
	unlink(path);
	return err;
}

/* Writes the PNG with lib/qr into a private directory next to path, then
 * moves it to path without ever replacing an existing name.  Returns 0 or
 * an errno value (*reasonp set when lib/qr failed). */
static int
write_new_png(const struct ag_qr *qr, const char *path, const char **reasonp)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	int n, err = 0, made = 0;

	*reasonp = NULL;
	n = snprintf(dir, sizeof(dir), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return ENAMETOOLONG;
	if (mkdtemp(dir) == NULL)
		return errno;
	n = snprintf(tmp, sizeof(tmp), "%s/qr.png", dir);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		err = ENAMETOOLONG;
		goto out;
	}
	if (ag_qr_write_png(qr, tmp, AG_QR_DEFAULT_SCALE, reasonp) != 0) {
		err = EIO;
		goto out;
	}
	made = 1;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
		made = 0;
	} else if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
		/* no RENAME_NOREPLACE here: link(2) does not replace either */
		if (link(tmp, path) != 0)
			err = errno;
	} else {
		err = errno;
	}
out:
	if (made)
		unlink(tmp);
	rmdir(dir);
	return err;
}

/* ------------------------------------------------------ backup codes */

static void
print_codes(int json, const char *headline, char codes[][AG_BACKUP_CODE_SIZE], size_t n,
            int enrolled_field)
{
	json_t *o, *arr;
	size_t i;

	if (json) {
		if ((arr = json_array()) == NULL)
			cli_die(CLI_INTERNAL, "out of memory");
		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_string(codes[i]));
		o = json_pack("{s:s, s:o}", "account", account, "backup_codes", arr);
		if (o != NULL && enrolled_field)
			json_object_set_new(o, "enrolled", json_true());
		cli_print_json(o);
		return;
	}
	printf("%s\n", headline);
	if (n == 0) {
		printf("No backup codes are issued (backup_codes = 0 in the configuration).\n");
		return;
	}
	printf("\nBackup codes -- store them safely; each works once, and they are not\n"
	       "shown again:\n\n");
	for (i = 0; i < n; i++)
		printf("  %2zu. %s\n", i + 1, codes[i]);
	printf("\nType one at the verification code prompt when your app is not at hand.\n");
	if (fflush(stdout) != 0)
		cli_die(CLI_INTERNAL, "cannot write output");
}

/* --------------------------------------------------------- confirm */

/* Confirms the pending enrollment with code.  Prints the backup codes and
 * returns CLI_OK, or returns the refusal in *result (the caller reports
 * it).  A wrong or malformed code counts as a failed attempt. */
static int
confirm_with(const char *code, int json, enum ag_mfa_result *result)
{
	char codes[AG_BACKUP_MAX_COUNT][AG_BACKUP_CODE_SIZE];
	char line[AG_OTPAUTH_MAX_ACCOUNT + 64];
	size_t n = 0;
	int r;

	r = ag_mfa_enroll_confirm(&mfa, account, code, codes, &n, result);
	if (r != 0) {
		sodium_memzero(codes, sizeof(codes));
		store_die(r);
	}
	if (*result != AG_MFA_OK_TOTP) {
		sodium_memzero(codes, sizeof(codes));
		if (*result != AG_MFA_NOT_ENROLLED)
			count_failure();
		return CLI_REJECT;
	}
	snprintf(line, sizeof(line), "Enrollment of %s confirmed: verification codes are now "
	         "required.", account);
	print_codes(json, line, codes, n, 1);
	sodium_memzero(codes, sizeof(codes));
	return CLI_OK;
}

static const char *
confirm_reason(enum ag_mfa_result result)
{
	switch (result) {
	case AG_MFA_MALFORMED: return "malformed";
	case AG_MFA_NOT_ENROLLED: return "not_pending";
	default: return "wrong";
	}
}

static int
cmd_confirm(const struct opts *o)
{
	enum ag_mfa_result result = AG_MFA_WRONG;
	char code[CODE_MAX];
	int rc;

	log_cli_event(LOG_INFO, "mfa_cli", "confirm", account, NULL);
	refuse_if_locked(o->json, "enrolled");
	if (!o->json && is_tty_in())
		prompt("Code from your app: ");
	cli_read_secret(code, sizeof(code), "code");
	rc = confirm_with(code, o->json, &result);
	sodium_memzero(code, sizeof(code));
	if (rc == CLI_OK)
		return CLI_OK;
	refuse(o->json,
	       json_pack("{s:b, s:s}", "enrolled", 0, "reason", confirm_reason(result)),
	       result == AG_MFA_NOT_ENROLLED ? "no enrollment is pending (it expired or was never "
	                                       "started); nothing changed"
	       : result == AG_MFA_MALFORMED ? "not a 6-digit code; the enrollment stays pending"
	                                    : "wrong code; the enrollment stays pending");
}

/* Appends one word of a command line for a POSIX shell: as it is when it
 * holds only characters no shell treats specially, else in single quotes
 * (a quote inside as '\''), or, when it holds a control character, as
 * $'...' with \xHH escapes so that nothing unprintable reaches the
 * terminal.  out has room for 4 * strlen(w) + 4 more bytes. */
static char *
shell_word(char *out, const char *w)
{
	static const char safe[] = "@%+=:,./_-";
	const unsigned char *p;
	int plain = w[0] != '\0', ctl = 0;

	for (p = (const unsigned char *)w; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			ctl = 1;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(safe, *p) != NULL))
			plain = 0;
	}
	*out++ = ' ';
	if (plain) {
		memcpy(out, w, strlen(w));
		return out + strlen(w);
	}
	if (ctl)
		*out++ = '$';
	*out++ = '\'';
	for (p = (const unsigned char *)w; *p != '\0'; p++) {
		if (ctl && (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '\'')) {
			if (*p == '\\' || *p == '\'') {
				*out++ = '\\';
				*out++ = (char)*p;
			} else {
				out += snprintf(out, 5, "\\x%02x", *p);
			}
		} else if (*p == '\'') {
			memcpy(out, "'\\''", 4);
			out += 4;
		} else {
			*out++ = (char)*p;
		}
	}
	*out++ = '\'';
	return out;
}

/* The command that confirms this enrollment, for people who follow the
 * hint literally: --conf and --user repeated as given (without --conf the
 * confirmation would go to the default state), each quoted for the shell.
 * A new string; exits 3 when out of memory. */
static char *
confirm_command(const struct opts *o)
{
	size_t n = sizeof("authguard-enroll --confirm") + 32;
	char *buf, *p;

	n += o->conf != NULL ? 4 * strlen(o->conf) + 16 : 0;
	n += o->user != NULL ? 4 * strlen(o->user) + 16 : 0;
	if ((buf = malloc(n)) == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	p = buf + snprintf(buf, n, "authguard-enroll");
	if (o->conf != NULL) {
		memcpy(p, " --conf", 7);
		p = shell_word(p + 7, o->conf);
	}
	if (o->user != NULL) {
		memcpy(p, " --user", 7);
		p = shell_word(p + 7, o->user);
	}
	memcpy(p, " --confirm", sizeof(" --confirm"));
	return buf;
}

/* At the terminal, after the QR code: a few tries.  hint: the command
 * that confirms later. */
static int
confirm_interactive(int64_t expires, const char *hint)
{
	enum ag_mfa_result result = AG_MFA_WRONG;
	char code[CODE_MAX], when[64];
	int tries, lr;

	fmt_time(when, sizeof(when), expires);
	for (tries = 0; tries < PROMPT_TRIES; tries++) {
		refuse_if_locked(0, "enrolled");
		prompt("Code from your app: ");
		lr = cli_read_line(code, sizeof(code));
		if (lr == CLI_LINE_EOF || lr == CLI_LINE_ERROR) {
			fputc('\n', stderr);
			break;
		}
		if (lr == CLI_LINE_BAD) {
			drain_line();
			cli_warn("that is not a code");
			continue;
		}
		if (lr == CLI_LINE_EMPTY) {
			tries--; /* a bare Enter is not a try */
			continue;
		}
		if (confirm_with(code, 0, &result) == CLI_OK) {
			sodium_memzero(code, sizeof(code));
			return CLI_OK;
		}
		sodium_memzero(code, sizeof(code));
		if (result == AG_MFA_NOT_ENROLLED)
			cli_die(CLI_REJECT, "the enrollment expired; start again");
		cli_warn("%s", result == AG_MFA_MALFORMED ? "not a 6-digit code" : "wrong code");
	}
	cli_warn("not confirmed; the enrollment stays pending until %s (confirm it with "
	         "%s)", when, hint);
	return CLI_REJECT;
}

/* ----------------------------------------------------------- start */

static void
group_secret(const char *secret, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; secret[i] != '\0' && o + 2 < size; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = ' ';
		out[o++] = secret[i];
	}
	out[o] = '\0';
}

static int
cmd_start(const struct opts *o, const char *issuer)
{
	struct ag_mfa_status st;
	struct ag_qr *qr = NULL;
	char secret[AG_MFA_SECRET_B32], grouped[2 * AG_MFA_SECRET_B32];
	char uri[AG_OTPAUTH_URI_MAX], when[64], wait[64];
	char *svg = NULL, *text = NULL, *hint = NULL;
	size_t svglen = 0, textlen = 0;
	const char *reason = NULL;
	int64_t expires = 0;
	int r, err, rc = CLI_OK;

	check_output("--svg", o->svg);
	check_output("--png", o->png);
	if (o->svg != NULL && o->png != NULL && strcmp(o->svg, o->png) == 0)
		cli_die(CLI_USAGE, "--svg and --png name the same file");
	if ((r = ag_mfa_get_status(&mfa, account, &st)) != 0)
		store_die(r);
	/* The names were checked; make sure the URI builds before a new
	 * enrollment replaces a pending one. */
	if (ag_otpauth_uri(issuer, account, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", TOTP_DIGITS,
	                   TOTP_PERIOD, uri, sizeof(uri), &reason) != 0)
		cli_die(CLI_USAGE, "key URI: %s", reason);
	if (st.enrolled && !caller_root)
		require_current_code(o->json);
	log_cli_event(LOG_INFO, "mfa_cli", "start", account, NULL);

	if ((r = ag_mfa_enroll_begin(&mfa, account, secret, &expires)) != 0)
		store_die(r);
	if (ag_otpauth_uri(issuer, account, secret, TOTP_DIGITS, TOTP_PERIOD, uri, sizeof(uri),
	                   &reason) != 0) {
		sodium_memzero(secret, sizeof(secret));
		cli_die(CLI_USAGE, "key URI: %s", reason);
	}
	if ((r = ag_qr_encode(uri, &qr)) != 0)
		goto internal;
	if ((o->svg != NULL || o->json) && (r = ag_qr_render_svg(qr, &svg, &svglen)) != 0)
		goto internal;
	if (o->svg != NULL && (err = write_new_file(o->svg, svg, svglen)) != 0) {
		cli_warn("--svg %s: %s", o->svg, strerror(err));
		rc = file_exit_code(err);
		goto out;
	}
	if (o->png != NULL && (err = write_new_png(qr, o->png, &reason)) != 0) {
		cli_warn("--png %s: %s", o->png, reason != NULL ? reason : strerror(err));
		rc = reason != NULL ? CLI_INTERNAL : file_exit_code(err);
		if (o->svg != NULL)
			unlink(o->svg); /* ours (O_EXCL): no secret left behind */
		goto out;
	}

	if (o->json) {
		cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "account", account,
		                         "issuer", issuer, "secret", secret, "uri", uri, "svg", svg,
		                         "expires", (json_int_t)expires));
		goto out;
	}

	group_secret(secret, grouped, sizeof(grouped));
	printf("TOTP enrollment for %s (issuer: %s)\n\n", account, issuer);
	printf("Secret key:  %s\n", grouped);
	printf("Key URI:     %s\n\n", uri);
	if (!o->no_qr) {
		int flags = (o->ascii ? AG_QR_TEXT_ASCII : 0) | (o->invert ? AG_QR_TEXT_INVERT : 0);

		if ((r = ag_qr_render_text(qr, flags, &text, &textlen)) != 0)
			goto internal;
		fwrite(text, 1, textlen, stdout);
		putchar('\n');
	}
	printf("Scan the QR code with your authenticator app, or enter the secret key by\n"
	       "hand (time-based, SHA-1, 6 digits, 30 seconds).\n");
	if (o->svg != NULL)
		printf("QR code written to %s\n", o->svg);
	if (o->png != NULL)
		printf("QR code written to %s\n", o->png);
	fmt_time(when, sizeof(when), expires);
	ag_format_wait(wait, sizeof(wait), (int64_t)cfg.enroll_timeout);
	if (fflush(stdout) != 0) {
		rc = CLI_INTERNAL;
		goto out;
	}
	hint = confirm_command(o);
	if (is_tty_in()) {
		rc = confirm_interactive(expires, hint);
		goto out;
	}
	printf("\nThe enrollment is pending until %s (%s). Finish it with\n"
	       "  %s\n"
	       "and the current code from the app on stdin.\n",
	       when, wait, hint);
	goto out;
internal:
	cli_warn("QR code: %s", ag_strerror(r));
	rc = CLI_INTERNAL;
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(grouped, sizeof(grouped));
	sodium_memzero(uri, sizeof(uri));
	if (svg != NULL) {
		sodium_memzero(svg, svglen);
		free(svg);
	}
	if (text != NULL) {
		sodium_memzero(text, textlen);
		free(text);
	}
	ag_qr_free(qr);
	free(hint);
	return rc;
}

/* ------------------------------------------- regenerate, reset, status */

static int
cmd_regenerate(const struct opts *o)
{
	char codes[AG_BACKUP_MAX_COUNT][AG_BACKUP_CODE_SIZE];
	char line[AG_OTPAUTH_MAX_ACCOUNT + 64];
	struct ag_mfa_status st;
	size_t n = 0;
	int r;

	if ((r = ag_mfa_get_status(&mfa, account, &st)) != 0)
		store_die(r);
	if (!st.enrolled)
		goto not_enrolled;
	if (!caller_root)
		require_current_code(o->json);
	log_cli_event(LOG_INFO, "mfa_cli", "regenerate_backup_codes", account, NULL);
	r = ag_mfa_backup_regenerate(&mfa, account, codes, &n);
	if (r == AG_ERR_NOTFOUND)
		goto not_enrolled;
	if (r != 0)
		store_die(r);
	snprintf(line, sizeof(line), "New backup codes for %s; the old ones no longer work.",
	         account);
	print_codes(o->json, line, codes, n, 0);
	sodium_memzero(codes, sizeof(codes));
	return CLI_OK;
not_enrolled:
	snprintf(line, sizeof(line), "%s is not enrolled (no confirmed TOTP secret); nothing "
	         "changed", account);
	refuse(o->json, json_pack("{s:b, s:s}", "enrolled", 0, "reason", "not_enrolled"), line);
}

static int
cmd_reset(const struct opts *o)
{
	int found = 0, r;

	log_cli_event(LOG_NOTICE, "mfa_cli", "reset", account, NULL);
	if ((r = ag_mfa_reset(&mfa, account, &found)) != 0)
		store_die(r);
	if (o->json)
		cli_print_json(json_pack("{s:s, s:b, s:b}", "account", account, "reset", 1,
		                         "had_mfa", found));
	else if (found)
		printf("account %s: MFA reset (TOTP secret, pending enrollment and backup codes "
		       "removed)\n", account);
	else
		printf("account %s: had no TOTP secret, enrollment or backup codes\n", account);
	return CLI_OK;
}

static int
cmd_status(const struct opts *o)
{
	struct ag_mfa_status st;
	char when[64];
	int r;

	if ((r = ag_mfa_get_status(&mfa, account, &st)) != 0)
		store_die(r);
	if (o->json) {
		cli_print_json(json_pack("{s:s, s:b, s:b, s:o, s:o, s:I}", "account", account,
		                         "enrolled", st.enrolled, "pending", st.pending,
		                         "pending_expires", cli_json_time(st.pending_expires),
		                         "enrolled_at", cli_json_time(st.enrolled_at),
		                         "backup_codes_left", (json_int_t)st.backup_left));
		return CLI_OK;
	}
	printf("account %s: ", account);
	if (st.enrolled) {
		fmt_time(when, sizeof(when), st.enrolled_at);
		printf("enrolled since %s, %lld backup code%s left", when,
		       (long long)st.backup_left, st.backup_left == 1 ? "" : "s");
	} else {
		printf("not enrolled");
	}
	if (st.pending) {
		fmt_time(when, sizeof(when), st.pending_expires);
		printf("; an enrollment awaits confirmation until %s", when);
	}
	putchar('\n');
	return CLI_OK;
}

/* ------------------------------------------------------------- main */

static void
set_mode(struct opts *o, enum mode m)
{
	o->mode = m;
	o->nmodes++;
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_CONF = 256, O_USER, O_ISSUER, O_JSON, O_SVG, O_PNG, O_ASCII, O_INVERT,
	       O_NOQR, O_CONFIRM, O_REGEN, O_RESET, O_STATUS, O_HELP };
	static const struct option opts[] = {
		{ "conf", required_argument, NULL, O_CONF },
		{ "user", required_argument, NULL, O_USER },
		{ "issuer", required_argument, NULL, O_ISSUER },
		{ "json", no_argument, NULL, O_JSON },
		{ "svg", required_argument, NULL, O_SVG },
		{ "png", required_argument, NULL, O_PNG },
		{ "ascii", no_argument, NULL, O_ASCII },
		{ "invert", no_argument, NULL, O_INVERT },
		{ "no-qr", no_argument, NULL, O_NOQR },
		{ "confirm", no_argument, NULL, O_CONFIRM },
		{ "regenerate-backup-codes", no_argument, NULL, O_REGEN },
		{ "reset", no_argument, NULL, O_RESET },
		{ "status", no_argument, NULL, O_STATUS },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->mode = MODE_START;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case O_CONF: o->conf = optarg; break;
		case O_USER: o->user = optarg; break;
		case O_ISSUER: o->issuer = optarg; break;
		case O_JSON: o->json = 1; break;
		case O_SVG: o->svg = optarg; break;
		case O_PNG: o->png = optarg; break;
		case O_ASCII: o->ascii = 1; break;
		case O_INVERT: o->invert = 1; break;
		case O_NOQR: o->no_qr = 1; break;
		case O_CONFIRM: set_mode(o, MODE_CONFIRM); break;
		case O_REGEN: set_mode(o, MODE_REGENERATE); break;
		case O_RESET: set_mode(o, MODE_RESET); break;
		case O_STATUS: set_mode(o, MODE_STATUS); break;
		case O_HELP:
		case 'h':
			usage();
		default:
			cli_die(CLI_USAGE, "unknown option or missing argument: %s (see --help)",
			        argv[optind - 1]);
		}
	}
	if (optind != argc)
		cli_die(CLI_USAGE, "unexpected argument %s (see --help)", argv[optind]);
	if (o->nmodes > 1)
		cli_die(CLI_USAGE, "--confirm, --regenerate-backup-codes, --reset and --status "
		        "exclude each other");
	if (o->mode != MODE_START &&
	    (o->issuer != NULL || o->svg != NULL || o->png != NULL || o->ascii || o->invert ||
	     o->no_qr))
		cli_die(CLI_USAGE, "--issuer, --svg, --png, --ascii, --invert and --no-qr are for "
		        "starting an enrollment");
}

/* Who runs this, and which account: the real user, unless root names
 * another.  Refusals are logged. */
static void
resolve_account(const struct opts *o)
{
	char self[AG_OTPAUTH_MAX_ACCOUNT + 1];
	const char *denied = NULL, *reason = NULL, *why;
	struct passwd *pw;

	caller_root = getuid() == 0;
	errno = 0;
	pw = getpwuid(getuid());
	if (pw == NULL || pw->pw_name == NULL || pw->pw_name[0] == '\0')
		cli_die(CLI_USAGE, "cannot find the login name of uid %lu",
		        (unsigned long)getuid());
	if (ag_strlcpy(self, pw->pw_name, sizeof(self)) != 0)
		cli_die(CLI_USAGE, "login name of uid %lu is too long", (unsigned long)getuid());
	if (!caller_root) {
		if (o->conf != NULL)
			denied = "--conf is for root only (the program may run with group "
			         "privileges)";
		else if (o->mode == MODE_RESET)
			denied = "--reset is for root only";
		else if (o->user != NULL && strcmp(o->user, self) != 0)
			denied = "--user: only root may act on another account";
		if (denied != NULL) {
			why = o->conf != NULL ? "conf"
			    : o->mode == MODE_RESET ? "reset" : "other_user";
			log_cli_event(LOG_WARNING, "mfa_cli_denied", mode_name(o->mode),
			              o->user != NULL ? o->user : self, why);
			/* Refused: leave without the group's privileges. */
			drop_group_privileges();
			cli_die(CLI_USAGE, "%s", denied);
		}
	}
	if (o->user == NULL) {
		ag_strlcpy(account, self, sizeof(account));
	} else {
		/* Control characters, invalid UTF-8 and overlong names are
		 * refused; anything else is percent-encoded in the key URI. */
		if (ag_otpauth_check_name(o->user, AG_OTPAUTH_MAX_ACCOUNT, &reason) != 0)
			cli_die(CLI_USAGE, "--user: %s", reason);
		ag_strlcpy(account, o->user, sizeof(account));
	}
	if (ag_otpauth_check_name(account, AG_OTPAUTH_MAX_ACCOUNT, &reason) != 0)
		cli_die(CLI_USAGE, "account name: %s", reason);
}

int
main(int argc, char **argv)
{
	struct opts o;
	char issuer[AG_OTPAUTH_MAX_ISSUER + 1], err[AG_ERRBUF];
	const char *reason = NULL;
	int r;

	cli_progname = "authguard-enroll";
	sanitize_fds();
	make_undumpable();
	if (geteuid() != getuid()) {
		uid_t ruid = getuid();

		/* Leave as the caller, with no borrowed identity at all. */
		if (setresuid(ruid, ruid, ruid) != 0)
			_exit(CLI_USAGE);
		drop_group_privileges();
		cli_die(CLI_USAGE, "installed setuid: refusing to run (install it setgid "
		        "authguard instead)");
	}
	if (sodium_init() < 0)
		cli_die(CLI_INTERNAL, "libsodium failed to initialise");
	cli_json_wipe_memory();
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	atexit(at_exit);

	if (argc == 2 && strcmp(argv[1], "version") == 0) {
		printf("authguard-enroll %s\n", PACKAGE_VERSION);
		return CLI_OK;
	}
	parse_args(argc, argv, &o);
	cli_log_open();
	resolve_account(&o);
	cli_load_config(&cfg, o.conf);
	if (o.issuer != NULL) {
		if (ag_otpauth_check_name(o.issuer, AG_OTPAUTH_MAX_ISSUER, &reason) != 0)
			cli_die(CLI_USAGE, "--issuer: %s", reason);
		ag_strlcpy(issuer, o.issuer, sizeof(issuer));
	} else {
		ag_mfa_issuer(&cfg, issuer, sizeof(issuer));
		if (ag_otpauth_check_name(issuer, AG_OTPAUTH_MAX_ISSUER, &reason) != 0)
			cli_die(CLI_USAGE, "issuer %s: %s (set totp_issuer or use --issuer)",
			        issuer, reason);
	}

	/* Privileged resources first, then the group goes for good. */
	if ((r = ag_store_open(&cfg, 0, &store, err)) != 0)
		cli_die(cli_exit_for(r), "%s", err);
	mfa.cfg = &cfg;
	mfa.store = store;
	mfa.log = evlog;
	if (o.mode != MODE_STATUS && o.mode != MODE_RESET &&
	    (r = ag_mfa_load_key(&mfa, err)) != 0)
		cli_die(cli_exit_for(r), "%s", err);
	drop_group_privileges();

	switch (o.mode) {
	case MODE_START: return cmd_start(&o, issuer);
	case MODE_CONFIRM: return cmd_confirm(&o);
	case MODE_REGENERATE: return cmd_regenerate(&o);
	case MODE_RESET: return cmd_reset(&o);
	case MODE_STATUS: return cmd_status(&o);
	}
	return CLI_INTERNAL;
}
