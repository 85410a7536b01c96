/* accounts.h: the password file on disk — every operation, crash safety at
 * each step of the write, the PATH.tmp lock shared with ocserv's ocpasswd,
 * threads and processes editing one file, owner/mode/permissions, and
 * files that the real /usr/bin/ocpasswd and we read back identically. */
#include <crypt.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "accounts.h"
#include "err.h"
#include "ocpasswd.h"
#include "unit.h"

#define OCPASSWD_BIN "/usr/bin/ocpasswd"

struct fixture {
	char dir[64], path[128], tmp[140];
	struct accounts a;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || unit_mkdtemp(fx->dir, sizeof(fx->dir), "oa-accounts") == NULL)
		return -1;
	/* Reachable by the unprivileged uid of the permission tests. */
	chmod(fx->dir, 0755);
	snprintf(fx->path, sizeof(fx->path), "%s/ocpasswd", fx->dir);
	snprintf(fx->tmp, sizeof(fx->tmp), "%s.tmp", fx->path);
	fx->a = (struct accounts){.path = fx->path, .scheme = OCPASSWD_SHA512, .lock_wait_ms = 100};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	unit_rmtree(fx->dir);
	free(fx);
	return 0;
}

static void write_text(const struct fixture *fx, const char *text)
{
	assert_int_equal(unit_write_file(fx->path, text, strlen(text), 0600), 0);
}

static char *file_text(const char *path)
{
	char *s = unit_read_file(path, NULL);

	assert_non_null(s);
	return s;
}

static void assert_file(const struct fixture *fx, const char *want)
{
	char *s = file_text(fx->path);

	assert_string_equal(s, want);
	free(s);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static ino_t inode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static bool all_zero(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != 0)
			return false;
	return true;
}

static bool verify(const char *password, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	bool ok;

	assert_non_null(cd);
	out = crypt_r(password, hash, cd);
	ok = out != NULL && strcmp(out, hash) == 0;
	free(cd);
	return ok;
}

/* The hash field of username's line in the file (first line only). */
static char *hash_in_file(const struct fixture *fx, const char *username)
{
	char *text = file_text(fx->path), *line = text, *out = NULL;
	size_t n = strlen(username);

	while (line != NULL && *line != '\0') {
		char *end = strchr(line, '\n'), *c2;
		if (end != NULL)
			*end = '\0';
		if (strncmp(line, username, n) == 0 && line[n] == ':' &&
		    (c2 = strchr(line + n + 1, ':')) != NULL) {
			out = strdup(c2 + 1);
			break;
		}
		line = end ? end + 1 : NULL;
	}
	free(text);
	assert_non_null(out);
	return out;
}

static struct strv groups_of(const char *a, const char *b)
{
	struct strv g = {0};

	if (a != NULL)
		assert_int_equal(strv_add(&g, a), 0);
	if (b != NULL)
		assert_int_equal(strv_add(&g, b), 0);
	return g;
}

static int put(const struct accounts *a, const char *user, const char *password,
	       struct err_info *ei)
{
	char pw[OCPASSWD_PASSWORD_MAX + 2];

	snprintf(pw, sizeof(pw), "%s", password);
	return accounts_put(a, user, pw, NULL, NULL, NULL, ei);
}

static void test_missing_file(void **state)
{
	struct fixture *fx = *state;
	struct account_list *l = NULL;
	struct err_info ei;
	char *text = NULL;
	size_t len = 1;

	assert_int_equal(accounts_list(&fx->a, &l, &ei), 0);
	assert_int_equal(l->n, 0);
	account_list_free(l);
	assert_int_equal(accounts_get(&fx->a, "alice", &l, &ei), ERR_NOT_FOUND);
	assert_string_equal(ei.detail, "no such account");
	assert_int_equal(accounts_export(&fx->a, &text, &len, &ei), 0);
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);
	assert_int_equal(accounts_delete(&fx->a, "alice", &ei), ERR_NOT_FOUND);
	assert_int_equal(accounts_lock(&fx->a, "alice", true, NULL, &ei), ERR_NOT_FOUND);
	assert_false(exists(fx->path));
	assert_false(exists(fx->tmp));
}

