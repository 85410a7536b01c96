/* subprocess.h: spawn_run's outcomes, isolation and cleanup. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "err.h"
#include "subprocess.h"
#include "timefmt.h"
#include "unit.h"

#define SH "/bin/sh"

static struct spawn_result run(char *const argv[], unsigned timeout_ms, size_t max_out)
{
	struct spawn_result res;
	struct err_info ei = {{0}};
	int r = spawn_run(argv, timeout_ms, max_out, &res, &ei);

	if (r != 0)
		fail_msg("spawn_run(%s) failed: %d %s", argv[0], r, ei.detail);
	if (res.outcome != SPAWN_NOT_FOUND) { /* nothing ran, so there may be no output buffer */
		assert_non_null(res.out);
		assert_int_equal(res.out[res.out_len], '\0');
	}
	return res;
}

/* No child of ours is left, running or zombie. */
static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_echo(void **state)
{
	char *argv[] = {"/bin/echo", "hello", "world", NULL};
	struct spawn_result res = run(argv, 2000, 1024);

	(void)state;
	assert_int_equal(res.outcome, SPAWN_EXITED);
	assert_int_equal(res.exit_status, 0);
	assert_int_equal(res.out_len, 12);
	assert_string_equal(res.out, "hello world\n");
	assert_string_equal(res.err, "");
	spawn_result_free(&res);
	assert_null(res.out);
	spawn_result_free(NULL);
	assert_no_children();
}

static void test_exit_codes(void **state)
{
	char *f[] = {"/bin/false", NULL};
	char *t[] = {"/bin/true", NULL};
	char *c[] = {SH, "-c", "exit 42", NULL};
	struct spawn_result res;

	(void)state;
	res = run(f, 2000, 1024);
	assert_int_equal(res.outcome, SPAWN_EXITED);
	assert_int_equal(res.exit_status, 1);
	assert_int_equal(res.out_len, 0);
	assert_string_equal(res.out, "");
	spawn_result_free(&res);
	res = run(t, 2000, 1024);
	assert_int_equal(res.exit_status, 0);
	spawn_result_free(&res);
	res = run(c, 2000, 1024);
	assert_int_equal(res.outcome, SPAWN_EXITED);
	assert_int_equal(res.exit_status, 42);
	spawn_result_free(&res);
	assert_no_children();
}

static void test_killed_by_signal(void **state)
{
	char *argv[] = {SH, "-c", "kill -TERM $$; sleep 2", NULL};
	struct spawn_result res = run(argv, 5000, 1024);

	(void)state;
	assert_int_equal(res.outcome, SPAWN_EXITED);
	assert_int_equal(res.exit_status, 128 + SIGTERM);
	spawn_result_free(&res);
}

/* Read a "SigXxx:\t<hex>" line of /proc/<child>/status as printed by grep. */
static unsigned long long sig_field(const char *status, const char *name)
{
	const char *p = strstr(status, name);

	if (p == NULL)
		fail_msg("%s missing in '%s'", name, status);
	return strtoull(p + strlen(name), NULL, 16);
}

/* The daemon blocks signals in its threads and ignores SIGPIPE: the child
 * must start with an empty mask and SIGPIPE at its default (signals it
 * inherits blocked or ignored would survive exec). */
static void test_clean_signal_state(void **state)
{
	char *argv[] = {SH, "-c", "kill -TERM $$; exit 0", NULL};
	char *grep[] = {"/bin/grep", "^Sig", "/proc/self/status", NULL};
	sigset_t set, old;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
	struct spawn_result res;

	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);
	res = run(argv, 5000, 1024);
	assert_int_equal(res.exit_status, 128 + SIGTERM);
	spawn_result_free(&res);
	res = run(grep, 5000, 4096);
	assert_int_equal(res.exit_status, 0);
	assert_int_equal(sig_field(res.out, "SigBlk:"), 0);
	assert_int_equal(sig_field(res.out, "SigIgn:") & (1ull << (SIGPIPE - 1)), 0);
	spawn_result_free(&res);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	sigaction(SIGPIPE, &old_pipe, NULL);
}

static void test_stderr_capture(void **state)
{
	char *argv[] = {SH, "-c", "echo out; echo 'error: oops' >&2; exit 3", NULL};
	char *big[] = {SH, "-c",
		       "i=0; while [ $i -lt 300 ]; do printf 'eeeeeeeeee' >&2; i=$((i+1)); done; "
		       "echo done",
		       NULL};
	struct spawn_result res;

	(void)state;
	res = run(argv, 2000, 1024);
	assert_int_equal(res.outcome, SPAWN_EXITED);
	assert_int_equal(res.exit_status, 3);
	assert_string_equal(res.out, "out\n");
	assert_string_equal(res.err, "error: oops\n");
	spawn_result_free(&res);
	/* 3000 bytes of stderr: the first 1023 are kept, the run still completes. */
	res = run(big, 5000, 1024);
	assert_int_equal(res.outcome, SPAWN_EXITED);
	assert_int_equal(res.exit_status, 0);
	assert_int_equal(strlen(res.err), sizeof(res.err) - 1);
	assert_int_equal(strspn(res.err, "e"), sizeof(res.err) - 1);
	assert_string_equal(res.out, "done\n");
	spawn_result_free(&res);
}

