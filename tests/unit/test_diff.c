/* diff.h: unified diffs equal to GNU diff -u's for the same texts
 * (/usr/bin/diff run on them), accepted by GNU patch (which must give b
 * back), shortest, and bounded beyond DIFF_MAX_EDITS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "diff.h"
#include "subprocess.h"
#include "unit.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return unit_mkdtemp(tmpdir, sizeof(tmpdir), "difftest") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

static char *mine(const char *a, size_t alen, const char *b, size_t blen, size_t *len)
{
	char *d = diff_unified(a, alen, b, blen, "a", "b", len);

	assert_non_null(d);
	assert_int_equal(strlen(d), *len); /* the test texts hold no NUL */
	return d;
}

/* Run argv (no shell), its stdout malloc'd into *out; returns its exit
 * status. */
static int run(const char *const *argv, char **out, size_t *out_len)
{
	struct spawn_result res;
	struct err_info ei = {{0}};

	if (spawn_run((char *const *)argv, 10000, 1 << 24, &res, &ei) != 0)
		fail_msg("spawn %s: %s", argv[0], ei.detail);
	assert_int_equal(res.outcome, SPAWN_EXITED);
	*out = res.out;
	*out_len = res.out_len;
	return res.exit_status;
}

static void write_tmp(const char *name, const char *text, size_t len, char *path, size_t size)
{
	unit_join(path, size, tmpdir, name);
	assert_int_equal(unit_write_file(path, text, len, 0600), 0);
}

/* GNU diff -u of a to b, labels "a" and "b" (no time stamps). */
static char *gnu_diff(const char *a, size_t alen, const char *b, size_t blen, size_t *len)
{
	char pa[256], pb[256], *out;
	const char *argv[] = {"/usr/bin/diff", "-u", "--label", "a", "--label", "b", pa, pb, NULL};
	int st;

	write_tmp("a", a, alen, pa, sizeof(pa));
	write_tmp("b", b, blen, pb, sizeof(pb));
	st = run(argv, &out, len);
	assert_true(st == 0 || st == 1);
	return out;
}

/* GNU patch applied to a with diff must give b. */
static void assert_patch_gives(const char *a, size_t alen, const char *diff, size_t dlen,
			       const char *b, size_t blen)
{
	char pa[256], pd[256], po[256], *out, *res;
	const char *argv[] = {"/usr/bin/patch", "-s", "-o", po, pa, pd, NULL};
	size_t out_len, rlen = 0;

	write_tmp("a", a, alen, pa, sizeof(pa));
	write_tmp("p.diff", diff, dlen, pd, sizeof(pd));
	unit_join(po, sizeof(po), tmpdir, "out");
	unlink(po);
	if (run(argv, &out, &out_len) != 0)
		fail_msg("patch refused the diff:\n%s\n%s", diff, out);
	free(out);
	res = unit_read_file(po, &rlen);
	assert_non_null(res);
	if (rlen != blen || memcmp(res, b, blen) != 0)
		fail_msg("patch gave:\n%s\nwant:\n%.*s", res, (int)blen, b);
	free(res);
}

/* Our diff equals diff -u's byte for byte, and patch applies it. */
static void check_len(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t len, glen;
	char *d = mine(a, alen, b, blen, &len), *g = gnu_diff(a, alen, b, blen, &glen);

	if (len != glen || memcmp(d, g, len) != 0)
		fail_msg("diff differs from diff -u:\n--- ours ---\n%s--- diff -u ---\n%s", d, g);
	if (len > 0)
		assert_patch_gives(a, alen, d, len, b, blen);
	free(d);
	free(g);
}

static void check(const char *a, const char *b)
{
	check_len(a, strlen(a), b, strlen(b));
}

/* "line 1\n" ... "line n\n" with the lines listed in `change` (0 ends the
 * list) replaced by "changed i\n" and those in `drop` left out. */
static char *numbered(int n, const int *change, const int *drop)
{
	size_t cap = (size_t)n * 24 + 1, len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	for (int i = 1; i <= n; i++) {
		bool ch = false, dr = false;

		for (const int *c = change; c && *c; c++)
			ch = ch || *c == i;
		for (const int *d = drop; d && *d; d++)
			dr = dr || *d == i;
		if (!dr)
			len += (size_t)snprintf(s + len, cap - len, "%s %d\n",
						ch ? "changed" : "line", i);
	}
	return s;
}

static void check_numbered(int n, const int *change, const int *drop)
{
	char *a = numbered(n, NULL, NULL), *b = numbered(n, change, drop);

	check(a, b);
	free(a);
	free(b);
}