static void test_put_get_list(void **state)
{
	struct fixture *fx = *state;
	struct strv g = groups_of("g1", "g2");
	struct account_list *l = NULL;
	struct err_info ei;
	char pw[32] = "correct horse";
	bool created = false;
	struct stat st;
	char *hash;

	assert_int_equal(accounts_put(&fx->a, "alice", pw, &g, &created, &l, &ei), 0);
	assert_true(created);
	/* The caller's buffer is wiped once hashed. */
	assert_true(all_zero(pw, sizeof(pw)));
	assert_int_equal(l->n, 1);
	assert_string_equal(l->v[0].username, "alice");
	assert_int_equal(l->v[0].groups.n, 2);
	assert_string_equal(l->v[0].groups.v[1], "g2");
	assert_false(l->v[0].locked);
	assert_string_equal(l->v[0].scheme, "sha512");
	account_list_free(l);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_false(exists(fx->tmp));
	hash = hash_in_file(fx, "alice");
	assert_true(verify("correct horse", hash));
	assert_false(verify("correct horsf", hash));
	free(hash);

	strcpy(pw, "battery staple");
	assert_int_equal(accounts_put(&fx->a, "alice", pw, NULL, &created, NULL, &ei), 0);
	assert_false(created);
	hash = hash_in_file(fx, "alice");
	assert_true(verify("battery staple", hash));
	free(hash);
	assert_int_equal(put(&fx->a, "bob", "pw", &ei), 0);

	assert_int_equal(accounts_get(&fx->a, "alice", &l, &ei), 0);
	assert_int_equal(l->n, 1);
	/* PUT replaces the groups: none given, none kept. */
	assert_int_equal(l->v[0].groups.n, 0);
	account_list_free(l);
	assert_int_equal(accounts_list(&fx->a, &l, &ei), 0);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[0].username, "alice");
	assert_string_equal(l->v[1].username, "bob");
	account_list_free(l);
	strv_free(&g);
}

static void test_put_refused(void **state)
{
	struct fixture *fx = *state;
	struct strv bad = groups_of("ok", "x");
	struct err_info ei;
	char pw[] = "secret", nl[] = "sec\nret", empty[] = "";

	assert_int_equal(accounts_put(&fx->a, "a:b", pw, NULL, NULL, NULL, &ei), ERR_BAD_REQUEST);
	assert_string_equal(ei.detail, "username must not contain ':'");
	/* Wiped even when refused. */
	assert_true(all_zero(pw, sizeof(pw) - 1));
	assert_int_equal(accounts_put(&fx->a, "alice", nl, NULL, NULL, NULL, &ei), ERR_BAD_REQUEST);
	assert_string_equal(ei.detail, "password must not contain a newline");
	assert_true(all_zero(nl, sizeof(nl) - 1));
	assert_int_equal(accounts_put(&fx->a, "alice", empty, NULL, NULL, NULL, &ei),
			 ERR_BAD_REQUEST);
	assert_int_equal(accounts_put(&fx->a, "alice", NULL, NULL, NULL, NULL, &ei),
			 ERR_BAD_REQUEST);
	strcpy(pw, "secret");
	assert_int_equal(accounts_put(&fx->a, "alice", pw, &bad, NULL, NULL, &ei), ERR_BAD_REQUEST);
	assert_non_null(strstr(ei.detail, "group name"));
	assert_true(all_zero(pw, sizeof(pw) - 1));
	assert_false(exists(fx->path));
	assert_false(exists(fx->tmp));
	strv_free(&bad);
}