static void test_binary_output(void **state)
{
	char *argv[] = {"/usr/bin/printf", "a\\000b\\000", NULL};
	struct spawn_result res = run(argv, 2000, 1024);

	(void)state;
	assert_int_equal(res.out_len, 4);
	assert_memory_equal(res.out, "a\0b\0", 4);
	spawn_result_free(&res);
}

static void test_not_found(void **state)
{
	char tmpdir[64], path[128];
	char *missing[] = {"/nonexistent/occtl", NULL};
	char *noexec[] = {path, NULL};
	char *dir[] = {"/tmp", NULL};
	struct spawn_result res;

	(void)state;
	res = run(missing, 2000, 1024);
	assert_int_equal(res.outcome, SPAWN_NOT_FOUND);
	spawn_result_free(&res);

	/* A file without any execute bit cannot be run, not even by root. */
	assert_non_null(unit_mkdtemp(tmpdir, sizeof(tmpdir), "spawntest"));
	unit_join(path, sizeof(path), tmpdir, "not-executable");
	assert_int_equal(unit_write_str(path, "#!/bin/sh\necho hi\n"), 0);
	res = run(noexec, 2000, 1024);
	assert_int_equal(res.outcome, SPAWN_NOT_FOUND);
	assert_int_equal(res.out_len, 0);
	assert_true(res.out == NULL || res.out[0] == '\0');
	spawn_result_free(&res);
	unit_rmtree(tmpdir);

	res = run(dir, 2000, 1024);
	assert_int_equal(res.outcome, SPAWN_NOT_FOUND);
	spawn_result_free(&res);
	assert_no_children();
}

static void test_timeout(void **state)
{
	char *argv[] = {"/bin/sleep", "5", NULL};
	int64_t t0 = timefmt_mono_ms(), dt;
	struct spawn_result res = run(argv, 200, 1024);

	(void)state;
	dt = timefmt_mono_ms() - t0;
	assert_int_equal(res.outcome, SPAWN_TIMED_OUT);
	/* SIGTERM first: sudo relays it to the root command it runs. */
	assert_int_equal(res.exit_status, 128 + SIGTERM);
	if (dt < 190 || dt > 1500)
		fail_msg("timed out after %lld ms, want about 200", (long long)dt);
	spawn_result_free(&res);
	assert_no_children();
}

/* A child that ignores SIGTERM is killed after the grace. */
static void test_timeout_sigterm_ignored(void **state)
{
	char *argv[] = {SH, "-c", "trap '' TERM; sleep 5", NULL};
	int64_t t0 = timefmt_mono_ms(), dt;
	struct spawn_result res = run(argv, 200, 1024);

	(void)state;
	dt = timefmt_mono_ms() - t0;
	assert_int_equal(res.outcome, SPAWN_TIMED_OUT);
	assert_int_equal(res.exit_status, 128 + SIGKILL);
	if (dt < 650 || dt > 2000)
		fail_msg("killed after %lld ms, want about 200 + 500", (long long)dt);
	spawn_result_free(&res);
	assert_no_children();
}

/* A child that exits but whose output pipe stays open would otherwise hang
 * the caller: the deadline still applies. */
static void test_timeout_silent_child_keeps_output(void **state)
{
	char *argv[] = {SH, "-c", "echo partial; sleep 5", NULL};
	int64_t t0 = timefmt_mono_ms();
	struct spawn_result res = run(argv, 300, 1024);

	(void)state;
	assert_int_equal(res.outcome, SPAWN_TIMED_OUT);
	assert_true(timefmt_mono_ms() - t0 < 1500);
	assert_string_equal(res.out, "partial\n");
	spawn_result_free(&res);
	assert_no_children();
}

