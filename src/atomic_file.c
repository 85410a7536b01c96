#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int atomic_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    struct err_info *ei)
{
	char tmp[256];
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
		return err_set(ei, ERR_INTERNAL, "file name %s too long", name);
	/* A temp file left by a crash is ours to replace. */
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_set(ei, ERR_INTERNAL, "create %s: %s", tmp, strerror(errno));
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		err_set(ei, ERR_INTERNAL, "write %s: %s", tmp, strerror(errno));
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return ERR_INTERNAL;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		err_set(ei, ERR_INTERNAL, "rename %s: %s", tmp, strerror(errno));
		unlinkat(dirfd, tmp, 0);
		return ERR_INTERNAL;
	}
	fsync(dirfd);
	return 0;
}

int mkdir_parents(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static int injected(const struct atomic_txn *t, enum atomic_step step)
{
	int e = t->inject ? t->inject(step) : 0;

	if (e != 0)
		errno = e;
	return e != 0 ? -1 : 0;
}

int atomic_begin(struct atomic_txn *t, const char *path, mode_t mode_new, unsigned wait_ms,
		 struct err_info *ei)
{
	int64_t deadline = timefmt_mono_ms() + wait_ms;
	const char *base;
	char dir[4096];
	char *slash;
	struct stat st;
	int e;

	t->fd = t->dirfd = t->lockfd = -1;
	t->locked = false;
	t->mode_new = mode_new;
	if (strlen(path) >= sizeof(t->path) - 16)
		return err_set(ei, ERR_INTERNAL, "path too long");
	strcpy(t->path, path);
	snprintf(t->lock, sizeof(t->lock), "%s.tmp", t->path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return err_set(ei, ERR_INTERNAL, "%s is not an absolute path", path);
	*(slash == dir ? slash + 1 : slash) = '\0';
	base = path + (slash - dir) + 1;
	t->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0)
		return err_set(ei, errno == EACCES ? ERR_PERMISSION : ERR_INTERNAL, "open %s: %s",
			       dir, strerror(errno));
	/* Only a regular file is ours to replace: opening a FIFO or a device
	 * would block or act; a symbolic link is not followed. */
	t->lockfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (t->lockfd < 0 && errno != ENOENT) {
		e = errno;
		atomic_abort(t);
		return err_set(ei, e == ELOOP ? ERR_CONFLICT : err_from_errno(e), "open %s: %s",
			       path, e == ELOOP ? "a symbolic link" : strerror(e));
	}
	if (t->lockfd >= 0 && (fstat(t->lockfd, &st) < 0 || !S_ISREG(st.st_mode))) {
		atomic_abort(t);
		return err_set(ei, ERR_CONFLICT, "%s is not a regular file", path);
	}
	/* The lock is a directory: mkdir is exclusive, ocpasswd's stat() of
	 * PATH.tmp sees it, and an ocpasswd already past that check gets EISDIR
	 * from its fopen("w") instead of writing into our content. */
	while ((e = mkdir(t->lock, 0700) < 0 ? errno : 0) == EEXIST && timefmt_mono_ms() < deadline)
		usleep(20000);
	if (e != 0) {
		atomic_abort(t);
		if (e == EEXIST)
			return err_set(ei, ERR_LOCKED, "%s exists: another program is writing %s",
				       t->lock, path);
		return err_set(ei, err_from_errno(e), "mkdir %s: %s", t->lock, strerror(e));
	}
	t->locked = true;
	snprintf(t->tmp, sizeof(t->tmp), "%.*s.%s.XXXXXX", (int)(base - path), path, base);
	t->fd = mkostemp(t->tmp, O_CLOEXEC);
	if (t->fd < 0) {
		e = errno;
		atomic_abort(t);
		return err_set(ei, err_from_errno(e), "create a temporary file in %s: %s", dir,
			       strerror(e));
	}
	while (t->lockfd >= 0 && flock(t->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (timefmt_mono_ms() >= deadline) {
			atomic_abort(t);
			return err_set(ei, ERR_LOCKED, "%s is flock()ed by another program", path);
		}
		usleep(20000);
	}
	return 0;
}

void atomic_abort(struct atomic_txn *t)
{
	if (t->fd >= 0) {
		close(t->fd);
		unlink(t->tmp);
	}
	if (t->locked)
		rmdir(t->lock);
	if (t->dirfd >= 0)
		close(t->dirfd);
	if (t->lockfd >= 0)
		close(t->lockfd); /* releases the flock */
	t->fd = t->dirfd = t->lockfd = -1;
	t->locked = false;
}

/* The new file gets the old one's owner and mode, so that ocserv (or its
 * workers' user) can still read it. */
static int keep_owner(const struct atomic_txn *t)
{
	struct stat st;

	if (injected(t, ATOMIC_STEP_OWNER) < 0)
		return -1;
	if (t->lockfd < 0)
		return fchmod(t->fd, t->mode_new);
	if (fstat(t->lockfd, &st) < 0)
		return -1;
	/* As root: the owner and group. Otherwise at least the group, when we
	 * are a member of it; the owner then becomes the agent's user (logged,
	 * as the readers of the file may depend on it). */
	if (fchown(t->fd, st.st_uid, st.st_gid) < 0) {
		if (geteuid() == 0)
			return -1;
		if (fchown(t->fd, (uid_t)-1, st.st_gid) < 0 || st.st_uid != geteuid())
			log_warning("%s: now owned by uid %u (was %u:%u): the agent is not root",
				    t->path, (unsigned)geteuid(), (unsigned)st.st_uid,
				    (unsigned)st.st_gid);
	}
	return fchmod(t->fd, st.st_mode & 07777);
}

int atomic_commit(struct atomic_txn *t, const void *data, size_t len, struct err_info *ei)
{
	const char *what = "write";
	int r = -1;

	if (injected(t, ATOMIC_STEP_WRITE) == 0 && write_all(t->fd, data, len) == 0 &&
	    (what = "fsync", injected(t, ATOMIC_STEP_FSYNC) == 0 && fsync(t->fd) == 0) &&
	    (what = "set owner and mode of", keep_owner(t) == 0) &&
	    (what = "rename",
	     injected(t, ATOMIC_STEP_RENAME) == 0 && rename(t->tmp, t->path) == 0)) {
		/* Renamed: the new file is in place; a failed directory fsync
		 * only weakens durability, which we report. */
		close(t->fd);
		t->fd = -1;
		what = "fsync the directory of";
		r = injected(t, ATOMIC_STEP_FSYNC_DIR) == 0 && fsync(t->dirfd) == 0 ? 0 : -1;
	}
	if (r < 0)
		err_set(ei, ERR_INTERNAL, "%s %s: %s", what, t->fd >= 0 ? t->tmp : t->path,
			strerror(errno));
	atomic_abort(t);
	return r < 0 ? ERR_INTERNAL : 0;
}