static void test_patch(void **state)
{
	struct fixture *fx = *state;
	struct strv g = groups_of("staff", NULL);
	struct account_list *l = NULL;
	struct err_info ei;
	char pw[] = "new password";
	char *h1, *h2;
	ino_t ino;

	assert_int_equal(accounts_patch(&fx->a, "alice", pw, NULL, NULL, &ei), ERR_NOT_FOUND);
	assert_true(all_zero(pw, sizeof(pw) - 1));
	assert_false(exists(fx->path));

	assert_int_equal(put(&fx->a, "alice", "old password", &ei), 0);
	h1 = hash_in_file(fx, "alice");
	assert_int_equal(accounts_patch(&fx->a, "alice", NULL, &g, &l, &ei), 0);
	assert_int_equal(l->v[0].groups.n, 1);
	account_list_free(l);
	h2 = hash_in_file(fx, "alice");
	assert_string_equal(h1, h2);
	free(h2);

	/* A locked account keeps its lock through a new password. */
	assert_int_equal(accounts_lock(&fx->a, "alice", true, NULL, &ei), 0);
	strcpy(pw, "new password");
	assert_int_equal(accounts_patch(&fx->a, "alice", pw, NULL, &l, &ei), 0);
	assert_true(l->v[0].locked);
	assert_int_equal(l->v[0].groups.n, 1);
	account_list_free(l);
	h2 = hash_in_file(fx, "alice");
	assert_int_equal(h2[0], '!');
	assert_true(verify("new password", h2 + 1));
	free(h2);

	/* Nothing to change: nothing written. */
	ino = inode(fx->path);
	assert_int_equal(accounts_patch(&fx->a, "alice", NULL, NULL, &l, &ei), 0);
	assert_int_equal(l->n, 1);
	account_list_free(l);
	assert_int_equal(inode(fx->path), ino);
	free(h1);
	strv_free(&g);
}

static void test_lock_delete(void **state)
{
	struct fixture *fx = *state;
	struct account_list *l = NULL;
	struct err_info ei;
	ino_t ino;

	write_text(fx, "# admins\nalice:*:$5$s$h\nbob:g1:$6$s$h\nalice:dup:$6$d$d\n");
	assert_int_equal(accounts_lock(&fx->a, "alice", true, &l, &ei), 0);
	assert_true(l->v[0].locked);
	account_list_free(l);
	assert_file(fx, "# admins\nalice:*:!$5$s$h\nbob:g1:$6$s$h\nalice:dup:!$6$d$d\n");
	/* Locking again changes nothing, and writes nothing. */
	ino = inode(fx->path);
	assert_int_equal(accounts_lock(&fx->a, "alice", true, &l, &ei), 0);
	assert_true(l->v[0].locked);
	account_list_free(l);
	assert_int_equal(inode(fx->path), ino);
	assert_int_equal(accounts_lock(&fx->a, "alice", false, NULL, &ei), 0);
	assert_file(fx, "# admins\nalice:*:$5$s$h\nbob:g1:$6$s$h\nalice:dup:$6$d$d\n");
	assert_int_equal(accounts_delete(&fx->a, "alice", &ei), 0);
	assert_file(fx, "# admins\nbob:g1:$6$s$h\n");
	assert_int_equal(accounts_delete(&fx->a, "alice", &ei), ERR_NOT_FOUND);
	assert_int_equal(accounts_get(&fx->a, "alice", &l, &ei), ERR_NOT_FOUND);

	/* "!" alone unlocked would log in without a password. */
	write_text(fx, "dave:*:!\n");
	l = NULL;
	assert_int_equal(accounts_lock(&fx->a, "dave", false, &l, &ei), ERR_CONFLICT);
	assert_null(l);
	assert_non_null(strstr(ei.detail, "no password"));
	assert_file(fx, "dave:*:!\n");
	assert_false(exists(fx->tmp));
}

static void test_yescrypt(void **state)
{
	struct fixture *fx = *state;
	struct account_list *l = NULL;
	struct err_info ei;
	char pw[] = "pässwörd";
	char *hash;

	fx->a.scheme = OCPASSWD_YESCRYPT;
	assert_int_equal(accounts_put(&fx->a, "alice", pw, NULL, NULL, &l, &ei), 0);
	assert_string_equal(l->v[0].scheme, "yescrypt");
	account_list_free(l);
	hash = hash_in_file(fx, "alice");
	assert_memory_equal(hash, "$y$", 3);
	assert_true(verify("pässwörd", hash));
	assert_false(verify("passwort", hash));
	free(hash);
}

static void test_export(void **state)
{
	struct fixture *fx = *state;
	static const char text[] = "# c\r\nalice:*:$6$a$b\nodd line";
	struct err_info ei;
	char *out = NULL;
	size_t len = 0;

	write_text(fx, text);
	assert_int_equal(accounts_export(&fx->a, &out, &len, &ei), 0);
	assert_int_equal(len, sizeof(text) - 1);
	assert_memory_equal(out, text, len);
	free(out);
}

static void report_is(const struct import_report *r, const char *want)
{
	static const char *const c[] = {"+", "~", "-", "="};
	char got[512] = "";

	for (size_t i = 0; i < r->n; i++) {
		strcat(got, c[r->v[i].action]);
		strcat(got, r->v[i].username);
		strcat(got, " ");
	}
	assert_string_equal(got, want);
}

