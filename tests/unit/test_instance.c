/* instance.h: the UUID v4 instance id kept in AGENT_STATE_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "instance.h"
#include "unit.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return unit_mkdtemp(tmpdir, sizeof(tmpdir), "instancetest") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

static void check_v4(const char *id)
{
	assert_int_equal(strlen(id), 36);
	assert_true(instance_uuid_valid(id));
	assert_int_equal(id[14], '4');		     /* version */
	assert_int_equal(hexval(id[19]) & 0xc, 0x8); /* RFC 4122 variant: 8, 9, a or b */
}

static void test_uuid_v4(void **state)
{
	char a[INSTANCE_ID_LEN], b[INSTANCE_ID_LEN];
	int variants[4] = {0};

	(void)state;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(instance_uuid_v4(a), 0);
		check_v4(a);
		variants[hexval(a[19]) & 3]++;
	}
	/* The variant's free bits are random too (each has p = 1/4 over 200 tries). */
	for (int i = 0; i < 4; i++)
		assert_true(variants[i] > 0);
	assert_int_equal(instance_uuid_v4(b), 0);
	assert_string_not_equal(a, b);
}

static void test_uuid_valid(void **state)
{
	static const char *bad[] = {
		"",
		"0123456789abcdef0123456789abcdef",	 /* no dashes */
		"01234567-89ab-cdef-0123-456789abcde",	 /* short */
		"01234567-89ab-cdef-0123-456789abcdef0", /* long */
		"01234567-89AB-cdef-0123-456789abcdef",	 /* upper case */
		"01234567-89ab-cdef-0123_456789abcdef",
		"0123456-789ab-cdef-0123-456789abcdef", /* dash misplaced */
		"01234567-89ab-cdef-0123-456789abcdeg",
		"{1234567-89ab-cdef-0123-456789abcdef}",
		" 1234567-89ab-cdef-0123-456789abcdef",
	};

	(void)state;
	assert_true(instance_uuid_valid("01234567-89ab-cdef-0123-456789abcdef"));
	assert_true(instance_uuid_valid("00000000-0000-4000-8000-000000000000"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (instance_uuid_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
}

static void id_file(char *buf, size_t len, const char *dir)
{
	unit_join(buf, len, dir, "instance-id");
}

static void test_load_creates_and_keeps(void **state)
{
	char dir[128], file[160], a[INSTANCE_ID_LEN], b[INSTANCE_ID_LEN], *text;
	struct err_info ei = {{0}};
	bool persisted = false;
	struct stat st;

	(void)state;
	unit_join(dir, sizeof(dir), tmpdir, "state"); /* does not exist yet */
	assert_int_equal(instance_id_load(dir, a, &persisted, &ei), 0);
	assert_true(persisted);
	check_v4(a);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	id_file(file, sizeof(file), dir);
	text = unit_read_file(file, NULL);
	assert_non_null(text);
	assert_int_equal(strncmp(text, a, 36), 0);
	assert_true(text[36] == '\0' || (text[36] == '\n' && text[37] == '\0'));
	free(text);

	/* A restart reads the same id back. */
	persisted = false;
	assert_int_equal(instance_id_load(dir, b, &persisted, &ei), 0);
	assert_true(persisted);
	assert_string_equal(a, b);

	/* No temporary file is left behind. */
	char tmp[200];
	unit_join(tmp, sizeof(tmp), dir, ".instance-id.tmp");
	assert_int_equal(access(tmp, F_OK), -1);
}

static void test_existing_dir_and_file(void **state)
{
	char file[160], id[INSTANCE_ID_LEN];
	struct err_info ei = {{0}};
	bool persisted = false;

	(void)state;
	id_file(file, sizeof(file), tmpdir);
	assert_int_equal(unit_write_str(file, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9\n"), 0);
	assert_int_equal(instance_id_load(tmpdir, id, &persisted, &ei), 0);
	assert_true(persisted);
	assert_string_equal(id, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
	/* Without the trailing newline too. */
	assert_int_equal(unit_write_str(file, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f8"), 0);
	assert_int_equal(instance_id_load(tmpdir, id, &persisted, &ei), 0);
	assert_string_equal(id, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f8");
}

static void test_corrupted_file_replaced(void **state)
{
	static const char *junk[] = {"garbage\n", "", "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9\n",
				     "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9 trailing\n"};
	char file[160], id[INSTANCE_ID_LEN], again[INSTANCE_ID_LEN], *text;
	struct err_info ei = {{0}};
	bool persisted;

	(void)state;
	id_file(file, sizeof(file), tmpdir);
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		assert_int_equal(unit_write_str(file, junk[i]), 0);
		persisted = false;
		ei.detail[0] = '\0';
		assert_int_equal(instance_id_load(tmpdir, id, &persisted, &ei), 0);
		assert_true(persisted);
		assert_non_null(strstr(ei.detail, "replaced")); /* the caller logs it */
		check_v4(id);
		assert_string_not_equal(id, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
		text = unit_read_file(file, NULL);
		assert_int_equal(strncmp(text, id, 36), 0);
		free(text);
		assert_int_equal(instance_id_load(tmpdir, again, &persisted, &ei), 0);
		assert_string_equal(id, again);
	}
}

/* Missing parents are created (mkdir -p); the state directory gets 0750. */
static void test_creates_parents(void **state)
{
	char dir[160], id[INSTANCE_ID_LEN], again[INSTANCE_ID_LEN];
	struct err_info ei = {{0}};
	bool persisted = false;
	struct stat st;

	(void)state;
	unit_join(dir, sizeof(dir), tmpdir, "var/lib/ocserv-agent");
	assert_int_equal(instance_id_load(dir, id, &persisted, &ei), 0);
	assert_true(persisted);
	check_v4(id);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0750);
	assert_int_equal(instance_id_load(dir, again, &persisted, &ei), 0);
	assert_string_equal(id, again);
}

static void test_unusable_dir(void **state)
{
	char plain[160], under_plain[200];
	const char *dirs[] = {"/dev/null/x", "/dev/null", plain, under_plain};
	char id[INSTANCE_ID_LEN], id2[INSTANCE_ID_LEN];
	struct err_info ei;
	bool persisted;

	(void)state;
	/* A regular file where the directory (or one of its parents) should be. */
	unit_join(plain, sizeof(plain), tmpdir, "plainfile");
	assert_int_equal(unit_write_str(plain, "x"), 0);
	unit_join(under_plain, sizeof(under_plain), plain, "state");
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		memset(&ei, 0, sizeof(ei));
		persisted = true;
		assert_int_equal(instance_id_load(dirs[i], id, &persisted, &ei), 0);
		if (persisted)
			fail_msg("%s: reported as persisted", dirs[i]);
		check_v4(id);
		assert_true(strlen(ei.detail) > 0);
		/* A fresh id each time: nothing was kept. */
		assert_int_equal(instance_id_load(dirs[i], id2, &persisted, &ei), 0);
		assert_false(persisted);
		assert_string_not_equal(id, id2);
	}
	/* The plain file was left alone. */
	char *text = unit_read_file(plain, NULL);
	assert_string_equal(text, "x");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_v4),
		cmocka_unit_test(test_uuid_valid),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_load_creates_and_keeps),
		T(test_existing_dir_and_file),
		T(test_corrupted_file_replaced),
		T(test_creates_parents),
		T(test_unusable_dir),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
