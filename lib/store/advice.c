/* Advice about the store's connection settings (store.h, ag_store_advice):
 * what authguard-ctl check-config warns about.  The engine reads the
 * settings as its client library will (db.h, conn_facts); the advice
 * itself is decided here, over those facts. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "store_int.h"

void
ag_store_advise(const struct ag_db_conn_facts *f, const char *conf_path, unsigned conf_mode,
                ag_store_advice_fn fn, void *ctx)
{
	char msg[AG_ERRBUF + 1024];
	struct stat sb;

	/* The password is as safe as the file that holds it. */
	if (f->has_password && (conf_mode & 044) != 0) {
		snprintf(msg, sizeof(msg),
		         "pg_conninfo holds a password and %s can be read by group or others "
		         "(mode %04o): keep the password in a passfile instead (passfile=PATH in "
		         "pg_conninfo, a file of mode 0600; see authguard.conf(5))",
		         conf_path, conf_mode & 07777);
		fn(ctx, msg);
	}
	/* libpq skips a password file that group or others may use, with a
	 * warning on stderr nobody sees behind sshd, and one that is not
	 * there: the connection then fails for want of a password. */
	if (f->passfile[0] != '\0') {
		if (stat(f->passfile, &sb) != 0) {
			snprintf(msg, sizeof(msg), "passfile %s does not exist", f->passfile);
			fn(ctx, msg);
		} else if ((sb.st_mode & 077) != 0) {
			snprintf(msg, sizeof(msg),
			         "passfile %s can be used by group or others (mode %04o): "
			         "libpq ignores it (chmod 0600)",
			         f->passfile, (unsigned)(sb.st_mode & 07777));
			fn(ctx, msg);
		}
	}
	/* Anything but verify-full lets whoever sits on the path read or
	 * answer for the server: "prefer" and "allow" fall back to clear
	 * text, "require" and "verify-ca" accept any certificate or any
	 * host's. */
	if (f->remote && strcmp(f->sslmode, "verify-full") != 0) {
		snprintf(msg, sizeof(msg),
		         "pg_conninfo names the remote server %s without sslmode=verify-full "
		         "(%s%s): the connection can be read or taken over on the network; set "
		         "sslmode=verify-full and sslrootcert=PATH (the CA that signed the "
		         "server's certificate)",
		         f->remote_host, f->sslmode[0] != '\0' ? "sslmode=" : "sslmode not set",
		         f->sslmode);
		fn(ctx, msg);
	}
}

int
ag_store_advice(const struct ag_config *cfg, const char *conf_path, unsigned conf_mode,
                ag_store_advice_fn fn, void *ctx, char err[AG_ERRBUF])
{
	const struct ag_db_engine *e = NULL;
	struct ag_db_conn_facts f;
	int r;

	err[0] = '\0';
	if ((r = ag_db_engine_for(cfg, &e, err)) != 0)
		return r;
	if (e->conn_facts == NULL)
		return 0;
	if ((r = e->conn_facts(cfg, &f, err)) != 0)
		return r;
	ag_store_advise(&f, conf_path, conf_mode, fn, ctx);
	explicit_bzero(&f, sizeof(f));
	return 0;
}