static void test_import(void **state)
{
	struct fixture *fx = *state;
	static const char file[] = "# keep me\nalice:*:$6$a$a\nbob:g1:$6$b$b\ncarol:*:$6$c$c\n";
	static const char text[] = "# exported\nalice:*:$6$a$a\nbob:g2:!$6$b$b\n"
				   "dave:vpn:$y$j9T$d$d\n\n";
	struct import_report r;
	struct err_info ei;
	ino_t ino;

	write_text(fx, file);
	ino = inode(fx->path);
	assert_int_equal(accounts_import(&fx->a, text, strlen(text), true, true, &r, &ei), 0);
	report_is(&r, "=alice ~bob +dave -carol ");
	assert_int_equal(r.skipped, 2);
	import_report_free(&r);
	/* Dry run: nothing written. */
	assert_file(fx, file);
	assert_int_equal(inode(fx->path), ino);

	assert_int_equal(accounts_import(&fx->a, text, strlen(text), false, false, &r, &ei), 0);
	report_is(&r, "=alice ~bob +dave ");
	import_report_free(&r);
	assert_file(fx, "# keep me\nalice:*:$6$a$a\nbob:g2:!$6$b$b\ncarol:*:$6$c$c\n"
			"dave:vpn:$y$j9T$d$d\n");
	assert_int_equal(accounts_import(&fx->a, text, strlen(text), true, false, &r, &ei), 0);
	report_is(&r, "=alice =bob =dave -carol ");
	import_report_free(&r);
	assert_file(fx, "# keep me\nalice:*:$6$a$a\nbob:g2:!$6$b$b\ndave:vpn:$y$j9T$d$d\n");

	/* Same again: nothing changes, nothing is written. */
	ino = inode(fx->path);
	assert_int_equal(accounts_import(&fx->a, text, strlen(text), true, false, &r, &ei), 0);
	report_is(&r, "=alice =bob =dave ");
	import_report_free(&r);
	assert_int_equal(inode(fx->path), ino);

	/* A bad line: refused by number, nothing written. */
	static const char bad[] = "erin:*:$6$e$e\nfrank:*:\n";
	assert_int_equal(accounts_import(&fx->a, bad, strlen(bad), false, false, &r, &ei),
			 ERR_BAD_REQUEST);
	assert_string_equal(ei.detail, "line 2: the password hash is empty");
	assert_int_equal(r.n, 0);
	import_report_free(&r);
	assert_int_equal(inode(fx->path), ino);
	assert_false(exists(fx->tmp));
}

/* --- crash safety ----------------------------------------------------- */

static enum atomic_step fail_at;

static int fail_step(enum atomic_step step)
{
	return step == fail_at ? EIO : 0;
}

static void test_crash_safety(void **state)
{
	struct fixture *fx = *state;
	static const char before[] = "# c\nalice:*:$6$a$a\nbob:*:$6$b$b";
	struct err_info ei;

	static const char renamed_prefix[] = "# c\nbob:*:!$6$b$b\ncarol:*:$6$";
	char *text;

	fx->a.inject = fail_step;
	for (fail_at = ATOMIC_STEP_WRITE; fail_at <= ATOMIC_STEP_FSYNC_DIR; fail_at++) {
		bool renamed = fail_at == ATOMIC_STEP_FSYNC_DIR;
		write_text(fx, before);
		assert_int_equal(put(&fx->a, "carol", "pw", &ei), ERR_INTERNAL);
		assert_false(exists(fx->tmp));
		if (!renamed)
			assert_file(fx, before);
		assert_int_equal(accounts_lock(&fx->a, "bob", true, NULL, &ei), ERR_INTERNAL);
		assert_int_equal(accounts_delete(&fx->a, "alice", &ei), ERR_INTERNAL);
		assert_false(exists(fx->tmp));
		if (!renamed) {
			assert_file(fx, before);
		} else {
			/* Renamed, only the directory's fsync failed: the new
			 * file is in place, and the error says so. */
			text = file_text(fx->path);
			assert_memory_equal(text, renamed_prefix, strlen(renamed_prefix));
			free(text);
		}
		/* A file that did not exist stays missing. */
		unlink(fx->path);
		assert_int_equal(put(&fx->a, "carol", "pw", &ei), ERR_INTERNAL);
		assert_int_equal(exists(fx->path), renamed);
		assert_false(exists(fx->tmp));
	}
}

