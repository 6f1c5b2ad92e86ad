/* Opening files that decide security: no symlinks, trusted owner, no
 * write access for others, bounded size.
 *
 * Validators return 0 or a negative AG_ERR_* code and, on failure, set
 * *reasonp to a static phrase ("is writable by others") for the caller to
 * log once, together with the path. */
#ifndef AG_SAFEFILE_H
#define AG_SAFEFILE_H

#include <stddef.h>
#include <sys/stat.h>

enum ag_safe_flags {
	AG_SAFE_GROUP_WRITE = 1, /* group write allowed (state shared with group authguard) */
	AG_SAFE_NO_OTHER_READ = 2 /* refuse if others may read (key files) */
};

/* Checks an open file's owner (root or the effective uid) and mode. */
int ag_safe_check_stat(const struct stat *st, int flags, const char **reasonp);

/* Checks every directory above path (path itself excluded): owned by root
 * or the effective uid, and not writable by group or others unless the
 * sticky bit is set (as /tmp), so nobody else can swap a component. */
int ag_safe_check_parents(const char *path, const char **reasonp);

/* ag_safe_check_parents() that also names, on failure, the directory at
 * fault in dir (dirsize bytes; "" when the path itself is the problem). */
int ag_safe_check_parents_at(const char *path, char *dir, size_t dirsize,
                             const char **reasonp);

/* Checks a directory itself (lstat: a symlink is refused). */
int ag_safe_check_dir(const char *path, int flags, const char **reasonp);

/* Reads a whole regular file of at most maxsize bytes into a fresh
 * NUL-terminated buffer (*bufp, free with free()).  Refuses symlinks,
 * non-regular files and unsafe owner/mode per flags.  Returns 0,
 * AG_ERR_NOTFOUND, AG_ERR_UNSAFE, AG_ERR_TOOLONG, AG_ERR_IO or AG_ERR_NOMEM. */
int ag_safe_read_file(const char *path, size_t maxsize, int flags, char **bufp,
                      size_t *lenp, const char **reasonp);

/* Writes all len bytes to fd, retrying short writes and EINTR.  Returns 0
 * or -1 (errno set). */
int ag_safe_write_all(int fd, const void *buf, size_t len);

#endif
