#include "revoke.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "atomic_file.h"
#include "err.h"
#include "log.h"
#include "validate.h"

struct entry {
	char *sid;
	char *user; /* NULL: any user */
	int64_t until;
};

/* Entries in insertion order: beyond REVOKE_MAX the oldest go first. The
 * file is written outside lock (a connect hook must not wait for fsync),
 * under save_lock, from a snapshot taken under lock. */
struct revoke {
	pthread_mutex_t lock, save_lock;
	struct entry *v;
	size_t n, cap;
	int dirfd; /* state directory, or -1: memory only */
};

struct revoke *revoke_new(void)
{
	struct revoke *rv = calloc(1, sizeof(*rv));

	if (rv != NULL) {
		pthread_mutex_init(&rv->lock, NULL);
		pthread_mutex_init(&rv->save_lock, NULL);
		rv->dirfd = -1;
	}
	return rv;
}

void revoke_free(struct revoke *rv)
{
	if (rv == NULL)
		return;
	for (size_t i = 0; i < rv->n; i++) {
		free(rv->v[i].sid);
		free(rv->v[i].user);
	}
	free(rv->v);
	if (rv->dirfd >= 0)
		close(rv->dirfd);
	pthread_mutex_destroy(&rv->lock);
	pthread_mutex_destroy(&rv->save_lock);
	free(rv);
}

/* Drop the first k entries. Called with the lock held. */
static void drop_front(struct revoke *rv, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		free(rv->v[i].sid);
		free(rv->v[i].user);
	}
	memmove(rv->v, rv->v + k, (rv->n - k) * sizeof(*rv->v));
	rv->n -= k;
}

/* Every entry is checked: the wall clock may have stepped back between two
 * revocations, so the order of insertion is not the order of expiry. */
static void expire(struct revoke *rv, int64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < rv->n; i++) {
		if (rv->v[i].until <= now) {
			free(rv->v[i].sid);
			free(rv->v[i].user);
		} else
			rv->v[k++] = rv->v[i];
	}
	rv->n = k;
}

/* Append an entry; the lock is held. */
static int push(struct revoke *rv, char *sid, char *user, int64_t until)
{
	if (rv->n == REVOKE_MAX)
		drop_front(rv, 1);
	if (array_grow(&rv->v, &rv->cap, rv->n, sizeof(*rv->v), 16) < 0)
		return ERR_NOMEM;
	rv->v[rv->n++] = (struct entry){sid, user, until};
	return 0;
}

/* The file's text: "UNTIL SID[ USER]" lines. Called with the lock held;
 * NULL on allocation failure. */
static char *snapshot(struct revoke *rv, size_t *len)
{
	size_t cap = rv->n * (REVOKE_SID_MAX + USERNAME_MAX + 26) + 1;
	char *buf = malloc(cap);

	*len = 0;
	for (size_t i = 0; buf != NULL && i < rv->n; i++)
		*len += (size_t)snprintf(buf + *len, cap - *len, "%" PRId64 " %s%s%s\n",
					 rv->v[i].until, rv->v[i].sid, rv->v[i].user ? " " : "",
					 rv->v[i].user ? rv->v[i].user : "");
	return buf;
}

/* Write the store. Takes both locks itself, the main one only to copy. */
static void save(struct revoke *rv)
{
	struct err_info ei = {{0}};
	size_t len;
	char *buf;

	pthread_mutex_lock(&rv->save_lock);
	pthread_mutex_lock(&rv->lock);
	buf = snapshot(rv, &len);
	pthread_mutex_unlock(&rv->lock);
	if (buf == NULL)
		log_error("cannot save revoked sessions: out of memory");
	else if (atomic_write_at(rv->dirfd, REVOKE_FILE, buf, len, 0600, &ei) < 0)
		log_error("cannot save revoked sessions: %s", ei.detail);
	pthread_mutex_unlock(&rv->save_lock);
	free(buf);
}

int revoke_persist(struct revoke *rv, const char *state_dir, int64_t now, struct err_info *ei)
{
	char line[REVOKE_SID_MAX + USERNAME_MAX + 40], sid[REVOKE_SID_MAX + 1];
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
		char *copy, *user = NULL;
		int end = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%lld %64s%n", &until, sid, &end) != 2 || until <= now)
			continue;
		/* The rest of the line, after one space, is the user (names may
		 * hold single spaces). */
		if (line[end] == ' ' && line[end + 1] != '\0' &&
		    (user = strdup(line + end + 1)) == NULL) {
			r = ERR_NOMEM;
			break;
		}
		if ((copy = strdup(sid)) == NULL || (r = push(rv, copy, user, until)) < 0) {
			free(copy);
			free(user);
			r = ERR_NOMEM;
		}
	}
	rv->dirfd = dirfd;
	pthread_mutex_unlock(&rv->lock);
	if (f != NULL)
		fclose(f);
	return r < 0 ? err_set(ei, r, "out of memory loading revoked sessions") : 0;
}

static bool valid_sid(const char *sid)
{
	size_t len = strlen(sid);

	/* What the file can hold: one word of bounded length per line. */
	return len > 0 && len <= REVOKE_SID_MAX && strcspn(sid, " \t\r\n") == len;
}

int revoke_add_many(struct revoke *rv, const char *const *sids, const char *user, size_t n,
		    int64_t now)
{
	int r = 0;
	bool saving;

	if (user != NULL && validate_username(user) != NULL)
		return ERR_BAD_REQUEST;
	for (size_t i = 0; i < n; i++)
		if (!valid_sid(sids[i]))
			return ERR_BAD_REQUEST;
	pthread_mutex_lock(&rv->lock);
	expire(rv, now);
	for (size_t i = 0; r == 0 && i < n; i++) {
		char *sid = strdup(sids[i]), *u = user ? strdup(user) : NULL;
		if (sid == NULL || (user && u == NULL) ||
		    push(rv, sid, u, now + REVOKE_TTL_SECONDS) < 0) {
			free(sid);
			free(u);
			r = ERR_NOMEM;
		}
	}
	saving = rv->dirfd >= 0;
	pthread_mutex_unlock(&rv->lock);
	if (saving)
		save(rv);
	return r;
}

int revoke_add(struct revoke *rv, const char *full_sid, int64_t now)
{
	return revoke_add_many(rv, &full_sid, NULL, 1, now);
}

bool revoke_has_user(struct revoke *rv, const char *user, int64_t now)
{
	bool found = false;

	pthread_mutex_lock(&rv->lock);
	expire(rv, now);
	for (size_t i = 0; i < rv->n && !found; i++)
		found = rv->v[i].user == NULL || (user && strcmp(rv->v[i].user, user) == 0);
	pthread_mutex_unlock(&rv->lock);
	return found;
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