/* --- the PATH.tmp lock ------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *remove_later(void *arg)
{
	usleep(150000);
	unlink(arg);
	return NULL;
}

static void test_locked(void **state)
{
	struct fixture *fx = *state;
	static const char before[] = "alice:*:$6$a$a\n";
	struct err_info ei;
	char pw[] = "secret";
	pthread_t th;
	int64_t t0;

	write_text(fx, before);
	/* Another program (ocpasswd) is writing: its PATH.tmp is there. */
	assert_int_equal(unit_write_file(fx->tmp, "partial", 7, 0600), 0);
	fx->a.lock_wait_ms = 200;
	t0 = now_ms();
	assert_int_equal(accounts_put(&fx->a, "bob", pw, NULL, NULL, NULL, &ei), ERR_LOCKED);
	assert_true(now_ms() - t0 >= 200);
	assert_true(all_zero(pw, sizeof(pw) - 1));
	assert_int_equal(accounts_lock(&fx->a, "alice", true, NULL, &ei), ERR_LOCKED);
	assert_int_equal(accounts_delete(&fx->a, "alice", &ei), ERR_LOCKED);
	assert_file(fx, before);
	/* Not ours: left alone. */
	assert_true(exists(fx->tmp));
	/* Reads do not wait for writers. */
	struct account_list *l = NULL;
	assert_int_equal(accounts_list(&fx->a, &l, &ei), 0);
	account_list_free(l);

	/* The other program finishes within our wait: we go ahead. */
	fx->a.lock_wait_ms = 5000;
	assert_int_equal(pthread_create(&th, NULL, remove_later, fx->tmp), 0);
	assert_int_equal(accounts_lock(&fx->a, "alice", true, NULL, &ei), 0);
	pthread_join(th, NULL);
	assert_file(fx, "alice:*:!$6$a$a\n");
	assert_false(exists(fx->tmp));
}

/* --- concurrency ------------------------------------------------------ */

#define N_WORKERS 6
#define N_EACH	  5

struct worker {
	const struct accounts *a;
	int id, failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct err_info ei;
	char user[32];

	for (int k = 0; k < N_EACH; k++) {
		snprintf(user, sizeof(user), "w%d-%d", w->id, k);
		w->failures += put(w->a, user, user, &ei) != 0;
		w->failures += accounts_lock(w->a, user, true, NULL, &ei) != 0;
	}
	return NULL;
}

static void assert_all_workers_present(const struct fixture *fx, const char *prefix_line)
{
	struct account_list *l = NULL;
	struct err_info ei;
	char user[32], *text;

	assert_int_equal(accounts_list(&fx->a, &l, &ei), 0);
	assert_int_equal(l->n, N_WORKERS * N_EACH + 1);
	for (int id = 0; id < N_WORKERS; id++) {
		for (int k = 0; k < N_EACH; k++) {
			struct account_list *one = NULL;
			snprintf(user, sizeof(user), "w%d-%d", id, k);
			assert_int_equal(accounts_get(&fx->a, user, &one, &ei), 0);
			assert_true(one->v[0].locked);
			account_list_free(one);
		}
	}
	account_list_free(l);
	text = file_text(fx->path);
	assert_memory_equal(text, prefix_line, strlen(prefix_line));
	free(text);
	assert_false(exists(fx->tmp));
}

