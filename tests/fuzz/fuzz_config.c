/* libFuzzer target: the configuration file parser and module arguments.
 *
 * The input is written to a private temporary file and read with
 * ag_config_load_file(); then each NUL-separated chunk of the input is
 * applied as a module argument with ag_config_apply_arg(), followed by
 * ag_config_validate(). */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "config.h"

#define FUZZ_MAX_INPUT (AG_CONFIG_MAX_SIZE + 1024)

static char tmpdir[64];
static char path[128];

static void
cleanup(void)
{
	unlink(path);
	rmdir(tmpdir);
}

static void
setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/agfz-config.XXXXXX",
	         base != NULL && strlen(base) < 30 ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/authguard.conf", tmpdir);
	atexit(cleanup);
}

static void
write_file(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t off = 0;

	if (fd < 0)
		abort();
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct ag_config *cfg;
	char err[AG_ERRBUF];
	size_t off;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size > FUZZ_MAX_INPUT)
		return 0;
	if ((cfg = malloc(sizeof(*cfg))) == NULL)
		abort();

	/* The file. */
	ag_config_defaults(cfg);
	write_file(data, size);
	err[0] = '\0';
	(void)ag_config_load_file(cfg, path, 0, err);
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort(); /* error message not terminated */
	(void)ag_config_validate(cfg, err);
	unlink(path);

	/* Module arguments: every NUL-separated chunk, on fresh defaults. */
	ag_config_defaults(cfg);
	for (off = 0; off <= size;) {
		const uint8_t *nul = memchr(data + off, '\0', size - off);
		size_t n = nul != NULL ? (size_t)(nul - (data + off)) : size - off;
		char *arg = malloc(n + 1);

		if (arg == NULL)
			abort();
		memcpy(arg, data + off, n);
		arg[n] = '\0';
		err[0] = '\0';
		(void)ag_config_apply_arg(cfg, arg, err);
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		free(arg);
		off += n + 1;
	}
	(void)ag_config_validate(cfg, err);
	(void)ag_config_audience_allowed(cfg, "fuzz");
	free(cfg);
	return 0;
}
