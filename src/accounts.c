#include "accounts.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readall.h"

/* One mutex for every password file of the process: an operation holds it
 * for a read, a parse and a write (milliseconds), and a process manages
 * one file; a table of per-path mutexes would buy nothing. */
static pthread_mutex_t accounts_mu = PTHREAD_MUTEX_INITIALIZER;

/* An edit returns this (> 0) when there is nothing to write. */
#define UNCHANGED 1

void account_list_free(struct account_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].username);
		strv_free(&l->v[i].groups);
		free(l->v[i].scheme);
	}
	free(l->v);
	free(l);
}

void import_report_free(struct import_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].username);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static int errno_err(int e)
{
	return e == EACCES || e == EPERM ? ERR_PERMISSION : ERR_INTERNAL;
}

/* The whole file; a missing one is empty. Not through a symbolic link:
 * the rename() of a write would replace the link, not its target. */
static int read_file(const char *path, char **ret, size_t *ret_len, struct err_info *ei)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK), r;
	struct stat st;

	if (fd < 0 && errno == ENOENT) {
		*ret = calloc(1, 1);
		*ret_len = 0;
		return *ret ? 0 : err_set(ei, ERR_NOMEM, "out of memory");
	}
	if (fd < 0) {
		int e = errno;
		return err_set(ei, errno_err(e), "open %s: %s%s", path, strerror(e),
			       e == ELOOP ? " (a symbolic link: not followed)" : "");
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(ei, ERR_INTERNAL, "%s is not a regular file", path);
	}
	if ((uintmax_t)st.st_size > ACCOUNTS_FILE_MAX) {
		close(fd);
		return err_set(ei, ERR_INTERNAL, "%s: more than %u bytes", path, ACCOUNTS_FILE_MAX);
	}
	r = read_all(fd, ACCOUNTS_FILE_MAX, (size_t)st.st_size, ret, ret_len);
	int e = errno;
	close(fd);
	if (r == 0)
		return 0;
	if (e == EFBIG)
		return err_set(ei, ERR_INTERNAL, "%s: more than %u bytes", path, ACCOUNTS_FILE_MAX);
	return e == ENOMEM ? err_set(ei, ERR_NOMEM, "out of memory")
			   : err_set(ei, errno_err(e), "read %s: %s", path, strerror(e));
}

static int load(const char *path, struct ocpasswd **ret, struct err_info *ei)
{
	char *text;
	size_t len;
	int r = read_file(path, &text, &len, ei);

	if (r == 0) {
		r = ocpasswd_parse(text, len, ret, ei);
		free(text);
	}
	return r;
}

typedef int (*edit_fn)(struct ocpasswd *f, void *arg, struct err_info *ei);

/* Read-modify-write of the file under the mutex and PATH.tmp: edit
 * returns 0 (write the result), UNCHANGED (write nothing) or an error. */
static int transact(const struct accounts *a, edit_fn edit, void *arg, struct err_info *ei)
{
	struct atomic_txn t = {.inject = a->inject};
	struct ocpasswd *f = NULL;
	char *out = NULL;
	size_t len, long_line;
	int r;

	pthread_mutex_lock(&accounts_mu);
	r = atomic_begin(&t, a->path, 0600, a->lock_wait_ms, ei);
	if (r < 0)
		goto unlock;
	r = load(a->path, &f, ei);
	if (r == 0 && (long_line = ocpasswd_long_line(f)) != 0)
		r = err_set(ei, ERR_CONFLICT,
			    "line %zu of the password file is longer than ocserv reads at once "
			    "(510 bytes): fix it by hand before changing accounts",
			    long_line);
	if (r == 0)
		r = edit(f, arg, ei);
	if (r == 0 && (out = ocpasswd_serialize(f, &len)) == NULL)
		r = err_set(ei, ERR_NOMEM, "out of memory");
	if (r == 0)
		r = atomic_commit(&t, out, len, ei);
	else
		atomic_abort(&t);
	free(out);
	ocpasswd_free(f);
unlock:
	pthread_mutex_unlock(&accounts_mu);
	return r == UNCHANGED ? 0 : r;
}

static int account_copy(const struct ocpasswd_account *v, struct account *out)
{
	*out = (struct account){.locked = v->locked};
	out->username = strdup(v->username);
	out->scheme = strdup(v->scheme);
	if (out->username == NULL || out->scheme == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < v->groups->n; i++)
		if (strv_add(&out->groups, v->groups->v[i]) < 0)
			return ERR_NOMEM;
	return 0;
}

