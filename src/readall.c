#include "readall.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int read_all(int fd, size_t max, size_t hint, char **ret, size_t *len)
{
	size_t cap = hint && hint < max ? hint + 1 : (max < 16384 ? max + 1 : 16384), n = 0;
	char *buf = malloc(cap + 1), *p;
	ssize_t got;

	if (buf == NULL)
		return -1;
	for (;;) {
		if (n == cap) {
			size_t want = cap * 2 < max + 1 ? cap * 2 : max + 1;
			if ((p = realloc(buf, want + 1)) == NULL)
				goto fail;
			buf = p;
			cap = want;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto fail;
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	buf[n] = '\0';
	*ret = buf;
	*len = n;
	return 0;
fail:;
	int e = errno;
	free(buf);
	errno = e;
	return -1;
}
