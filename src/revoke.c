#include "revoke.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "err.h"
#include "log.h"


struct entry {
	char *sid;
	int64_t until;
};

/* Entries in insertion order: beyond REVOKE_MAX the oldest go first. */
struct revoke {
	pthread_mutex_t lock;
	struct entry *v;
	size_t n, cap;
	int dirfd; /* state directory, or -1: memory only */
};

struct revoke *revoke_new(void)
{
	struct revoke *rv = calloc(1, sizeof(*rv));

	if (rv != NULL) {
		pthread_mutex_init(&rv->lock, NULL);
		rv->dirfd = -1;
	}
	return rv;
}

void revoke_free(struct revoke *rv)
{
	if (rv == NULL)
		return;
	for (size_t i = 0; i < rv->n; i++)
		free(rv->v[i].sid);
	free(rv->v);
	if (rv->dirfd >= 0)
		close(rv->dirfd);
	pthread_mutex_destroy(&rv->lock);
	free(rv);
}

/* Drop the first k entries. Called with the lock held. */
static void drop_front(struct revoke *rv, size_t k)
{
	for (size_t i = 0; i < k; i++)
		free(rv->v[i].sid);
	memmove(rv->v, rv->v + k, (rv->n - k) * sizeof(*rv->v));
	rv->n -= k;
}

/* Every entry is checked: the wall clock may have stepped back between two
 * revocations, so the order of insertion is not the order of expiry. */
static void expire(struct revoke *rv, int64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < rv->n; i++) {
		if (rv->v[i].until <= now)
			free(rv->v[i].sid);
		else
			rv->v[k++] = rv->v[i];
	}
	rv->n = k;
}

/* Append an entry; the lock is held. */
static int push(struct revoke *rv, char *sid, int64_t until)
{
	if (rv->n == REVOKE_MAX)
		drop_front(rv, 1);
	if (rv->n == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 16;
		struct entry *v = realloc(rv->v, cap * sizeof(*v));
		if (v == NULL)
			return ERR_NOMEM;
		rv->v = v;
		rv->cap = cap;
	}
	rv->v[rv->n++] = (struct entry){sid, until};
	return 0;
}

/* Write every entry; the lock is held. */
static void save(struct revoke *rv)
{
	struct err_info ei = {{0}};
	size_t cap = rv->n * (REVOKE_SID_MAX + 24) + 1, len = 0;
	char *buf = malloc(cap);

	if (buf == NULL) {
		log_error("cannot save revoked sessions: out of memory");
		return;
	}
	for (size_t i = 0; i < rv->n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%" PRId64 " %s\n", rv->v[i].until,
					rv->v[i].sid);
	if (atomic_write_at(rv->dirfd, REVOKE_FILE, buf, len, 0600, &ei) < 0)
		log_error("cannot save revoked sessions: %s", ei.detail);
	free(buf);
}

int revoke_persist(struct revoke *rv, const char *state_dir, int64_t now, struct err_info *ei)
{
	char line[REVOKE_SID_MAX + 32], sid[REVOKE_SID_MAX + 1];
	int dirfd, fd, r = 0;
	long long until;
	FILE *f;

	dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return err_set(ei, ERR_INTERNAL, "open %s: %s", state_dir, strerror(errno));
	fd = openat(dirfd, REVOKE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (fd >= 0 && f == NULL)
		close(fd);
	pthread_mutex_lock(&rv->lock);
	while (f != NULL && r == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *copy;
		if (sscanf(line, "%lld %64s", &until, sid) != 2 || until <= now)
			continue;
		if ((copy = strdup(sid)) == NULL || (r = push(rv, copy, until)) < 0) {
			free(copy);
			r = ERR_NOMEM;
		}
	}
	rv->dirfd = dirfd;
	pthread_mutex_unlock(&rv->lock);
	if (f != NULL)
		fclose(f);
	return r < 0 ? err_set(ei, r, "out of memory loading revoked sessions") : 0;
}

int revoke_add(struct revoke *rv, const char *full_sid, int64_t now)
{
	size_t len = strlen(full_sid);
	char *sid;
	int r = 0;

	/* What the file can hold: one word of bounded length per line. */
	if (len == 0 || len > REVOKE_SID_MAX || strcspn(full_sid, " \t\r\n") != len)
		return ERR_BAD_REQUEST;
	sid = strdup(full_sid);

	if (sid == NULL)
		return ERR_NOMEM;
	pthread_mutex_lock(&rv->lock);
	expire(rv, now);
	r = push(rv, sid, now + REVOKE_TTL_SECONDS);
	if (r == 0) {
		sid = NULL;
		if (rv->dirfd >= 0)
			save(rv);
	}
	pthread_mutex_unlock(&rv->lock);
	free(sid);
	return r;
}

bool revoke_contains(struct revoke *rv, const char *full_sid, int64_t now)
{
	bool found = false;

	pthread_mutex_lock(&rv->lock);
	expire(rv, now);
	for (size_t i = 0; i < rv->n && !found; i++)
		found = strcmp(rv->v[i].sid, full_sid) == 0;
	pthread_mutex_unlock(&rv->lock);
	return found;
}

size_t revoke_count(struct revoke *rv, int64_t now)
{
	size_t n;

	pthread_mutex_lock(&rv->lock);
	expire(rv, now);
	n = rv->n;
	pthread_mutex_unlock(&rv->lock);
	return n;
}