/* Every account of f, or only username's (ERR_NOT_FOUND without it). */
static int list_of(const struct ocpasswd *f, const char *username, struct account_list **ret,
		   struct err_info *ei)
{
	struct account_list *l = calloc(1, sizeof(*l));
	size_t n = username ? 1 : ocpasswd_count(f);
	struct ocpasswd_account v;

	if (username != NULL && !ocpasswd_find(f, username, &v)) {
		free(l);
		return err_set(ei, ERR_NOT_FOUND, "no such account");
	}
	if (l == NULL || (n > 0 && (l->v = calloc(n, sizeof(*l->v))) == NULL))
		goto nomem;
	for (; l->n < n; l->n++) {
		if (username == NULL)
			ocpasswd_at(f, l->n, &v);
		if (account_copy(&v, &l->v[l->n]) < 0) {
			l->n++;
			goto nomem;
		}
	}
	*ret = l;
	return 0;
nomem:
	account_list_free(l);
	return err_set(ei, ERR_NOMEM, "out of memory");
}

int accounts_list(const struct accounts *a, struct account_list **ret, struct err_info *ei)
{
	struct ocpasswd *f;
	int r = load(a->path, &f, ei);

	if (r == 0) {
		r = list_of(f, NULL, ret, ei);
		ocpasswd_free(f);
	}
	return r;
}

int accounts_get(const struct accounts *a, const char *username, struct account_list **ret,
		 struct err_info *ei)
{
	struct ocpasswd *f;
	int r = load(a->path, &f, ei);

	if (r == 0) {
		r = list_of(f, username, ret, ei);
		ocpasswd_free(f);
	}
	return r;
}

int accounts_export(const struct accounts *a, char **text, size_t *len, struct err_info *ei)
{
	return read_file(a->path, text, len, ei);
}

/* --- put / patch ------------------------------------------------------ */

struct set_args {
	const char *username;
	const char *hash; /* NULL: keep */
	const struct strv *groups;
	bool must_exist, created, want;
	struct account_list *list; /* the account after the edit, when want */
};

static int set_edit(struct ocpasswd *f, void *arg, struct err_info *ei)
{
	struct set_args *s = arg;
	struct ocpasswd_account v;
	int r;

	if (s->must_exist && !ocpasswd_find(f, s->username, &v))
		return err_set(ei, ERR_NOT_FOUND, "no such account");
	r = ocpasswd_set(f, s->username, s->hash, s->groups, false, &s->created);
	if (r == ERR_BAD_REQUEST)
		return err_set(ei, r,
			       "the account's line would be longer than ocserv reads "
			       "(510 bytes): too many groups");
	if (r < 0)
		return err_set(ei, r, "out of memory");
	if (s->want && (r = list_of(f, s->username, &s->list, ei)) < 0)
		return r;
	return s->hash == NULL && s->groups == NULL ? UNCHANGED : 0;
}

static int check_input(const char *username, const char *password, const struct strv *groups,
		       struct err_info *ei)
{
	const char *why = ocpasswd_check_name(username);

	for (size_t i = 0; why == NULL && groups != NULL && i < groups->n; i++)
		why = ocpasswd_check_group(groups->v[i]);
	if (why == NULL && password != NULL)
		why = ocpasswd_check_password(password);
	return why ? err_set(ei, ERR_BAD_REQUEST, "%s", why) : 0;
}

/* Validate, hash and wipe the password (always), then write under the
 * locks: hashing (yescrypt: ~25 ms) never holds them. */
static int set_account(const struct accounts *a, struct set_args *s, char *password,
		       struct err_info *ei)
{
	char hash[OCPASSWD_HASH_MAX + 1];
	int r = check_input(s->username, password, s->groups, ei);

	if (r == 0 && password != NULL) {
		r = ocpasswd_hash(password, a->scheme, hash, sizeof(hash), ei);
		s->hash = hash;
	}
	if (password != NULL)
		explicit_bzero(password, strlen(password));
	if (r == 0)
		r = transact(a, set_edit, s, ei);
	explicit_bzero(hash, sizeof(hash));
	return r;
}

/* The account an edit listed goes to the caller only when all went well. */
static int hand_over(int r, struct account_list *list, struct account_list **ret)
{
	if (r == 0 && ret != NULL)
		*ret = list;
	else
		account_list_free(list);
	return r;
}

int accounts_put(const struct accounts *a, const char *username, char *password,
		 const struct strv *groups, bool *created, struct account_list **ret,
		 struct err_info *ei)
{
	static const struct strv none;
	struct set_args s = {
		.username = username, .groups = groups ? groups : &none, .want = ret != NULL};
	int r;

	if (password == NULL)
		return err_set(ei, ERR_BAD_REQUEST, "password must not be empty");
	r = set_account(a, &s, password, ei);
	if (r == 0 && created != NULL)
		*created = s.created;
	return hand_over(r, s.list, ret);
}

