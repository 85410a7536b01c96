/* privsep_drop() and sandbox_apply() in a forked child, as root: what the
 * api process can and cannot do afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/landlock.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "privsep.h"
#include "sandbox.h"

/* "Key:\tvalue" of /proc/self/status, or "" */
static void status_field(const char *key, char *out, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	out[0] = '\0';
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':') {
			snprintf(out, len, "%s", line + strlen(key) + 1);
			out[strcspn(out, "\n")] = '\0';
			memmove(out, out + strspn(out, " \t"),
				strlen(out + strspn(out, " \t")) + 1);
		}
	if (f != NULL)
		fclose(f);
}

static void *thread_fn(void *arg)
{
	return arg;
}

#define CHECK(cond)                                                    \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr, "child: failed: %s\n", #cond); \
			failures++;                                    \
		}                                                      \
	} while (0)

/* Runs in the child; the exit code is the number of failed checks. */
static int child(pid_t parent, bool seccomp, const char *writable, const char *other)
{
	struct privsep_user u = {0};
	struct err_info ei = {{0}};
	char v[128];
	int failures = 0, fd;
	pthread_t t;

	/* opened as root, as the agent does: the path may not be walkable after */
	int writable_fd = writable ? open(writable, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;

	if (privsep_lookup("nobody", &u, &ei) < 0 || privsep_drop(&u, parent, &ei) < 0) {
		fprintf(stderr, "child: %s\n", ei.detail);
		return 100;
	}
	if (writable != NULL && sandbox_restrict_writes(writable_fd, &ei) < 0) {
		fprintf(stderr, "child: %s\n", ei.detail);
		return 102;
	}
	if (seccomp && sandbox_apply(&ei) < 0) {
		fprintf(stderr, "child: %s\n", ei.detail);
		return 101;
	}
	CHECK(getuid() == u.uid && geteuid() == u.uid && getgid() == u.gid);
	CHECK(setuid(0) < 0);
	status_field("CapEff", v, sizeof(v));
	CHECK(strcmp(v, "0000000000000000") == 0);
	status_field("CapPrm", v, sizeof(v));
	CHECK(strcmp(v, "0000000000000000") == 0);
	status_field("CapBnd", v, sizeof(v));
	CHECK(strcmp(v, "0000000000000000") == 0);
	status_field("CapAmb", v, sizeof(v));
	CHECK(strcmp(v, "0000000000000000") == 0);
	status_field("NoNewPrivs", v, sizeof(v));
	CHECK(strcmp(v, "1") == 0);
	status_field("Seccomp", v, sizeof(v));
	CHECK(strcmp(v, seccomp ? "2" : "0") == 0);
	/* What the api process needs keeps working. */
	CHECK(pthread_create(&t, NULL, thread_fn, NULL) == 0 && pthread_join(t, NULL) == 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	close(fd);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	close(fd);
	if (writable != NULL) {
		char path[4200], to[4200];

		/* its own directory: create, write, rename over, remove */
		snprintf(path, sizeof(path), "%s/f.tmp", writable);
		snprintf(to, sizeof(to), "%s/f", writable);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		CHECK(fd >= 0 && write(fd, "x", 1) == 1);
		close(fd);
		CHECK(rename(path, to) == 0);
		CHECK(unlink(to) == 0);
		/* anywhere else: nothing, though its user may write there */
		snprintf(path, sizeof(path), "%s/g", other);
		errno = 0;
		CHECK(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) < 0 && errno == EACCES);
		errno = 0;
		CHECK(mkdir(path, 0700) < 0 && errno == EACCES);
		errno = 0;
		CHECK(execl("/bin/true", "true", (char *)NULL) < 0 && errno == EACCES);
		/* reading is not restricted */
		fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
		CHECK(fd >= 0);
		close(fd);
	}
	if (!seccomp)
		return failures;
	/* What it must not do. */
	errno = 0;
	CHECK(socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EPERM);
	errno = 0;
	CHECK(socket(AF_NETLINK, SOCK_RAW, 0) < 0 && errno == EPERM);
	errno = 0;
	CHECK(execl("/bin/true", "true", (char *)NULL) < 0 && errno == EPERM);
	errno = 0;
	CHECK(kill(getppid(), 0) < 0 && errno == EPERM);
#if !defined(__SANITIZE_ADDRESS__)
	/* (sanitizer builds allow clone and ptrace for LeakSanitizer) */
	errno = 0;
	CHECK(fork() < 0);
	errno = 0;
	CHECK(ptrace(PTRACE_ATTACH, getppid(), 0, 0) < 0 && errno == EPERM);
#endif
	return failures;
}

static void run(bool seccomp, bool landlock)
{
	char mine[] = "/tmp/oa-sandbox-XXXXXX", other[] = "/tmp/oa-sandbox-XXXXXX";
	pid_t parent = getpid(), pid;
	int status;

	if (geteuid() != 0)
		skip();
	if (landlock &&
	    syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) < 1)
		skip(); /* a kernel without Landlock */
	/* both writable by nobody: only Landlock keeps it out of the other */
	assert_non_null(mkdtemp(mine));
	assert_non_null(mkdtemp(other));
	assert_int_equal(chmod(mine, 0777), 0);
	assert_int_equal(chmod(other, 0777), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child(parent, seccomp, landlock ? mine : NULL, other));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	rmdir(mine);
	rmdir(other);
}

static void test_drop_without_filter(void **state)
{
	(void)state;
	run(false, false);
}

static void test_drop_with_filter(void **state)
{
	(void)state;
	run(true, false);
}

static void test_drop_with_landlock(void **state)
{
	(void)state;
	run(false, true);
}

static void test_lookup_refuses(void **state)
{
	struct privsep_user u;
	struct err_info ei = {{0}};

	(void)state;
	assert_int_equal(privsep_lookup("root", &u, &ei), ERR_BAD_REQUEST);
	assert_non_null(strstr(ei.detail, "uid or gid 0"));
	assert_int_equal(privsep_lookup("no-such-user-here", &u, &ei), ERR_BAD_REQUEST);
	assert_non_null(strstr(ei.detail, "does not exist"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_without_filter),
		cmocka_unit_test(test_drop_with_filter),
		cmocka_unit_test(test_drop_with_landlock),
		cmocka_unit_test(test_lookup_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