static void test_threads(void **state)
{
	struct fixture *fx = *state;
	struct worker w[N_WORKERS];
	pthread_t th[N_WORKERS];

	write_text(fx, "# shared\nroot-admin:*:$6$r$r\n");
	fx->a.lock_wait_ms = 30000;
	for (int i = 0; i < N_WORKERS; i++) {
		w[i] = (struct worker){.a = &fx->a, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < N_WORKERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	assert_all_workers_present(fx, "# shared\nroot-admin:*:$6$r$r\n");
}

/* Processes share no mutex: only PATH.tmp keeps them apart. */
static void test_processes(void **state)
{
	struct fixture *fx = *state;
	pid_t pid[N_WORKERS];

	write_text(fx, "# shared\nroot-admin:*:$6$r$r\n");
	fx->a.lock_wait_ms = 30000;
	for (int i = 0; i < N_WORKERS; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			struct worker w = {.a = &fx->a, .id = i};
			worker_run(&w);
			_exit(w.failures == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < N_WORKERS; i++) {
		int status = -1;
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_all_workers_present(fx, "# shared\nroot-admin:*:$6$r$r\n");
}

/* --- owner, mode, permissions, links ---------------------------------- */

static void test_owner_and_mode_kept(void **state)
{
	struct fixture *fx = *state;
	bool root = geteuid() == 0;
	struct err_info ei;
	struct stat st;

	write_text(fx, "alice:*:$6$a$a\n");
	assert_int_equal(chmod(fx->path, 0640), 0);
	if (root)
		assert_int_equal(chown(fx->path, 65534, 65534), 0);
	assert_int_equal(put(&fx->a, "bob", "pw", &ei), 0);
	assert_int_equal(accounts_lock(&fx->a, "alice", true, NULL, &ei), 0);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	if (root) {
		assert_int_equal(st.st_uid, 65534);
		assert_int_equal(st.st_gid, 65534);
	}
}

/* In a child as uid/gid 65534: each operation's result, one byte each. */
static void as_nobody(const struct fixture *fx, int results[4])
{
	int fd[2];
	pid_t pid;
	signed char r[4];

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct account_list *l = NULL;
		struct err_info ei;
		char *text = NULL;
		size_t len;
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		r[0] = (signed char)accounts_list(&fx->a, &l, &ei);
		r[1] = (signed char)accounts_export(&fx->a, &text, &len, &ei);
		r[2] = (signed char)put(&fx->a, "bob", "pw", &ei);
		r[3] = (signed char)accounts_lock(&fx->a, "alice", true, NULL, &ei);
		_exit(write(fd[1], r, 4) == 4 ? 0 : 3);
	}
	close(fd[1]);
	assert_int_equal(read(fd[0], r, 4), 4);
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < 4; i++)
		results[i] = r[i];
}

static void test_permission(void **state)
{
	struct fixture *fx = *state;
	static const char before[] = "alice:*:$6$a$a\n";
	struct account_list *l = NULL;
	struct err_info ei;
	int r[4];

	write_text(fx, before);
	if (geteuid() != 0) {
		/* Unprivileged already: an unreadable file is enough. */
		assert_int_equal(chmod(fx->path, 0), 0);
		assert_int_equal(accounts_list(&fx->a, &l, &ei), ERR_PERMISSION);
		assert_int_equal(put(&fx->a, "bob", "pw", &ei), ERR_PERMISSION);
		assert_false(exists(fx->tmp));
		return;
	}
	/* Root's file (0600) in root's directory (0755). */
	as_nobody(fx, r);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r[i], ERR_PERMISSION);
	/* A writable directory, an unreadable file: the lock is taken, the
	 * read refused, the lock given back. */
	assert_int_equal(chmod(fx->dir, 01777), 0);
	as_nobody(fx, r);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r[i], ERR_PERMISSION);
	assert_false(exists(fx->tmp));
	assert_file(fx, before);
}

/* A line ocserv reads in pieces may hide an account in its rest: no
 * write may shift those pieces. */
static void test_long_line_refused(void **state)
{
	struct fixture *fx = *state;
	struct import_report rep;
	struct err_info ei;
	char text[700], imp[700];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "zz:*:$6$salt$");
	memset(text + n, 'h', 510 - n);
	snprintf(text + 510, sizeof(text) - 510, "ab:*:\nab:*:$6$good$goodhash\n");
	write_text(fx, text);
	assert_int_equal(put(&fx->a, "carol", "pw", &ei), ERR_CONFLICT);
	assert_non_null(strstr(ei.detail, "line 1"));
	assert_int_equal(accounts_lock(&fx->a, "zz", true, NULL, &ei), ERR_CONFLICT);
	assert_int_equal(accounts_delete(&fx->a, "ab", &ei), ERR_CONFLICT);
	assert_file(fx, text);
	/* Nor may an import bring such a line. */
	write_text(fx, "alice:*:$6$a$a\n");
	memcpy(imp, text, sizeof(imp));
	assert_int_equal(accounts_import(&fx->a, imp, strlen(imp), false, false, &rep, &ei),
			 ERR_BAD_REQUEST);
	assert_file(fx, "alice:*:$6$a$a\n");
}

