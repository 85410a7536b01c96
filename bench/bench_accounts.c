/* Benchmark of account edits on large password files (accounts.h).
 *
 * For files of 10,000 and 100,000 accounts, each in its own child process
 * (so that peak RSS is that size's own), measures medians of several runs:
 *   - baseline: read the whole file, then write it back the safe way
 *     (temporary file, fsync, rename, fsync of the directory): the floor of
 *     any crash-safe edit;
 *   - hashing alone (ocpasswd_hash, $6$), part of every password change;
 *   - set a password (accounts_patch) of a user in the middle of the file;
 *   - lock / unlock that user (accounts_lock, alternately: each one writes);
 *   - list every account (accounts_list), a read-only call;
 * and prints each with its ratio to the baseline, and the child's peak RSS.
 * Nothing is asserted: figures are reported.
 *     bench_accounts [RUNS] [DIR]        (default 15 runs in /var/tmp) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "ocpasswd.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A file of n accounts as ocpasswd and we write them: real $6$ hashes
 * (one, reused: hashing n passwords would take minutes), a third with
 * groups, every seventh locked, a comment on top. */
static int make_file(const char *path, int n)
{
	char hash[OCPASSWD_HASH_MAX + 1];
	struct err_info ei;
	FILE *f;

	if (ocpasswd_hash("benchmark", OCPASSWD_SHA512, hash, sizeof(hash), &ei) < 0)
		return -1;
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "# ocpasswd: %d accounts\n", n);
	for (int i = 0; i < n; i++)
		fprintf(f, "user%06d:%s:%s%s\n", i, i % 3 ? "*" : "staff,vpn", i % 7 ? "" : "!",
			hash);
	return fclose(f);
}

static int write_back(const char *dir, const char *path, const char *buf, size_t len)
{
	char tmp[4200];
	int fd, dfd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return -1;
	return close(dfd);
}

/* The floor: the same bytes read and written back crash-safely. */
static double baseline_once(const char *dir, const char *path)
{
	double t0 = now_ms();
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || (buf = malloc((size_t)st.st_size)) == NULL ||
	    read(fd, buf, (size_t)st.st_size) != st.st_size) {
		perror("baseline read");
		exit(1);
	}
	close(fd);
	if (write_back(dir, path, buf, (size_t)st.st_size) < 0) {
		perror("baseline write");
		exit(1);
	}
	free(buf);
	return now_ms() - t0;
}

struct result {
	double base, hash, set, lock, list;
	long rss_start_kib, rss_kib;
	size_t bytes;
};

static void must(int r, const char *what, const struct err_info *ei)
{
	if (r != 0) {
		fprintf(stderr, "%s: %d %s\n", what, r, ei->detail);
		exit(1);
	}
}

static void measure(const char *dir, int n, int runs, struct result *res)
{
	double *t = calloc((size_t)runs, sizeof(*t));
	char path[4096], user[32], pw[32], hash[OCPASSWD_HASH_MAX + 1];
	struct accounts a = {.path = path, .scheme = OCPASSWD_SHA512, .lock_wait_ms = 2000};
	struct account_list *l;
	struct err_info ei;
	struct stat st;

	res->rss_start_kib = peak_rss_kib();
	snprintf(path, sizeof(path), "%s/ocpasswd-%d", dir, n);
	snprintf(user, sizeof(user), "user%06d", n / 2);
	if (t == NULL || make_file(path, n) < 0 || stat(path, &st) < 0) {
		perror(path);
		exit(1);
	}
	res->bytes = (size_t)st.st_size;
	for (int i = 0; i < runs; i++)
		t[i] = baseline_once(dir, path);
	res->base = median(t, runs);
	for (int i = 0; i < runs; i++) {
		double t0 = now_ms();
		must(ocpasswd_hash("password", OCPASSWD_SHA512, hash, sizeof(hash), &ei), "hash",
		     &ei);
		t[i] = now_ms() - t0;
	}
	res->hash = median(t, runs);
	for (int i = 0; i < runs; i++) {
		double t0 = now_ms();
		snprintf(pw, sizeof(pw), "password %d", i);
		must(accounts_patch(&a, user, pw, NULL, NULL, &ei), "set", &ei);
		t[i] = now_ms() - t0;
	}
	res->set = median(t, runs);
	for (int i = 0; i < runs; i++) {
		double t0 = now_ms();
		must(accounts_lock(&a, user, i % 2 == 0, NULL, &ei), "lock", &ei);
		t[i] = now_ms() - t0;
	}
	res->lock = median(t, runs);
	for (int i = 0; i < runs; i++) {
		double t0 = now_ms();
		must(accounts_list(&a, &l, &ei), "list", &ei);
		t[i] = now_ms() - t0;
		account_list_free(l);
	}
	res->list = median(t, runs);
	res->rss_kib = peak_rss_kib();
	unlink(path);
	free(t);
}

static void report(int n, int runs, const struct result *r)
{
	printf("\n== %d accounts (%.1f MiB), median of %d runs ==\n", n, (double)r->bytes / 1048576,
	       runs);
	printf("baseline read + safe write         %8.2f ms\n", r->base);
	printf("hash only ($6$)                    %8.2f ms\n", r->hash);
	printf("set password (accounts_patch)      %8.2f ms   %5.2f x baseline"
	       "   (%.2f ms without the hash)\n",
	       r->set, r->set / r->base, r->set - r->hash);
	printf("lock/unlock (accounts_lock)        %8.2f ms   %5.2f x baseline\n", r->lock,
	       r->lock / r->base);
	printf("list (accounts_list, read only)    %8.2f ms   %5.2f x baseline\n", r->list,
	       r->list / r->base);
	printf("peak RSS                           %8.2f MiB  (%.2f MiB at start)\n",
	       (double)r->rss_kib / 1024, (double)r->rss_start_kib / 1024);
}

int main(int argc, char **argv)
{
	static const int sizes[] = {10000, 100000};
	int runs = argc > 1 ? atoi(argv[1]) : 15;
	const char *base = argc > 2 ? argv[2] : "/var/tmp";
	char dir[2048];

	if (runs < 1)
		runs = 1;
	snprintf(dir, sizeof(dir), "%s/bench-accounts-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	printf("password file benchmark in %s\n", dir);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct result r;
		int fd[2], status;
		pid_t pid;

		if (pipe(fd) < 0 || (pid = fork()) < 0)
			return 1;
		if (pid == 0) {
			measure(dir, sizes[i], runs, &r);
			_exit(write(fd[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
		}
		close(fd[1]);
		if (read(fd[0], &r, sizeof(r)) != sizeof(r) || waitpid(pid, &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "the %d-account run failed\n", sizes[i]);
			return 1;
		}
		close(fd[0]);
		report(sizes[i], runs, &r);
	}
	rmdir(dir);
	return 0;
}
