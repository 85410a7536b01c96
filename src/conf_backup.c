#include "conf_backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "log.h"
#include "readall.h"

#define ID_CHARS   20 /* strlen("YYYYMMDDTHHMMSSZ-NNN") */
#define TIME_CHARS 17 /* "YYYYMMDDTHHMMSSZ-": what ids of one second share */
#define SEQ_MAX	   999

/* A new backup is written under this name, then linked to its id. It is
 * not an id, so a crash in between leaves nothing that is listed, and the
 * next save replaces it. */
#define STAGING "new-backup"

/* The value of n decimal digits at s (checked by the caller). */
static int num(const char *s, int n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

static int month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Check id (ID_CHARS long) field by field; its time into *created. */
static const char *parse_id(const char *id, int64_t *created)
{
	static const char shape[] = "DDDDDDDDTDDDDDDZ-DDD";
	struct tm tm = {0};
	int y, mo, d;

	for (int i = 0; i < ID_CHARS; i++)
		if (shape[i] == 'D' ? id[i] < '0' || id[i] > '9' : id[i] != shape[i])
			return "not of the form YYYYMMDDTHHMMSSZ-NNN";
	y = num(id, 4), mo = num(id + 4, 2), d = num(id + 6, 2);
	if (y < 1970)
		return "year before 1970";
	if (mo < 1 || mo > 12)
		return "month out of range";
	if (d < 1 || d > month_days(y, mo))
		return "day out of range";
	if (num(id + 9, 2) > 23 || num(id + 11, 2) > 59 || num(id + 13, 2) > 59)
		return "time of day out of range";
	if (num(id + 17, 3) < 1)
		return "sequence number out of range";
	tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
	tm.tm_hour = num(id + 9, 2), tm.tm_min = num(id + 11, 2), tm.tm_sec = num(id + 13, 2);
	*created = (int64_t)timegm(&tm);
	return NULL;
}

const char *conf_backup_check_id(const char *id)
{
	int64_t created;

	if (id == NULL)
		return "missing";
	if (strnlen(id, ID_CHARS + 1) != ID_CHARS)
		return "not 20 characters long (YYYYMMDDTHHMMSSZ-NNN)";
	return parse_id(id, &created);
}

int conf_backup_prepare(const char *dir, struct err_info *ei)
{
	struct stat st;

	if (mkdir_parents(dir, 0700) < 0)
		return err_set(ei, err_from_errno(errno), "create %s: %s", dir, strerror(errno));
	if (stat(dir, &st) < 0)
		return err_set(ei, err_from_errno(errno), "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(ei, ERR_INTERNAL, "%s is not a directory", dir);
	return 0;
}

static int open_dir(const char *dir, struct err_info *ei)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_set(ei, errno == ENOENT ? ERR_NOT_FOUND : err_from_errno(errno),
			       "open %s: %s", dir, strerror(errno));
	return fd;
}

static int newest_first(const void *a, const void *b)
{
	return -strcmp(((const struct conf_backup *)a)->id, ((const struct conf_backup *)b)->id);
}

/* Add name to *v when it is a valid id naming a regular file. */
static int scan_entry(int dfd, const char *name, struct conf_backup **v, size_t *n, size_t *cap)
{
	struct conf_backup b;
	struct stat st;

	if (strnlen(name, ID_CHARS + 1) != ID_CHARS || parse_id(name, &b.created) != NULL ||
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct conf_backup *nv = reallocarray(*v, ncap, sizeof(**v));

		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	memcpy(b.id, name, ID_CHARS + 1);
	b.size = (int64_t)st.st_size;
	(*v)[(*n)++] = b;
	return 0;
}

/* Every backup in the directory dfd, newest first: *ret malloc'd (NULL
 * when none). Names that are not ids and what is not a regular file are
 * left out. */
static int scan(int dfd, const char *dir, struct conf_backup **ret, size_t *n, struct err_info *ei)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	struct conf_backup *v = NULL;
	size_t cap = 0;
	struct dirent *e;
	DIR *dp = fd < 0 ? NULL : fdopendir(fd);

	*n = 0;
	if (dp == NULL) {
		r = err_set(ei, err_from_errno(errno), "open %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	while (r == 0 && (errno = 0, e = readdir(dp)) != NULL)
		if (scan_entry(dfd, e->d_name, &v, n, &cap) < 0)
			r = err_set(ei, ERR_NOMEM, "out of memory");
	if (r == 0 && errno != 0)
		r = err_set(ei, err_from_errno(errno), "read %s: %s", dir, strerror(errno));
	closedir(dp);
	if (r < 0) {
		free(v);
		*n = 0;
		return r;
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), newest_first);
	*ret = v;
	return 0;
}

static int format_id(int64_t when, unsigned seq, char id[CONF_BACKUP_ID_LEN], struct err_info *ei)
{
	time_t t = (time_t)when;
	struct tm tm;
	char buf[64]; /* room for any int, so that no truncation warning */

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 70 || tm.tm_year > 9999 - 1900)
		return err_set(ei, ERR_INTERNAL, "time %lld out of range", (long long)when);
	snprintf(buf, sizeof(buf), "%04d%02d%02dT%02d%02d%02dZ-%03u", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, seq);
	memcpy(id, buf, ID_CHARS + 1);
	return 0;
}

/* The id of a backup taken at now: that second with number 001; but when
 * the newest backup is of that second or a later one (the clock went
 * back), the one after it (its second with the next number, or the next
 * second after 999), so that a new id always sorts after the others. */
static int first_id(const struct conf_backup *newest, int64_t now, char id[CONF_BACKUP_ID_LEN],
		    struct err_info *ei)
{
	int r = format_id(now, 1, id, ei);
	int seq;

	if (r < 0 || newest == NULL || strncmp(newest->id, id, TIME_CHARS) < 0)
		return r;
	seq = num(newest->id + TIME_CHARS, 3);
	if (seq < SEQ_MAX)
		return format_id(newest->created, (unsigned)seq + 1, id, ei);
	return format_id(newest->created + 1, 1, id, ei);
}

/* Give the staged backup its id: a hard link fails rather than replace
 * what exists (a name taken by something scan() skips moves on to the
 * next number). The staging name is removed on success and failure. */
static int claim(int dfd, const char *dir, char id[CONF_BACKUP_ID_LEN], struct err_info *ei)
{
	unsigned seq = (unsigned)num(id + TIME_CHARS, 3);
	int r = 0;

	while (linkat(dfd, STAGING, dfd, id, 0) < 0) {
		int e = errno;

		if (e != EEXIST || seq == SEQ_MAX) {
			r = err_set(ei, e == EEXIST ? ERR_INTERNAL : err_from_errno(e),
				    "link %s/%s: %s", dir, id,
				    e == EEXIST ? "no free sequence number" : strerror(e));
			break;
		}
		snprintf(id + TIME_CHARS, CONF_BACKUP_ID_LEN - TIME_CHARS, "%03u", ++seq);
	}
	unlinkat(dfd, STAGING, 0);
	fsync(dfd);
	return r;
}

/* Remove the oldest backups beyond keep, never the one just saved. A
 * backup that cannot be removed is only logged: the new one is safe. */
static void prune(int dfd, const char *dir, const char *saved, unsigned keep)
{
	struct conf_backup *v = NULL;
	struct err_info ei;
	size_t n;

	if (scan(dfd, dir, &v, &n, &ei) < 0) {
		log_warning("conf_backup: cannot list %s to remove old backups: %s", dir,
			    ei.detail);
		return;
	}
	for (size_t i = keep > 0 ? keep : 1; i < n; i++)
		if (strcmp(v[i].id, saved) != 0 && unlinkat(dfd, v[i].id, 0) < 0)
			log_warning("conf_backup: cannot remove %s/%s: %s", dir, v[i].id,
				    strerror(errno));
	free(v);
}

/* Write the backup under STAGING and link it to a fresh id. */
static int store(int dfd, const char *dir, const char *text, size_t len, int64_t now,
		 char id[CONF_BACKUP_ID_LEN], struct err_info *ei)
{
	struct conf_backup *v = NULL;
	size_t n;
	int r;

	/* atomic_write_at() says ERR_INTERNAL for every failure. */
	if (faccessat(dfd, ".", W_OK | X_OK, AT_EACCESS) < 0)
		return err_set(ei, err_from_errno(errno), "%s: %s", dir, strerror(errno));
	r = scan(dfd, dir, &v, &n, ei);
	if (r == 0)
		r = first_id(n > 0 ? &v[0] : NULL, now, id, ei);
	free(v);
	if (r == 0)
		r = atomic_write_at(dfd, STAGING, text, len, 0600, ei);
	if (r == 0)
		r = claim(dfd, dir, id, ei);
	if (r < 0)
		unlinkat(dfd, STAGING, 0);
	return r;
}

int conf_backup_save(const char *dir, const char *text, size_t len, int64_t now, unsigned keep,
		     char id_out[CONF_BACKUP_ID_LEN], struct err_info *ei)
{
	char id[CONF_BACKUP_ID_LEN];
	int dfd = open_dir(dir, ei), r;

	if (dfd < 0)
		return dfd == ERR_NOT_FOUND ? ERR_INTERNAL : dfd;
	r = store(dfd, dir, text, len, now, id, ei);
	if (r == 0) {
		prune(dfd, dir, id, keep);
		memcpy(id_out, id, CONF_BACKUP_ID_LEN);
	}
	close(dfd);
	return r;
}

int conf_backup_list(const char *dir, struct conf_backup **ret, size_t *n, struct err_info *ei)
{
	struct conf_backup *v = NULL;
	size_t count;
	int dfd = open_dir(dir, ei), r;

	if (dfd == ERR_NOT_FOUND) {
		*ret = NULL;
		*n = 0;
		return 0;
	}
	if (dfd < 0)
		return dfd;
	r = scan(dfd, dir, &v, &count, ei);
	close(dfd);
	if (r < 0)
		return r;
	*ret = v;
	*n = count < CONF_BACKUP_MAX ? count : CONF_BACKUP_MAX;
	return 0;
}

static int read_backup(int dfd, const char *dir, const char *id, size_t max, char **text,
		       size_t *len, struct err_info *ei)
{
	int fd = openat(dfd, id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY), e;
	struct stat st;

	if (fd < 0)
		return err_set(ei,
			       errno == ENOENT || errno == ELOOP ? ERR_NOT_FOUND
								 : err_from_errno(errno),
			       "open %s/%s: %s", dir, id,
			       errno == ELOOP ? "a symbolic link, not a backup" : strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(ei, ERR_NOT_FOUND, "%s/%s is not a regular file", dir, id);
	}
	if (read_all(fd, max, (size_t)st.st_size, text, len) == 0) {
		close(fd);
		return 0;
	}
	e = errno;
	close(fd);
	if (e == ENOMEM)
		return err_set(ei, ERR_NOMEM, "out of memory");
	return err_set(ei, ERR_INTERNAL, "read %s/%s: %s", dir, id,
		       e == EFBIG ? "larger than the limit" : strerror(e));
}

int conf_backup_read(const char *dir, const char *id, size_t max, char **text, size_t *len,
		     struct err_info *ei)
{
	const char *why = conf_backup_check_id(id);
	int dfd, r;

	if (why != NULL)
		return err_set(ei, ERR_BAD_REQUEST, "backup id: %s", why);
	dfd = open_dir(dir, ei);
	if (dfd < 0)
		return dfd;
	r = read_backup(dfd, dir, id, max, text, len, ei);
	close(dfd);
	return r;
}