static void test_symlink_refused(void **state)
{
	struct fixture *fx = *state;
	struct account_list *l = NULL;
	struct err_info ei;
	char target[160];

	snprintf(target, sizeof(target), "%s/real", fx->dir);
	assert_int_equal(unit_write_str(target, "alice:*:$6$a$a\n"), 0);
	assert_int_equal(symlink(target, fx->path), 0);
	assert_int_equal(accounts_list(&fx->a, &l, &ei), ERR_INTERNAL);
	assert_non_null(strstr(ei.detail, "symbolic link"));
	/* A writer refuses it before taking the lock: 409, nothing left behind. */
	assert_int_equal(accounts_lock(&fx->a, "alice", true, NULL, &ei), ERR_CONFLICT);
	assert_false(exists(fx->tmp));
	/* A FIFO in its place: refused at once, never opened blocking. */
	unlink(fx->path);
	assert_int_equal(mkfifo(fx->path, 0600), 0);
	assert_int_equal(accounts_lock(&fx->a, "alice", true, NULL, &ei), ERR_CONFLICT);
	assert_int_equal(put(&fx->a, "carol", "pw", &ei), ERR_CONFLICT);
	assert_false(exists(fx->tmp));
	unlink(fx->path);
	char *t = file_text(target);
	assert_string_equal(t, "alice:*:$6$a$a\n");
	free(t);
}

/* --- the real ocpasswd ------------------------------------------------ */

static bool have_ocpasswd(void)
{
	return access(OCPASSWD_BIN, X_OK) == 0;
}

/* Run ocpasswd -c path [args...] with stdin_text on its stdin; its exit
 * status. Empty environment, output discarded. */