static void test_single_change(void **state)
{
	(void)state;
	check("a\nb\nc\n", "a\nX\nc\n");
	check_numbered(20, (int[]){10, 0}, NULL);
}

static void test_insert_at_ends(void **state)
{
	(void)state;
	check("b\nc\nd\ne\nf\n", "a\nb\nc\nd\ne\nf\n");
	check("b\nc\nd\ne\nf\n", "b\nc\nd\ne\nf\ng\nh\n");
	check("b\nc\nd\ne\nf\n", "new\nb\nc\nd\ne\nf\nend\n");
}

static void test_deletions(void **state)
{
	(void)state;
	check_numbered(20, NULL, (int[]){1, 0});
	check_numbered(20, NULL, (int[]){20, 0});
	check_numbered(20, NULL, (int[]){7, 8, 9, 15, 0});
}

static void test_distant_hunks(void **state)
{
	(void)state;
	/* 7 unchanged lines between two changes: two hunks */
	check_numbered(30, (int[]){5, 13, 0}, NULL);
	check_numbered(60, (int[]){2, 30, 58, 0}, NULL);
}

static void test_close_hunks_merge(void **state)
{
	(void)state;
	/* 6 unchanged lines between: the contexts touch, one hunk */
	check_numbered(30, (int[]){5, 12, 0}, NULL);
	check_numbered(30, (int[]){5, 7, 0}, (int[]){9, 0});
}

static void test_no_newline_at_end(void **state)
{
	(void)state;
	check("a\nb\nc", "a\nb\nc\n");
	check("a\nb\nc\n", "a\nb\nc");
	check("a\nb\nc", "a\nb\nd");
	check("a\nb\nc", "a\nx\nc"); /* the last line is context */
	check("x", "");
	check("", "x");
	check_numbered(20, (int[]){3, 0}, NULL);
	{
		char *a = numbered(12, NULL, NULL), *b = numbered(12, (int[]){2, 0}, NULL);

		check_len(a, strlen(a) - 1, b, strlen(b) - 1);
		free(a);
		free(b);
	}
}

static void test_crlf(void **state)
{
	(void)state;
	check("a = 1\r\nb = 2\r\nc = 3\r\n", "a = 1\r\nb = 20\r\nc = 3\r\n");
	check("a = 1\r\nb = 2\r\n", "a = 1\nb = 2\r\n"); /* "\r" is part of the line */
}

static void test_empty_and_identical(void **state)
{
	size_t len = 99;
	char *d;

	(void)state;
	check("", "a\nb\n");
	check("a\nb\n", "");
	d = mine("a\nb\n", 4, "a\nb\n", 4, &len);
	assert_int_equal(len, 0);
	assert_string_equal(d, "");
	free(d);
	d = mine("", 0, "", 0, &len);
	assert_int_equal(len, 0);
	free(d);
	d = mine(NULL, 0, "x\n", 2, &len);
	assert_string_equal(d, "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n");
	free(d);
}

static void test_shifted_runs(void **state)
{
	(void)state;
	/* Where diff -u places a run of equal lines: the blank line of an
	 * inserted paragraph last, a removal beside an addition. */
	check("a\n\nb\n", "a\n\nnew\n\nb\n");
	check("a\nb\n\nc\nd\n", "a\nb\n\nx\ny\n\nc\nd\n");
	check("a\nb\n\nc\nd\n", "a\nb\n\nx\n\ny\n\nc\nd\n");
	check("a\n\nb\n\nc\n", "a\n\nc\n");
	check("b\nc\n", "a\nb\nb\n");
	check("c\na\na\n", "b\nc\na\na\na\n");
	check("a\na\n", "c\na\nb\n");
	check("b\n\nb\n", "b\nb\nb\n");
	check("x\ny\nx\ny\n", "x\ny\n");
	check("a\nb\nc\nd\n", "d\nc\nb\na\n");
}