static bool process_gone(pid_t pid)
{
	char path[64], *stat;
	bool gone;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	/* Reparented to an init that has not reaped it yet: a zombie is dead. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = unit_read_file(path, NULL);
	if (stat == NULL)
		return true;
	char *rp = strrchr(stat, ')');
	gone = rp != NULL && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
	free(stat);
	return gone;
}

static void test_timeout_kills_process_group(void **state)
{
	char *argv[] = {SH, "-c", "sleep 30 & echo $!; sleep 30", NULL};
	int64_t t0 = timefmt_mono_ms();
	struct spawn_result res = run(argv, 300, 1024);
	pid_t grandchild;
	bool gone = false;

	(void)state;
	assert_int_equal(res.outcome, SPAWN_TIMED_OUT);
	assert_true(timefmt_mono_ms() - t0 < 1500);
	grandchild = (pid_t)atoi(res.out);
	if (grandchild <= 1)
		fail_msg("no grandchild pid in output '%s'", res.out);
	spawn_result_free(&res);
	for (int i = 0; i < 200 && !gone; i++) {
		gone = process_gone(grandchild);
		if (!gone)
			usleep(10 * 1000);
	}
	if (!gone) {
		kill(grandchild, SIGKILL);
		fail_msg("grandchild %d survived the timeout", (int)grandchild);
	}
	assert_no_children();
}

static void test_output_cap(void **state)
{
	char *argv[] = {"/usr/bin/yes", NULL};
	char *exact[] = {"/usr/bin/head", "-c", "1000", "/dev/zero", NULL};
	char *over[] = {"/usr/bin/head", "-c", "1001", "/dev/zero", NULL};
	int64_t t0 = timefmt_mono_ms();
	struct spawn_result res = run(argv, 10000, 1024 * 1024);

	(void)state;
	assert_int_equal(res.outcome, SPAWN_OUTPUT_TOO_LARGE);
	assert_true(res.out_len <= 1024 * 1024);
	assert_true(timefmt_mono_ms() - t0 < 5000);
	spawn_result_free(&res);
	assert_no_children();

	res = run(exact, 2000, 1000);
	assert_int_equal(res.outcome, SPAWN_EXITED);
	assert_int_equal(res.out_len, 1000);
	spawn_result_free(&res);
	res = run(over, 2000, 1000);
	assert_int_equal(res.outcome, SPAWN_OUTPUT_TOO_LARGE);
	spawn_result_free(&res);
	assert_no_children();
}

static void test_environment(void **state)
{
	char *argv[] = {"/usr/bin/env", NULL};
	struct spawn_result res;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "must-not-leak", 1);
	setenv("HOME", "/root-should-not-be-seen", 1);
	res = run(argv, 2000, 4096);
	assert_int_equal(res.exit_status, 0);
	assert_string_equal(res.out, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLC_ALL=C\n");
	spawn_result_free(&res);
	unsetenv("AGENT_AUTH_TOKEN_CURRENT");
}

static void test_stdin_is_dev_null(void **state)
{
	char *argv[] = {"/bin/cat", NULL};
	char *link[] = {"/usr/bin/readlink", "/proc/self/fd/0", NULL};
	struct spawn_result res;
	int saved = dup(0), p[2];

	(void)state;
	/* Our own stdin becomes a pipe that never ends: a child that inherited
	 * it would block in cat, and readlink would name the pipe. */
	assert_true(saved >= 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], 0), 0);
	res = run(argv, 1000, 1024);
	assert_int_equal(res.outcome, SPAWN_EXITED);
	assert_int_equal(res.out_len, 0);
	spawn_result_free(&res);
	res = run(link, 2000, 1024);
	assert_string_equal(res.out, "/dev/null\n");
	spawn_result_free(&res);
	dup2(saved, 0);
	close(saved);
	close(p[0]);
	close(p[1]);
}

static void test_no_inherited_fds(void **state)
{
	char *argv[] = {"/bin/ls", "/proc/self/fd", NULL};
	int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
	int high = dup2(fd, 77);
	struct spawn_result res;
	char *line, *save = NULL;
	int n = 0;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(high, 77);
	res = run(argv, 2000, 4096);
	assert_int_equal(res.exit_status, 0);
	/* 0, 1, 2 and the directory ls itself opened to list /proc/self/fd. */
	for (line = strtok_r(res.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int v = atoi(line);
		if (v > 3 || strcmp(line, "77") == 0 || (v == fd && fd != 3))
			fail_msg("descriptor %s was inherited", line);
		n++;
	}
	assert_true(n >= 3 && n <= 4);
	spawn_result_free(&res);
	close(fd);
	close(high);
}

static void test_own_process_group(void **state)
{
	/* The redirect is opened by sh itself, so this is sh's own stat line:
	 * pid (comm) state ppid pgrp ... */
	char *argv[] = {SH, "-c",
			"read pid comm st ppid pgid rest < /proc/self/stat; echo $pgid $$", NULL};
	struct spawn_result res;
	int pgid = 0, pid = 0;

	(void)state;
	res = run(argv, 2000, 1024);
	assert_int_equal(sscanf(res.out, "%d %d", &pgid, &pid), 2);
	assert_int_equal(pgid, pid);
	assert_int_not_equal(pgid, getpgrp());
	spawn_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_killed_by_signal),
		cmocka_unit_test(test_clean_signal_state),
		cmocka_unit_test(test_stderr_capture),
		cmocka_unit_test(test_binary_output),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_sigterm_ignored),
		cmocka_unit_test(test_timeout_silent_child_keeps_output),
		cmocka_unit_test(test_timeout_kills_process_group),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_stdin_is_dev_null),
		cmocka_unit_test(test_no_inherited_fds),
		cmocka_unit_test(test_own_process_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
