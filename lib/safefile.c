#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "safefile.h"
#include "util.h"

int
ag_safe_check_stat(const struct stat *st, int flags, const char **reasonp)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		*reasonp = "is not owned by root or the current user";
		return AG_ERR_UNSAFE;
	}
	if (st->st_mode & S_IWOTH) {
		*reasonp = "is writable by others";
		return AG_ERR_UNSAFE;
	}
	if ((st->st_mode & S_IWGRP) && !(flags & AG_SAFE_GROUP_WRITE)) {
		*reasonp = "is writable by its group";
		return AG_ERR_UNSAFE;
	}
	if ((st->st_mode & S_IROTH) && (flags & AG_SAFE_NO_OTHER_READ)) {
		*reasonp = "is readable by others";
		return AG_ERR_UNSAFE;
	}
	return 0;
}

int
ag_safe_check_parents(const char *path, const char **reasonp)
{
	return ag_safe_check_parents_at(path, NULL, 0, reasonp);
}

/* Names dir as the one at fault and returns ret. */
static int
parent_fault(char *out, size_t outsize, const char *dir, int ret)
{
	if (out != NULL && outsize > 0)
		ag_strlcpy(out, dir, outsize);
	return ret;
}

int
ag_safe_check_parents_at(const char *path, char *dir, size_t dirsize, const char **reasonp)
{
	char buf[PATH_MAX];
	struct stat st;
	char *slash;

	if (dir != NULL && dirsize > 0)
		dir[0] = '\0';
	if (path[0] != '/') {
		*reasonp = "is not an absolute path";
		return AG_ERR_UNSAFE;
	}
	if (ag_strlcpy(buf, path, sizeof(buf)) != 0) {
		*reasonp = "is too long";
		return AG_ERR_TOOLONG;
	}
	for (;;) {
		slash = strrchr(buf, '/');
		if (slash == NULL)
			break;
		if (slash == buf)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (lstat(buf, &st) != 0) {
			*reasonp = "has a parent directory that cannot be examined";
			return parent_fault(dir, dirsize, buf,
			                    errno == ENOENT ? AG_ERR_NOTFOUND : AG_ERR_IO);
		}
		if (!S_ISDIR(st.st_mode)) {
			*reasonp = "has a parent that is not a directory (or is a symlink)";
			return parent_fault(dir, dirsize, buf, AG_ERR_UNSAFE);
		}
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			*reasonp = "has a parent directory not owned by root or the current user";
			return parent_fault(dir, dirsize, buf, AG_ERR_UNSAFE);
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
			*reasonp = "has a parent directory writable by group or others";
			return parent_fault(dir, dirsize, buf, AG_ERR_UNSAFE);
		}
		if (strcmp(buf, "/") == 0)
			break;
	}
	return 0;
}

int
ag_safe_check_dir(const char *path, int flags, const char **reasonp)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		*reasonp = "does not exist or cannot be examined";
		return errno == ENOENT ? AG_ERR_NOTFOUND : AG_ERR_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		*reasonp = "is not a directory (or is a symlink)";
		return AG_ERR_UNSAFE;
	}
	return ag_safe_check_stat(&st, flags, reasonp);
}

int
ag_safe_read_file(const char *path, size_t maxsize, int flags, char **bufp,
                  size_t *lenp, const char **reasonp)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd = -1, ret = AG_ERR_IO;

	*bufp = NULL;
	*lenp = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT) {
			*reasonp = "does not exist";
			ret = AG_ERR_NOTFOUND;
		} else if (errno == ELOOP) {
			*reasonp = "is a symlink";
			ret = AG_ERR_UNSAFE;
		} else {
			*reasonp = "cannot be opened";
		}
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		*reasonp = "cannot be examined";
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		*reasonp = "is not a regular file";
		ret = AG_ERR_UNSAFE;
		goto out;
	}
	if ((ret = ag_safe_check_stat(&st, flags, reasonp)) != 0)
		goto out;
	if ((size_t)st.st_size > maxsize) {
		*reasonp = "is too large";
		ret = AG_ERR_TOOLONG;
		goto out;
	}
	if ((buf = malloc(maxsize + 1)) == NULL) {
		*reasonp = "could not be read (out of memory)";
		ret = AG_ERR_NOMEM;
		goto out;
	}
	/* Read up to maxsize + 1 so growth after fstat is caught too. */
	while (got <= maxsize) {
		n = read(fd, buf + got, maxsize + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*reasonp = "could not be read";
			ret = AG_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > maxsize) {
		*reasonp = "is too large";
		ret = AG_ERR_TOOLONG;
		goto out;
	}
	buf[got] = '\0';
	*bufp = buf;
	*lenp = got;
	buf = NULL;
	ret = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, maxsize + 1);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

int
ag_safe_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
