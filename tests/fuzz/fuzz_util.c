#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

int fuzz_memfd(const uint8_t *data, size_t size, char *path)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}
