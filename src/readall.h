/* Reading a whole file into memory, bounded: the one loop for every file
 * the agent reads (the password file, ocserv.conf, settings files,
 * certificates). */
#pragma once

#include <stddef.h>

/* Read fd to its end: at most max bytes (one byte more is read to tell a
 * file that is too large). hint: the expected size (e.g. st_size), 0 when
 * unknown. On success *ret is malloc'd and NUL-terminated (the caller
 * frees it) and *len its length. Returns 0, or -1 with errno set: EFBIG
 * when the file holds more than max bytes, ENOMEM, or read()'s error. */
int read_all(int fd, size_t max, size_t hint, char **ret, size_t *len);
