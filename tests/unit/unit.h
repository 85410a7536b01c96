/* Small helpers shared by the unit test programs (header only). */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must be defined by the build"
#endif

static const char *const unit_versions[] = {"1.1.6", "1.3.0", "1.5.0"};
#define UNIT_N_VERSIONS 3

/* Read a whole file into a NUL-terminated malloc'd buffer; NULL on error. */
static inline char *unit_read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *p = realloc(buf, cap);
			if (p == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return buf;
}

/* Path of a captured fixture: FIXTURES_DIR/ocserv-<version>/<name>.out */
static inline void unit_fixture_path(char *buf, size_t len, const char *version, const char *name)
{
	snprintf(buf, len, "%s/ocserv-%s/%s.out", FIXTURES_DIR, version, name);
}

static inline char *unit_read_fixture(const char *version, const char *name, size_t *ret_len)
{
	char path[512];

	unit_fixture_path(path, sizeof(path), version, name);
	return unit_read_file(path, ret_len);
}

/* Write text to path (created/truncated) with the given mode; 0 or -1. */
static inline int unit_write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, text, len);
	if (fchmod(fd, mode) < 0 || close(fd) < 0 || w != (ssize_t)len)
		return -1;
	return 0;
}

static inline int unit_write_str(const char *path, const char *text)
{
	return unit_write_file(path, text, strlen(text), 0644);
}

/* A fresh private directory under /tmp; template is filled in place. */
static inline char *unit_mkdtemp(char *tmpl, size_t len, const char *prefix)
{
	snprintf(tmpl, len, "/tmp/%s-XXXXXX", prefix);
	return mkdtemp(tmpl);
}

static inline int unit_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* rm -rf of a directory tree the test created under /tmp. */
static inline void unit_rmtree(const char *path)
{
	if (strncmp(path, "/tmp/", 5) != 0 || strstr(path, "..") != NULL)
		return;
	nftw(path, unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *unit_join(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}
