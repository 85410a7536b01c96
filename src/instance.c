#include "instance.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"

#define ID_FILE "instance-id"

int instance_uuid_v4(char out[INSTANCE_ID_LEN])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return ERR_INTERNAL;
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, INSTANCE_ID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

bool instance_uuid_valid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[36] == '\0' || (s[36] == '\n' && s[37] == '\0');
}

/* 1: a valid id was read; 0: there is no file; -1: a file that is not one. */
static int read_id(int dirfd, char out[INSTANCE_ID_LEN])
{
	char buf[64] = {0};
	int fd = openat(dirfd, ID_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 36 || !instance_uuid_valid(buf))
		return -1;
	memcpy(out, buf, 36);
	out[36] = '\0';
	return 1;
}

static int write_id(int dirfd, const char *id, struct err_info *ei)
{
	char line[INSTANCE_ID_LEN + 1];
	int len = snprintf(line, sizeof(line), "%s\n", id);

	return atomic_write_at(dirfd, ID_FILE, line, (size_t)len, 0644, ei);
}

int instance_id_load(const char *state_dir, char out[INSTANCE_ID_LEN], bool *persisted,
		     struct err_info *ei)
{
	int dirfd, r;

	*persisted = false;
	if (mkdir_parents(state_dir, 0750) < 0) {
		err_set(ei, ERR_INTERNAL, "mkdir %s: %s", state_dir, strerror(errno));
		return instance_uuid_v4(out);
	}
	dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		err_set(ei, ERR_INTERNAL, "open %s: %s", state_dir, strerror(errno));
		return instance_uuid_v4(out);
	}
	r = read_id(dirfd, out);
	if (r == 1) {
		*persisted = true;
		close(dirfd);
		return 0;
	}
	if (r < 0)
		err_set(ei, ERR_INTERNAL, "%s/%s is unreadable or not a UUID: replaced", state_dir,
			ID_FILE);
	r = instance_uuid_v4(out);
	if (r == 0 && write_id(dirfd, out, ei) == 0)
		*persisted = true;
	close(dirfd);
	return r;
}
