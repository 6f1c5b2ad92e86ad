/* authguardd's configuration: read at start and again on SIGHUP, when
 * a file that does not load leaves the one in force. */
#include "autoconf.h"

#include <pthread.h>
#include <syslog.h>

#include "config.h"
#include "daemon.h"
#include "error.h"

int
agd_load_config(struct ag_config *cfg, const char *path, char err[AG_ERRBUF])
{
	struct ag_config work;
	int r;

	ag_config_defaults(&work);
	if ((r = ag_config_load_file(&work, path != NULL ? path : ag_config_default_path(),
	                             path == NULL, err)) != 0 ||
	    (r = ag_config_validate(&work, err)) != 0)
		return r;
	*cfg = work;
	return 0;
}

void
agd_reload(struct agd_server *s)
{
	char err[AG_ERRBUF];
	struct ag_config cfg;

	/* A configuration that does not load leaves the one in force. */
	if (agd_load_config(&cfg, s->conf_path, err) != 0) {
		agd_log(LOG_ERR, "event=daemon_reload result=refused reason=%s", err);
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->cfg = cfg;
	s->config_gen++;
	pthread_mutex_unlock(&s->lock);
	agd_log(LOG_INFO, "event=daemon_reload result=ok");
}