static int ocpasswd_run(const char *path, const char *stdin_text, const char *a1, const char *a2,
			const char *a3)
{
	const char *argv[] = {OCPASSWD_BIN, "-c", path, a1, a2, a3, NULL};
	char *const envp[] = {NULL};
	int fd[2], status = -1;
	pid_t pid;

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(fd[0], 0);
		dup2(null, 1);
		dup2(null, 2);
		close(fd[1]);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	close(fd[0]);
	if (stdin_text != NULL)
		assert_int_equal(write(fd[1], stdin_text, strlen(stdin_text)),
				 (ssize_t)strlen(stdin_text));
	close(fd[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_ocpasswd_reads_ours(void **state)
{
	struct fixture *fx = *state;
	struct strv g = groups_of("staff", "vpn");
	struct account_list *l = NULL;
	struct err_info ei;
	char pw[] = "pw", *ours, *theirs, *hash;

	if (!have_ocpasswd())
		skip();
	assert_int_equal(accounts_put(&fx->a, "alice", pw, &g, NULL, NULL, &ei), 0);
	assert_int_equal(put(&fx->a, "bob", "pw", &ei), 0);
	ours = file_text(fx->path);
	/* ocpasswd rewrites every line it reads: ours come back unchanged. */
	assert_int_equal(ocpasswd_run(fx->path, NULL, "-l", "nobody", NULL), 0);
	theirs = file_text(fx->path);
	assert_string_equal(ours, theirs);
	free(theirs);

	assert_int_equal(ocpasswd_run(fx->path, NULL, "-l", "alice", NULL), 0);
	assert_int_equal(accounts_get(&fx->a, "alice", &l, &ei), 0);
	assert_true(l->v[0].locked);
	assert_int_equal(l->v[0].groups.n, 2);
	account_list_free(l);
	assert_int_equal(ocpasswd_run(fx->path, NULL, "-u", "alice", NULL), 0);
	theirs = file_text(fx->path);
	assert_string_equal(ours, theirs);
	free(theirs);
	assert_int_equal(ocpasswd_run(fx->path, NULL, "-d", "bob", NULL), 0);
	assert_int_equal(accounts_list(&fx->a, &l, &ei), 0);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->v[0].username, "alice");
	account_list_free(l);

	/* Theirs, read by us: sha256 ($5$) on Debian's 1.1.6, "*" or -g's group. */
	assert_int_equal(ocpasswd_run(fx->path, "their pw\n", "-g", "ops", "carol"), 0);
	assert_int_equal(ocpasswd_run(fx->path, "pw\n", "dave", NULL, NULL), 0);
	assert_int_equal(accounts_get(&fx->a, "carol", &l, &ei), 0);
	assert_int_equal(l->v[0].groups.n, 1);
	assert_string_equal(l->v[0].groups.v[0], "ops");
	assert_false(l->v[0].locked);
	account_list_free(l);
	assert_int_equal(accounts_get(&fx->a, "dave", &l, &ei), 0);
	assert_int_equal(l->v[0].groups.n, 0);
	account_list_free(l);
	hash = hash_in_file(fx, "carol");
	assert_true(verify("their pw", hash));
	free(hash);
	free(ours);
	strv_free(&g);
}

/* The same lock, unlock and delete by both tools give the same bytes. */
static void test_same_edits_as_ocpasswd(void **state)
{
	struct fixture *fx = *state;
	static const char file[] = "# comment: with a colon\n"
				   "alice:*:$5$x$y\n"
				   "bob:g1,g2:!$6$a$b\r\n"
				   "alice:dup:$6$c$d\n"
				   "erin:*:!!$6$e$e\n"
				   "carol:*:$1$e$f";
	static const char *const users[] = {"alice", "bob", "carol", "erin"};
	static const char *const ops[] = {"-l", "-u", "-d"};
	char theirs_path[160];
	struct err_info ei;

	if (!have_ocpasswd())
		skip();
	snprintf(theirs_path, sizeof(theirs_path), "%s/theirs", fx->dir);
	for (size_t u = 0; u < 4; u++) {
		for (size_t o = 0; o < 3; o++) {
			char *ours, *theirs;
			write_text(fx, file);
			assert_int_equal(unit_write_file(theirs_path, file, strlen(file), 0600), 0);
			assert_int_equal(ocpasswd_run(theirs_path, NULL, ops[o], users[u], NULL),
					 0);
			if (o == 2)
				assert_int_equal(accounts_delete(&fx->a, users[u], &ei), 0);
			else
				assert_int_equal(accounts_lock(&fx->a, users[u], o == 0, NULL, &ei),
						 0);
			ours = file_text(fx->path);
			theirs = file_text(theirs_path);
			if (strcmp(ours, theirs) != 0)
				fail_msg("ocpasswd %s %s:\n%s\nvs ours:\n%s", ops[o], users[u],
					 theirs, ours);
			free(ours);
			free(theirs);
		}
	}
}

static char inside_path[160];
static int ocpasswd_during;

/* Called inside our transaction, PATH.tmp held: ocpasswd must back off. */
static int run_ocpasswd_inside(enum atomic_step step)
{
	if (step == ATOMIC_STEP_WRITE)
		ocpasswd_during = ocpasswd_run(inside_path, NULL, "-l", "alice", NULL);
	return 0;
}

static void test_ocpasswd_respects_our_lock(void **state)
{
	struct fixture *fx = *state;
	struct account_list *l = NULL;
	struct err_info ei;

	if (!have_ocpasswd())
		skip();
	write_text(fx, "alice:*:$6$a$a\n");
	snprintf(inside_path, sizeof(inside_path), "%s", fx->path);
	fx->a.inject = run_ocpasswd_inside;
	ocpasswd_during = -1;
	assert_int_equal(put(&fx->a, "bob", "pw", &ei), 0);
	/* "file '...' is locked.": exit 1, nothing done. */
	assert_int_equal(ocpasswd_during, 1);
	assert_int_equal(accounts_get(&fx->a, "alice", &l, &ei), 0);
	assert_false(l->v[0].locked);
	account_list_free(l);
	assert_int_equal(accounts_get(&fx->a, "bob", &l, &ei), 0);
	account_list_free(l);
	assert_false(exists(fx->tmp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_missing_file),
		T(test_long_line_refused),
		T(test_put_get_list),
		T(test_put_refused),
		T(test_patch),
		T(test_lock_delete),
		T(test_yescrypt),
		T(test_export),
		T(test_import),
		T(test_crash_safety),
		T(test_locked),
		T(test_threads),
		T(test_processes),
		T(test_owner_and_mode_kept),
		T(test_permission),
		T(test_symlink_refused),
		T(test_ocpasswd_reads_ours),
		T(test_same_edits_as_ocpasswd),
		T(test_ocpasswd_respects_our_lock),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
