/* conf_backup.h: ids, save/list/read round trips, order within a second,
 * pruning, what is never listed or read (foreign names, symbolic links,
 * non-regular files), and failures (permission, a file in the directory's
 * place, a full disk) that leave nothing half-written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "conf_backup.h"
#include "err.h"
#include "unit.h"

#define NOW	   INT64_C(1795000000) /* 2026-11-18 11:06:40 UTC */
#define NOW_ID(s)  "20261118T110640Z-" s
#define NEXT_ID(s) "20261118T110641Z-" s

static char tmpdir[64], dir[128];

static int setup(void **state)
{
	(void)state;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "confbackuptest") == NULL)
		return -1;
	unit_join(dir, sizeof(dir), tmpdir, "backups");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

static void prepare(void)
{
	struct err_info ei = {{0}};

	if (conf_backup_prepare(dir, &ei) != 0)
		fail_msg("prepare %s: %s", dir, ei.detail);
}

static void save(const char *text, int64_t now, unsigned keep, const char *want_id)
{
	struct err_info ei = {{0}};
	char id[CONF_BACKUP_ID_LEN];

	if (conf_backup_save(dir, text, strlen(text), now, keep, id, &ei) != 0)
		fail_msg("save: %s", ei.detail);
	assert_string_equal(id, want_id);
}

static int read_backup(const char *id, size_t max, char **text)
{
	struct err_info ei = {{0}};
	size_t len = 0;
	int r;

	*text = NULL;
	r = conf_backup_read(dir, id, max, text, &len, &ei);
	if (r == 0)
		assert_int_equal(strlen(*text), len);
	else
		assert_null(*text);
	return r;
}

/* The ids listed, newest first, joined by ' '. */
static void assert_listed(const char *want)
{
	struct conf_backup *v = NULL;
	struct err_info ei = {{0}};
	char got[4096] = "";
	size_t n = 99;

	if (conf_backup_list(dir, &v, &n, &ei) != 0)
		fail_msg("list: %s", ei.detail);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(got, " ");
		strcat(got, v[i].id);
	}
	free(v);
	assert_string_equal(got, want);
}

