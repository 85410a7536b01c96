#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