int accounts_patch(const struct accounts *a, const char *username, char *password,
		   const struct strv *groups, struct account_list **ret, struct err_info *ei)
{
	struct set_args s = {
		.username = username, .groups = groups, .must_exist = true, .want = ret != NULL};

	int r = set_account(a, &s, password, ei);

	return hand_over(r, s.list, ret);
}

/* --- delete / lock ---------------------------------------------------- */

static int delete_edit(struct ocpasswd *f, void *arg, struct err_info *ei)
{
	int r = ocpasswd_delete(f, arg);

	return r == ERR_NOT_FOUND ? err_set(ei, r, "no such account") : r;
}

int accounts_delete(const struct accounts *a, const char *username, struct err_info *ei)
{
	return transact(a, delete_edit, (void *)username, ei);
}

struct lock_args {
	const char *username;
	bool lock, want;
	struct account_list *list;
};

static int lock_edit(struct ocpasswd *f, void *arg, struct err_info *ei)
{
	struct lock_args *l = arg;
	bool changed = false;
	int r = l->lock ? ocpasswd_lock(f, l->username, &changed)
			: ocpasswd_unlock(f, l->username, &changed);

	if (r == ERR_NOT_FOUND)
		return err_set(ei, r, "no such account");
	if (r == ERR_CONFLICT && !l->lock)
		return err_set(ei, r, "the account has no password: set one instead of unlocking");
	if (r == ERR_CONFLICT)
		return err_set(ei, r,
			       "the account's line is longer than ocserv reads: set a "
			       "password instead of locking");
	if (r < 0)
		return err_set(ei, r, "out of memory");
	if (l->want && (r = list_of(f, l->username, &l->list, ei)) < 0)
		return r;
	return changed ? 0 : UNCHANGED;
}

int accounts_lock(const struct accounts *a, const char *username, bool lock,
		  struct account_list **ret, struct err_info *ei)
{
	struct lock_args l = {.username = username, .lock = lock, .want = ret != NULL};

	int r = transact(a, lock_edit, &l, ei);

	return hand_over(r, l.list, ret);
}

/* --- import ----------------------------------------------------------- */

struct import_args {
	const struct ocpasswd *in;
	bool replace, dry_run, changed;
	struct import_report *report;
};

static int import_note(void *ctx, const char *username, enum ocpasswd_change change)
{
	static const enum import_action action[] = {
		[OCPASSWD_ADDED] = IMPORT_ADD,
		[OCPASSWD_UPDATED] = IMPORT_UPDATE,
		[OCPASSWD_DELETED] = IMPORT_DELETE,
		[OCPASSWD_UNCHANGED] = IMPORT_UNCHANGED,
	};
	struct import_args *ia = ctx;
	struct import_report *r = ia->report;
	struct import_change *v;

	if (r->n % 64 == 0) {
		v = realloc(r->v, (r->n + 64) * sizeof(*v));
		if (v == NULL)
			return ERR_NOMEM;
		r->v = v;
	}
	r->v[r->n].username = strdup(username);
	if (r->v[r->n].username == NULL)
		return ERR_NOMEM;
	r->v[r->n++].action = action[change];
	ia->changed |= change != OCPASSWD_UNCHANGED;
	return 0;
}

static int import_edit(struct ocpasswd *f, void *arg, struct err_info *ei)
{
	struct import_args *ia = arg;
	int r = ocpasswd_import(f, ia->in, ia->replace, import_note, ia);

	if (r < 0)
		return err_set(ei, r,
			       r == ERR_NOMEM ? "out of memory" : "an imported line is too long");
	return ia->dry_run || !ia->changed ? UNCHANGED : 0;
}

int accounts_import(const struct accounts *a, const char *text, size_t len, bool replace,
		    bool dry_run, struct import_report *report, struct err_info *ei)
{
	struct import_args ia = {.replace = replace, .dry_run = dry_run, .report = report};
	struct ocpasswd *in = NULL;
	int r;

	*report = (struct import_report){0};
	r = ocpasswd_parse(text, len, &in, ei);
	if (r == 0 && ocpasswd_long_line(in) != 0)
		r = err_set(ei, ERR_BAD_REQUEST,
			    "imported line %zu is longer than ocserv reads at once (510 bytes)",
			    ocpasswd_long_line(in));
	if (r == 0)
		r = ocpasswd_import_check(in, &report->skipped, ei);
	ia.in = in;
	if (r == 0)
		r = transact(a, import_edit, &ia, ei);
	if (r < 0)
		import_report_free(report);
	ocpasswd_free(in);
	return r;
}