/* The names in the backup directory, sorted, joined by ' '. */
static void assert_dir_holds(const char *want)
{
	struct dirent **names;
	char got[4096] = "";
	int n = scandir(dir, &names, NULL, alphasort);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
			if (got[0] != '\0')
				strcat(got, " ");
			strcat(got, names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
	assert_string_equal(got, want);
}

static void test_check_id(void **state)
{
	static const char *const bad[] = {
		"",
		"../x",
		"20261122T011500Z-001/../../etc",
		"20261122T011500Z-01",
		"20261122T011500Z-0001",
		"20261122T011500Z-001\n",
		"/0261122T011500Z-001",
		"..261122T011500Z-001",
		"20261322T011500Z-001", /* month 13 */
		"20260022T011500Z-001",
		"20260230T011500Z-001", /* 30 February */
		"20230229T011500Z-001", /* not a leap year */
		"21000229T011500Z-001",
		"20261100T011500Z-001",
		"20261131T011500Z-001",
		"20261122T241500Z-001",
		"20261122T016000Z-001",
		"20261122T011560Z-001",
		"20261122T011500Z-000",
		"20261122t011500Z-001",
		"20261122T011500z-001",
		"20261122T011500Z_001",
		"2026112aT011500Z-001",
		"20261122T011500Z-00a",
		"19691231T235959Z-001",
		"+0261122T011500Z-001",
		" 0261122T011500Z-001",
	};

	(void)state;
	assert_null(conf_backup_check_id("20261122T011500Z-001"));
	assert_null(conf_backup_check_id("20240229T235959Z-999"));
	assert_null(conf_backup_check_id("20000229T000000Z-001"));
	assert_null(conf_backup_check_id("19700101T000000Z-001"));
	assert_non_null(conf_backup_check_id(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (conf_backup_check_id(bad[i]) == NULL)
			fail_msg("id \"%s\" accepted", bad[i]);
}

static void test_round_trip(void **state)
{
	const char *text = "# ocserv.conf\nauth = \"plain[passwd=/etc/ocserv/ocpasswd]\"\n";
	struct conf_backup *v = NULL;
	struct err_info ei = {{0}};
	struct stat st;
	char path[256], *got;
	size_t n;

	(void)state;
	unit_join(dir, sizeof(dir), tmpdir, "var/lib/agent/backups");
	prepare();
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	prepare(); /* again: exists */
	save(text, NOW, 20, NOW_ID("001"));
	assert_int_equal(stat(unit_join(path, sizeof(path), dir, NOW_ID("001")), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_dir_holds(NOW_ID("001")); /* no staging or temporary file left */
	assert_int_equal(conf_backup_list(dir, &v, &n, &ei), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, NOW_ID("001"));
	assert_int_equal(v[0].created, NOW);
	assert_int_equal(v[0].size, strlen(text));
	free(v);
	assert_int_equal(read_backup(NOW_ID("001"), 1 << 20, &got), 0);
	assert_string_equal(got, text);
	free(got);
	/* an empty ocserv.conf is a backup too */
	save("", NOW + 1, 20, NEXT_ID("001"));
	assert_int_equal(read_backup(NEXT_ID("001"), 1 << 20, &got), 0);
	assert_string_equal(got, "");
	free(got);
}

static void test_same_second_order(void **state)
{
	char *got;

	(void)state;
	prepare();
	save("one\n", NOW, 20, NOW_ID("001"));
	save("two\n", NOW, 20, NOW_ID("002"));
	save("three\n", NOW, 20, NOW_ID("003"));
	assert_listed(NOW_ID("003") " " NOW_ID("002") " " NOW_ID("001"));
	save("four\n", NOW + 1, 20, NEXT_ID("001"));
	/* the clock went back: the new id still sorts after the others */
	save("five\n", NOW - 10, 20, NEXT_ID("002"));
	assert_listed(NEXT_ID("002") " " NEXT_ID("001") " " NOW_ID("003") " " NOW_ID(
		"002") " " NOW_ID("001"));
	assert_int_equal(read_backup(NOW_ID("002"), 100, &got), 0);
	assert_string_equal(got, "two\n");
	free(got);
	assert_int_equal(read_backup(NEXT_ID("002"), 100, &got), 0);
	assert_string_equal(got, "five\n");
	free(got);
}

/* A name taken by something the agent does not list (here a directory)
 * is skipped, not replaced; after number 999 comes the next second. */
static void test_sequence_limits(void **state)
{
	struct err_info ei = {{0}};
	char path[256], id[CONF_BACKUP_ID_LEN];

	(void)state;
	prepare();
	assert_int_equal(mkdir(unit_join(path, sizeof(path), dir, NOW_ID("001")), 0700), 0);
	save("x\n", NOW, 20, NOW_ID("002"));
	assert_int_equal(unit_write_str(unit_join(path, sizeof(path), dir, NOW_ID("999")), "x\n"),
			 0);
	save("y\n", NOW, 20, NEXT_ID("001"));
	assert_listed(NEXT_ID("001") " " NOW_ID("999") " " NOW_ID("002"));
	assert_dir_holds(NOW_ID("001") " " NOW_ID("002") " " NOW_ID("999") " " NEXT_ID("001"));
	/* every number of a second taken by what is not a backup */
	for (int i = 2; i <= 999; i++) {
		snprintf(id, sizeof(id), "20261118T110642Z-%03d", i);
		assert_int_equal(mkdir(unit_join(path, sizeof(path), dir, id), 0700), 0);
	}
	save("z\n", NOW + 2, 20, "20261118T110642Z-001");
	assert_int_equal(conf_backup_save(dir, "w\n", 2, NOW + 2, 20, id, &ei), ERR_INTERNAL);
	assert_listed("20261118T110642Z-001 " NEXT_ID("001") " " NOW_ID("999") " " NOW_ID("002"));
}

static void test_prune(void **state)
{
	static const char *const foreign[] = {"notes.txt", "20261118T110640Z-001.bak", ".hidden",
					      "20261301T000000Z-001"};
	char path[256];

	(void)state;
	prepare();
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		assert_int_equal(
			unit_write_str(unit_join(path, sizeof(path), dir, foreign[i]), "x"), 0);
	/* an older id that is a link: not a backup, left alone */
	assert_int_equal(symlink("/etc/hostname",
				 unit_join(path, sizeof(path), dir, "20200101T000000Z-001")),
			 0);
	save("1\n", NOW, 3, NOW_ID("001"));
	save("2\n", NOW, 3, NOW_ID("002"));
	save("3\n", NOW, 3, NOW_ID("003"));
	assert_listed(NOW_ID("003") " " NOW_ID("002") " " NOW_ID("001"));
	save("4\n", NOW + 1, 3, NEXT_ID("001"));
	save("5\n", NOW + 1, 3, NEXT_ID("002"));
	assert_listed(NEXT_ID("002") " " NEXT_ID("001") " " NOW_ID("003"));
	assert_dir_holds(".hidden 20200101T000000Z-001 20261118T110640Z-001.bak " NOW_ID(
		"003") " " NEXT_ID("001") " " NEXT_ID("002") " 20261301T000000Z-001 notes.txt");
	/* keep 1 */
	save("6\n", NOW + 1, 1, NEXT_ID("003"));
	assert_listed(NEXT_ID("003"));
	/* numbers freed by pruning are not reused: order stays time order */
	save("7\n", NOW + 1, 1, NEXT_ID("004"));
	assert_listed(NEXT_ID("004"));
}

static void test_invalid_ids_refused(void **state)
{
	char path[256], *got;

	(void)state;
	prepare();
	save("x\n", NOW, 20, NOW_ID("001"));
	/* a file the id would reach if it were used as a path */
	assert_int_equal(unit_write_str(unit_join(path, sizeof(path), tmpdir, "x"), "outside\n"),
			 0);
	assert_int_equal(read_backup("../x", 100, &got), ERR_BAD_REQUEST);
	assert_int_equal(read_backup(NOW_ID("001") "/../../x", 100, &got), ERR_BAD_REQUEST);
	assert_int_equal(read_backup(NOW_ID("001") "/", 100, &got), ERR_BAD_REQUEST);
	assert_int_equal(read_backup("20261318T110640Z-001", 100, &got), ERR_BAD_REQUEST);
	assert_int_equal(read_backup("", 100, &got), ERR_BAD_REQUEST);
	assert_int_equal(read_backup(NULL, 100, &got), ERR_BAD_REQUEST);
	assert_int_equal(read_backup(NOW_ID("002"), 100, &got), ERR_NOT_FOUND);
	assert_int_equal(read_backup(NOW_ID("001"), 100, &got), 0);
	free(got);
}

/* Links and non-regular files under valid ids are neither listed nor read
 * (a FIFO does not block the read). */
static void test_links_and_special_files(void **state)
{
	char path[256], target[256], *got;

	(void)state;
	prepare();
	unit_join(target, sizeof(target), tmpdir, "secret");
	assert_int_equal(unit_write_str(target, "secret\n"), 0);
	assert_int_equal(symlink(target, unit_join(path, sizeof(path), dir, NOW_ID("005"))), 0);
	assert_int_equal(mkfifo(unit_join(path, sizeof(path), dir, NOW_ID("006")), 0600), 0);
	assert_int_equal(mkdir(unit_join(path, sizeof(path), dir, NOW_ID("007")), 0700), 0);
	/* the staging name too */
	assert_int_equal(symlink(target, unit_join(path, sizeof(path), dir, "new-backup")), 0);
	save("real\n", NOW - 100, 20, "20261118T110500Z-001");
	assert_listed("20261118T110500Z-001");
	assert_int_equal(read_backup(NOW_ID("005"), 100, &got), ERR_NOT_FOUND);
	assert_int_equal(read_backup(NOW_ID("006"), 100, &got), ERR_NOT_FOUND);
	assert_int_equal(read_backup(NOW_ID("007"), 100, &got), ERR_NOT_FOUND);
	/* no link is followed by the save either: the target is intact */
	got = unit_read_file(target, NULL);
	assert_string_equal(got, "secret\n");
	free(got);
}

static void test_read_limit(void **state)
{
	char *got;

	(void)state;
	prepare();
	save("0123456789\n", NOW, 20, NOW_ID("001"));
	assert_int_equal(read_backup(NOW_ID("001"), 10, &got), ERR_INTERNAL);
	assert_int_equal(read_backup(NOW_ID("001"), 11, &got), 0);
	free(got);
}

static void test_missing_dir(void **state)
{
	struct conf_backup *v = (struct conf_backup *)1;
	struct err_info ei = {{0}};
	char id[CONF_BACKUP_ID_LEN], *got;
	size_t n = 99;

	(void)state;
	assert_int_equal(conf_backup_list(dir, &v, &n, &ei), 0);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(read_backup(NOW_ID("001"), 100, &got), ERR_NOT_FOUND);
	assert_int_equal(conf_backup_save(dir, "x", 1, NOW, 20, id, &ei), ERR_INTERNAL);
}

/* A file where the directory should be: nothing can be created there. */
static void test_file_in_place_of_dir(void **state)
{
	struct conf_backup *v = NULL;
	struct err_info ei = {{0}};
	char id[CONF_BACKUP_ID_LEN], sub[256], *text;
	size_t n;

	(void)state;
	assert_int_equal(unit_write_str(dir, "not a directory\n"), 0);
	assert_int_equal(conf_backup_prepare(dir, &ei), ERR_INTERNAL);
	assert_int_equal(conf_backup_save(dir, "x", 1, NOW, 20, id, &ei), ERR_INTERNAL);
	assert_int_equal(conf_backup_list(dir, &v, &n, &ei), ERR_INTERNAL);
	unit_join(sub, sizeof(sub), dir, "sub");
	assert_int_equal(conf_backup_prepare(sub, &ei), ERR_INTERNAL);
	text = unit_read_file(dir, NULL);
	assert_string_equal(text, "not a directory\n");
	free(text);
}

/* A full disk: a child whose files may not grow past 100 bytes (SIGXFSZ
 * ignored, so write() fails with EFBIG) saves 4 KiB. ERR_INTERNAL, and the
 * directory holds what it held: no staging, temporary or partial file. */
static void test_full_disk(void **state)
{
	char text[4096], path[256];
	int status;
	pid_t pid;

	(void)state;
	prepare();
	save("old\n", NOW, 20, NOW_ID("001"));
	/* left by a crash between writing and linking: removed as well */
	assert_int_equal(unit_write_str(unit_join(path, sizeof(path), dir, "new-backup"), "old\n"),
			 0);
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\n';
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {100, 100};
		struct err_info ei = {{0}};
		char id[CONF_BACKUP_ID_LEN];

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(2);
		_exit(conf_backup_save(dir, text, sizeof(text), NOW + 5, 1, id, &ei) == ERR_INTERNAL
			      ? 0
			      : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_dir_holds(NOW_ID("001"));
	assert_listed(NOW_ID("001"));
}

/* As a user without rights (nobody, in a child, when the tests run as
 * root): ERR_PERMISSION for a directory it cannot open, a backup it
 * cannot read, a directory it cannot write. */
static void test_permission(void **state)
{
	char path[512], closed[256];
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip(); /* needs a second user */
	assert_int_equal(chmod(tmpdir, 0755), 0);
	prepare();
	assert_int_equal(chmod(dir, 0755), 0);
	save("secret\n", NOW, 20, NOW_ID("001"));
	unit_join(closed, sizeof(closed), tmpdir, "closed");
	assert_int_equal(mkdir(closed, 0700), 0);
	assert_int_equal(unit_write_str(unit_join(path, sizeof(path), closed, NOW_ID("001")), "x"),
			 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct conf_backup *v = NULL;
		struct err_info ei = {{0}};
		char id[CONF_BACKUP_ID_LEN], *text = NULL;
		size_t n = 0, len;
		int fails = 0;

		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(100);
		fails |= (conf_backup_list(dir, &v, &n, &ei) != 0 || n != 1) << 0;
		fails |= (conf_backup_read(dir, NOW_ID("001"), 100, &text, &len, &ei) !=
			  ERR_PERMISSION)
			 << 1;
		fails |= (conf_backup_save(dir, "x", 1, NOW + 1, 20, id, &ei) != ERR_PERMISSION)
			 << 2;
		fails |= (conf_backup_list(closed, &v, &n, &ei) != ERR_PERMISSION) << 3;
		fails |= (conf_backup_read(closed, NOW_ID("001"), 100, &text, &len, &ei) !=
			  ERR_PERMISSION)
			 << 4;
		_exit(fails);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_listed(NOW_ID("001"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_id),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_second_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_ids_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_and_special_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_in_place_of_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permission, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