static void test_debian_configs(void **state)
{
	static const char *const pairs[][2] = {
		{"debian-1.1.6", "debian-1.3.0"},
		{"debian-1.3.0", "debian-1.5.0"},
		{"debian-1.1.6", "debian-1.5.0"},
		{"debian-1.5.0", "debian-1.1.6"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char path[512], *a, *b;
		size_t alen = 0, blen = 0;

		snprintf(path, sizeof(path), "%s/ocserv-conf/%s.conf", FIXTURES_DIR, pairs[i][0]);
		a = unit_read_file(path, &alen);
		snprintf(path, sizeof(path), "%s/ocserv-conf/%s.conf", FIXTURES_DIR, pairs[i][1]);
		b = unit_read_file(path, &blen);
		assert_non_null(a);
		assert_non_null(b);
		check_len(a, alen, b, blen);
		free(a);
		free(b);
	}
}

static size_t count_prefixed(const char *d, char c)
{
	size_t n = 0;

	for (const char *p = d; (p = strchr(p, '\n')) != NULL;)
		n += *++p == c && strncmp(p, c == '-' ? "--- " : "+++ ", 4) != 0;
	return n + (*d == c && strncmp(d, "--- ", 4) != 0);
}

/* 3000 lines, every other one changed: 3000 edits, beyond the bound. The
 * diff removes and re-adds the whole middle (all but the common first
 * line) and patch still gives b. */
static void test_beyond_max_edits(void **state)
{
	int change[1501];
	char *a, *b, *d;
	size_t len;

	(void)state;
	for (int i = 0; i < 1500; i++)
		change[i] = 2 * i + 2;
	change[1500] = 0;
	a = numbered(3000, NULL, NULL);
	b = numbered(3000, change, NULL);
	d = mine(a, strlen(a), b, strlen(b), &len);
	assert_int_equal(count_prefixed(d, '-'), 2999);
	assert_int_equal(count_prefixed(d, '+'), 2999);
	assert_patch_gives(a, strlen(a), d, len, b, strlen(b));
	free(d);
	free(a);
	free(b);
}

/* 1000 changed lines: 2000 edits, still the shortest diff, diff -u's. */
static void test_at_max_edits(void **state)
{
	int change[1001];

	(void)state;
	for (int i = 0; i < 1000; i++)
		change[i] = 3 * i + 2;
	change[1000] = 0;
	check_numbered(3000, change, NULL);
}

/* Length of a longest common subsequence of lines, by dynamic
 * programming: the number of lines a shortest diff removes is |a| - it. */
static size_t lcs(char **a, size_t n, char **b, size_t m)
{
	size_t *row = calloc((n + 1) * (m + 1), sizeof(*row)), r;

	assert_non_null(row);
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			size_t up = row[(i - 1) * (m + 1) + j], left = row[i * (m + 1) + j - 1];

			row[i * (m + 1) + j] = strcmp(a[i - 1], b[j - 1]) == 0
						       ? row[(i - 1) * (m + 1) + j - 1] + 1
						       : (up > left ? up : left);
		}
	r = row[n * (m + 1) + m];
	free(row);
	return r;
}

static void random_lines(unsigned *seed, char **v, size_t n, char *text)
{
	static char *const alphabet[] = {"a\n", "b\n", "c\n", "\n", "d\n"};

	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		v[i] = alphabet[rand_r(seed) % 5];
		strcat(text, v[i]);
	}
}

/* Random texts over few distinct lines (many equally short scripts):
 * the diff removes exactly |a| - LCS lines and adds |b| - LCS. */
static void test_shortest(void **state)
{
	unsigned seed = 6;

	(void)state;
	for (int it = 0; it < 2000; it++) {
		char *va[40], *vb[40], ta[100], tb[100], *d;
		size_t n = (size_t)rand_r(&seed) % 40, m = (size_t)rand_r(&seed) % 40, len, l;

		random_lines(&seed, va, n, ta);
		random_lines(&seed, vb, m, tb);
		l = lcs(va, n, vb, m);
		d = mine(ta, strlen(ta), tb, strlen(tb), &len);
		if (count_prefixed(d, '-') != n - l || count_prefixed(d, '+') != m - l)
			fail_msg("not a shortest diff of\n%s--\n%s--\n%s", ta, tb, d);
		free(d);
	}
}

static void test_labels(void **state)
{
	size_t len;
	char *d = diff_unified("x\n", 2, "y\n", 2, "/etc/ocserv/ocserv.conf (current)",
			       "/etc/ocserv/ocserv.conf (new)", &len);

	(void)state;
	assert_non_null(d);
	assert_string_equal(d, "--- /etc/ocserv/ocserv.conf (current)\n"
			       "+++ /etc/ocserv/ocserv.conf (new)\n"
			       "@@ -1 +1 @@\n-x\n+y\n");
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_single_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_at_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deletions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_distant_hunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_hunks_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_newline_at_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shifted_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debian_configs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_beyond_max_edits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_at_max_edits, setup, teardown),
		cmocka_unit_test(test_shortest),
		cmocka_unit_test(test_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
