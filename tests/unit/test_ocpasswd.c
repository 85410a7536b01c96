/* ocpasswd.h: the password file in memory — parsing as ocserv reads it,
 * byte-exact serialisation, the changes, validators and hashing. */
#include <crypt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "ocpasswd.h"
#include "unit.h"

#define H6                                                                             \
	"$6$abcdefgh$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./" \
	"0123456789abcdefghij"
#define H6B                                                                            \
	"$6$zyxwvuts$Zyxwvutsrqponmlkjihgfedcba9876543210ZYXWVUTSRQPONMLKJIHGFEDCBA./" \
	"9876543210zyxwvuts"

static struct ocpasswd *parse_n(const char *text, size_t len)
{
	struct ocpasswd *f = NULL;
	struct err_info ei;

	assert_int_equal(ocpasswd_parse(text, len, &f, &ei), 0);
	assert_non_null(f);
	return f;
}

static struct ocpasswd *parse(const char *text)
{
	return parse_n(text, strlen(text));
}

/* The serialised file as a string (files here have no NUL bytes). */
static char *text_of(const struct ocpasswd *f)
{
	size_t len;
	char *s = ocpasswd_serialize(f, &len);

	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return s;
}

static void assert_text(const struct ocpasswd *f, const char *want)
{
	char *s = text_of(f);

	assert_string_equal(s, want);
	free(s);
}

static void assert_round_trip(const char *text, size_t len)
{
	struct ocpasswd *f = parse_n(text, len);
	size_t out_len;
	char *out = ocpasswd_serialize(f, &out_len);

	assert_non_null(out);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, text, len);
	free(out);
	ocpasswd_free(f);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
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

static void test_round_trip_odd_files(void **state)
{
	static const struct {
		const char *text;
		size_t len;
	} cases[] = {
#define C(s) {s, sizeof(s) - 1}
		C(""),
		C("\n"),
		C("\n\n\n"),
		C("alice:*:" H6 "\n"),
		C("alice:*:" H6),
		C("alice:*:" H6 "\r\n"),
		C("alice:*:" H6 "\r"),
		C("\r\n\r\n"),
		C("# comment\n\nalice:g1,g2:" H6 "\n  \t\nmalformed\n:::\n::\nx\n"),
		C("alice:*:" H6 "\nalice:dup:" H6B "\nalice:*:\n"),
		C("empty:*:\nlocked:*:!\nbang:*:!!" H6 "\n"),
		C("a:b:c:d:e:f\nu:g\n:x:y\n"),
		C("nul:*:\0after\nz\0\0\0\n\0"),
		C("\xff\xfe:\x80:\xc3\n"),
		C("ab::"),
		C("ab::\n"),
		C("crlf:*:" H6 "\r\nlf:*:" H6B "\nlast:*:x\r"),
#undef C
	};
	char line[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_round_trip(cases[i].text, cases[i].len);

	/* Lines around ocserv's 510-byte limit, and far beyond it. */
	for (size_t n = 505; n <= 515; n++) {
		char *tail = repeat('h', n - 8);
		int len = snprintf(line, sizeof(line), "u:*:$6$%s\nv:*:x\n", tail);
		assert_round_trip(line, (size_t)len);
		free(tail);
	}
	char *big = repeat('x', 200000);
	assert_round_trip(big, 200000);
	big[100000] = '\n';
	memcpy(big, "u:*:", 4);
	assert_round_trip(big, 200000);
	free(big);
}

static void test_round_trip_large(void **state)
{
	size_t cap = 100000 * 140, len = 0;
	char *text = malloc(cap);
	struct ocpasswd *f;
	struct ocpasswd_account a;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < 100000; i++)
		len += (size_t)snprintf(text + len, cap - len, "user%06d:%s:%s\n", i,
					i % 3 ? "*" : "staff,vpn", i % 7 ? H6 : "!" H6B);
	assert_round_trip(text, len);
	f = parse_n(text, len);
	assert_int_equal(ocpasswd_count(f), 100000);
	assert_true(ocpasswd_find(f, "user099999", &a));
	assert_true(ocpasswd_find(f, "user000007", &a));
	assert_true(a.locked);
	assert_false(ocpasswd_find(f, "user100000", &a));
	assert_int_equal(ocpasswd_delete(f, "user050000"), 0);
	assert_int_equal(ocpasswd_count(f), 99999);
	assert_false(ocpasswd_find(f, "user050000", &a));
	assert_true(ocpasswd_find(f, "user050001", &a));
	assert_int_equal(ocpasswd_set(f, "user100000", H6, NULL, false, NULL), 0);
	assert_true(ocpasswd_at(f, 99999, &a));
	assert_string_equal(a.username, "user100000");
	ocpasswd_free(f);
	free(text);
}

/* Which lines are accounts, and what of them we show. */
static void test_accounts_as_ocserv_reads_them(void **state)
{
	const char text[] = "# comment\n"
			    "\n"
			    "alice:g1, g2 ,*,x,:" H6 "\n"
			    "bob:*:!$y$j9T$salt$hash\r\n"
			    "#c:o:mment\n"
			    "malformed\n"
			    "carol:g\n"
			    "alice:dup:$1$x$y\n"
			    "dave:*:\n"
			    "ee::\n"
			    ":*:" H6 "\n"
			    "des:*:abcdefghijklm\n"
			    "md5:*:$1$s$h\nsha256:*:$5$s$h\nbf:*:$2b$05$h\nodd:*:*\n"
			    "ff::";
	struct ocpasswd *f = parse(text);
	struct ocpasswd_account a;
	static const char *const names[] = {"alice", "bob", "#c",     "dave", "ee",
					    "des",   "md5", "sha256", "bf",   "odd"};
	static const char *const schemes[] = {"sha512", "yescrypt", "unknown", "none",	 "none",
					      "des",	"md5",	    "sha256",  "bcrypt", "unknown"};

	(void)state;
	assert_int_equal(ocpasswd_count(f), 10);
	for (size_t i = 0; i < 10; i++) {
		assert_true(ocpasswd_at(f, i, &a));
		assert_string_equal(a.username, names[i]);
		assert_string_equal(a.scheme, schemes[i]);
	}
	assert_false(ocpasswd_at(f, 10, &a));

	assert_true(ocpasswd_find(f, "alice", &a));
	assert_int_equal(a.groups->n, 2);
	assert_string_equal(a.groups->v[0], "g1");
	assert_string_equal(a.groups->v[1], "g2");
	assert_false(a.locked);
	assert_true(ocpasswd_find(f, "bob", &a));
	assert_true(a.locked);
	assert_int_equal(a.groups->n, 0);
	/* A '#' line with two ':' is what ocserv would match for "#c". */
	assert_true(ocpasswd_find(f, "#c", &a));
	assert_int_equal(a.groups->n, 0);
	/* Not accounts: one ':', no name, and a last line of 4 bytes. */
	assert_false(ocpasswd_find(f, "carol", &a));
	assert_false(ocpasswd_find(f, "", &a));
	assert_false(ocpasswd_find(f, "ff", &a));
	assert_false(ocpasswd_find(f, "# comment", &a));
	ocpasswd_free(f);
}

static void test_long_and_nul_lines(void **state)
{
	char line[2048];
	char *tail = repeat('a', 1000);
	struct ocpasswd *f;
	struct ocpasswd_account a;

	(void)state;
	/* ocserv reads the first 510 bytes as the line: still u's account. */
	snprintf(line, sizeof(line), "u:*:$6$%s\nv:*:" H6 "\n", tail);
	f = parse(line);
	assert_true(ocpasswd_find(f, "u", &a));
	assert_string_equal(a.scheme, "sha512");
	assert_true(ocpasswd_find(f, "v", &a));
	ocpasswd_free(f);

	/* Cut at a NUL: "uu:*:" is 5 bytes, an account without a password;
	 * "u:*:" is 4, skipped. */
	static const char nul[] = "uu:*:\0junk\nu:*:\0" H6 "\n";
	f = parse_n(nul, sizeof(nul) - 1);
	assert_true(ocpasswd_find(f, "uu", &a));
	assert_string_equal(a.scheme, "none");
	assert_false(ocpasswd_find(f, "u", &a));
	ocpasswd_free(f);
	free(tail);
}

static void test_set_create(void **state)
{
	struct ocpasswd *f = parse("");
	struct strv g = groups_of("g1", "g2");
	struct ocpasswd_account a;
	bool created = false;

	(void)state;
	assert_int_equal(ocpasswd_set(f, "alice", H6, NULL, false, &created), 0);
	assert_true(created);
	assert_int_equal(ocpasswd_set(f, "bob", H6B, &g, false, &created), 0);
	assert_true(created);
	assert_text(f, "alice:*:" H6 "\nbob:g1,g2:" H6B "\n");
	assert_true(ocpasswd_find(f, "bob", &a));
	assert_int_equal(a.groups->n, 2);
	assert_string_equal(a.scheme, "sha512");
	/* No hash, no account. */
	assert_int_equal(ocpasswd_set(f, "carol", NULL, &g, false, &created), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_count(f), 2);
	strv_free(&g);
	ocpasswd_free(f);
}

static void test_set_update(void **state)
{
	struct ocpasswd *f = parse("# c\n"
				   "alice:g1:!$6$old$x\r\n"
				   "bob:*:$5$b$c\n"
				   "carl:*:$6$a$b:extra\n");
	struct strv none = {0}, g = groups_of("g1", NULL);
	struct ocpasswd_account a;
	bool created = true;

	(void)state;
	/* A new hash for a locked account keeps the lock, and CRLF. */
	assert_int_equal(ocpasswd_set(f, "alice", H6, NULL, false, &created), 0);
	assert_false(created);
	assert_text(f, "# c\nalice:g1:!" H6 "\r\nbob:*:$5$b$c\ncarl:*:$6$a$b:extra\n");
	assert_int_equal(ocpasswd_set(f, "alice", NULL, &none, false, NULL), 0);
	assert_text(f, "# c\nalice:*:!" H6 "\r\nbob:*:$5$b$c\ncarl:*:$6$a$b:extra\n");
	assert_int_equal(ocpasswd_set(f, "alice", H6B, NULL, true, NULL), 0);
	assert_text(f, "# c\nalice:*:" H6B "\r\nbob:*:$5$b$c\ncarl:*:$6$a$b:extra\n");
	assert_true(ocpasswd_find(f, "alice", &a));
	assert_false(a.locked);
	/* Nothing given: nothing changes. */
	assert_int_equal(ocpasswd_set(f, "bob", NULL, NULL, false, NULL), 0);
	/* Groups only: the hash and what follows it stay. */
	assert_int_equal(ocpasswd_set(f, "carl", NULL, &g, false, NULL), 0);
	assert_text(f, "# c\nalice:*:" H6B "\r\nbob:*:$5$b$c\ncarl:g1:$6$a$b:extra\n");
	/* A new hash makes a fresh line. */
	assert_int_equal(ocpasswd_set(f, "carl", H6, NULL, false, NULL), 0);
	assert_text(f, "# c\nalice:*:" H6B "\r\nbob:*:$5$b$c\ncarl:g1:" H6 "\n");
	strv_free(&g);
	ocpasswd_free(f);
}

static void test_set_refused(void **state)
{
	static const char before[] = "alice:*:" H6 "\n";
	struct ocpasswd *f = parse(before);
	struct strv bad = groups_of("ok", "a b"), many = {0};
	char *long_hash = repeat('h', 125), hash[200];
	char *g63 = repeat('g', 63);

	(void)state;
	assert_int_equal(ocpasswd_set(f, "bad:name", H6, NULL, false, NULL), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_set(f, "", H6, NULL, false, NULL), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_set(f, "alice", "", NULL, false, NULL), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_set(f, "alice", "a:b", NULL, false, NULL), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_set(f, "alice", "a\nb", NULL, false, NULL), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_set(f, "alice", "a b", NULL, false, NULL), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_set(f, "alice", "!" H6, NULL, false, NULL), ERR_BAD_REQUEST);
	snprintf(hash, sizeof(hash), "$6$%s", long_hash);
	assert_int_equal(ocpasswd_set(f, "alice", hash, NULL, false, NULL), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_set(f, "alice", H6, &bad, false, NULL), ERR_BAD_REQUEST);
	/* Seven 63-byte groups and a hash make a line longer than ocserv reads. */
	for (int i = 0; i < 7; i++)
		assert_int_equal(strv_add(&many, g63), 0);
	assert_int_equal(ocpasswd_set(f, "alice", H6, &many, false, NULL), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_set(f, "bob", H6, &many, false, NULL), ERR_BAD_REQUEST);
	assert_text(f, before);
	assert_int_equal(ocpasswd_count(f), 1);
	strv_free(&bad);
	strv_free(&many);
	free(long_hash);
	free(g63);
	ocpasswd_free(f);
}

static void test_append_after_unterminated_line(void **state)
{
	struct ocpasswd *f = parse("a:*:" H6);
	struct ocpasswd_account a;

	(void)state;
	/* ocpasswd would glue the new line onto "a:*:...": we end it first. */
	assert_int_equal(ocpasswd_set(f, "b", H6B, NULL, false, NULL), 0);
	assert_text(f, "a:*:" H6 "\nb:*:" H6B "\n");
	ocpasswd_free(f);

	f = parse("a:*:" H6 "\r");
	assert_int_equal(ocpasswd_set(f, "b", H6B, NULL, false, NULL), 0);
	assert_text(f, "a:*:" H6 "\r\nb:*:" H6B "\n");
	ocpasswd_free(f);

	/* "ab::" is 4 bytes and skipped by ocserv; with a newline it would be
	 * an account without a password. The new line goes before it. */
	f = parse("x:*:" H6 "\nab::");
	assert_int_equal(ocpasswd_set(f, "c", H6B, NULL, false, NULL), 0);
	assert_text(f, "x:*:" H6 "\nc:*:" H6B "\nab::");
	assert_false(ocpasswd_find(f, "ab", &a));
	assert_int_equal(ocpasswd_set(f, "ab", H6B, NULL, false, NULL), 0);
	assert_text(f, "x:*:" H6 "\nc:*:" H6B "\nab:*:" H6B "\nab::");
	assert_true(ocpasswd_find(f, "ab", &a));
	assert_string_equal(a.scheme, "sha512");
	assert_int_equal(ocpasswd_count(f), 3);
	assert_true(ocpasswd_at(f, 2, &a));
	assert_string_equal(a.username, "ab");
	ocpasswd_free(f);
}

static void test_lock_unlock(void **state)
{
	struct ocpasswd *f = parse("# x\n"
				   "alice:*:" H6 "\n"
				   "bob:g:!!" H6B "\r\n"
				   "alice:dup:" H6B "\n"
				   "dave:*:\n");
	struct ocpasswd_account a;
	bool changed;

	(void)state;
	assert_int_equal(ocpasswd_lock(f, "alice", &changed), 0);
	assert_true(changed);
	/* Every line of the user, as ocpasswd -l. */
	assert_text(f, "# x\nalice:*:!" H6 "\nbob:g:!!" H6B "\r\nalice:dup:!" H6B "\ndave:*:\n");
	assert_true(ocpasswd_find(f, "alice", &a));
	assert_true(a.locked);
	assert_int_equal(ocpasswd_lock(f, "alice", &changed), 0);
	assert_false(changed);
	assert_int_equal(ocpasswd_unlock(f, "alice", &changed), 0);
	assert_true(changed);
	assert_text(f, "# x\nalice:*:" H6 "\nbob:g:!!" H6B "\r\nalice:dup:" H6B "\ndave:*:\n");
	assert_int_equal(ocpasswd_unlock(f, "alice", &changed), 0);
	assert_false(changed);
	/* One '!' at a time. */
	assert_int_equal(ocpasswd_unlock(f, "bob", &changed), 0);
	assert_true(ocpasswd_find(f, "bob", &a));
	assert_true(a.locked);
	assert_int_equal(ocpasswd_unlock(f, "bob", NULL), 0);
	assert_true(ocpasswd_find(f, "bob", &a));
	assert_false(a.locked);
	/* An empty hash locked is "!": no password matches it. */
	assert_int_equal(ocpasswd_lock(f, "dave", NULL), 0);
	assert_text(f, "# x\nalice:*:" H6 "\nbob:g:" H6B "\r\nalice:dup:" H6B "\ndave:*:!\n");
	assert_int_equal(ocpasswd_lock(f, "nobody", &changed), ERR_NOT_FOUND);
	assert_int_equal(ocpasswd_unlock(f, "nobody", &changed), ERR_NOT_FOUND);
	ocpasswd_free(f);
}

static void test_delete(void **state)
{
	struct ocpasswd *f = parse("alice:*:" H6 "\n"
				   "# keep\n"
				   "bob:*:" H6B "\n"
				   "alice:old:" H6B "\n"
				   "alice:one-colon\n"
				   "carol:*:" H6);
	struct ocpasswd_account a;

	(void)state;
	assert_int_equal(ocpasswd_delete(f, "alice"), 0);
	/* The duplicate must not become alice's account. */
	assert_text(f, "# keep\nbob:*:" H6B "\nalice:one-colon\ncarol:*:" H6);
	assert_false(ocpasswd_find(f, "alice", &a));
	assert_int_equal(ocpasswd_count(f), 2);
	assert_int_equal(ocpasswd_delete(f, "alice"), ERR_NOT_FOUND);
	assert_int_equal(ocpasswd_delete(f, "carol"), 0);
	assert_text(f, "# keep\nbob:*:" H6B "\nalice:one-colon\n");
	assert_int_equal(ocpasswd_set(f, "alice", H6, NULL, false, NULL), 0);
	assert_text(f, "# keep\nbob:*:" H6B "\nalice:one-colon\nalice:*:" H6 "\n");
	assert_true(ocpasswd_at(f, 1, &a));
	assert_string_equal(a.username, "alice");
	assert_int_equal(ocpasswd_delete(f, "bob"), 0);
	assert_int_equal(ocpasswd_delete(f, "alice"), 0);
	assert_text(f, "# keep\nalice:one-colon\n");
	assert_int_equal(ocpasswd_count(f), 0);
	ocpasswd_free(f);
}

/* When an unlock makes a line too short for ocserv (here: cut at a NUL
 * after 5 bytes, then 4), the next line of the same user becomes the
 * account, as ocserv would read it. */
static void test_account_moves_to_duplicate(void **state)
{
	static const char text[] = "a::!!\0x\na:g1:" H6 "\n";
	static const char after[] = "a::!\0x\na:g1:" H6 "\n";
	struct ocpasswd *f = parse_n(text, sizeof(text) - 1);
	struct ocpasswd_account a;
	size_t len;
	char *out;

	(void)state;
	assert_true(ocpasswd_find(f, "a", &a));
	assert_true(a.locked);
	assert_int_equal(a.groups->n, 0);
	assert_int_equal(ocpasswd_unlock(f, "a", NULL), 0);
	out = ocpasswd_serialize(f, &len);
	assert_int_equal(len, sizeof(after) - 1);
	assert_memory_equal(out, after, len);
	free(out);
	assert_true(ocpasswd_find(f, "a", &a));
	assert_int_equal(a.groups->n, 1);
	assert_false(a.locked);
	assert_int_equal(ocpasswd_count(f), 1);
	ocpasswd_free(f);
}

/* ocpasswd -u turns "!" into "": a password-less account. Not us. */
static void test_unlock_never_empties_a_hash(void **state)
{
	static const char text[] = "dave:*:!\nerin:*:!\nerin:*:!!" H6 "\n";
	struct ocpasswd *f = parse(text);
	bool changed = true;

	(void)state;
	assert_int_equal(ocpasswd_unlock(f, "dave", &changed), ERR_CONFLICT);
	/* Not even the other line of the user changes. */
	assert_int_equal(ocpasswd_unlock(f, "erin", &changed), ERR_CONFLICT);
	assert_text(f, text);
	assert_int_equal(ocpasswd_set(f, "dave", H6, NULL, true, NULL), 0);
	assert_text(f, "dave:*:" H6 "\nerin:*:!\nerin:*:!!" H6 "\n");
	ocpasswd_free(f);
}

static void test_check_name(void **state)
{
	static const char *const good[] = {
		"alice", "a",	"Ünïcødé", "user.name_1@example.com",
		"x-y",	 "a#b", "日本語",  "ALLCAPS",
		"a!b",	 "a;b", "a=b",	   "a\"b",
	};
	static const char *const bad[] = {
		"",
		"-a",
		"#a",
		"?",
		"a:b",
		"a,b",
		"a b",
		" a",
		"a ",
		"a\tb",
		"a\nb",
		"a\rb",
		"\x7f",
		"a\xc2\x85",
		"\xc2\xa0",
		"a\xe3\x80\x80",
		"\xe2\x80\xa8",
		"\xff",
		"\xc0\xaf",
		"\xed\xa0\x80",
		"a\x01",
		"\xe2\x80",
		/* ocserv opens config-per-user/NAME: never outside it. */
		"..",
		".",
		"../../tmp/x",
		"a/b",
		".hidden",
	};
	char *long_name = repeat('x', 64);

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *why = ocpasswd_check_name(good[i]);
		if (why != NULL)
			fail_msg("%zu refused: %s", i, why);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = ocpasswd_check_name(bad[i]);
		if (why == NULL)
			fail_msg("bad name %zu accepted", i);
		assert_non_null(strstr(why, "username"));
	}
	assert_non_null(ocpasswd_check_name(long_name));
	long_name[63] = '\0';
	assert_null(ocpasswd_check_name(long_name));
	assert_string_equal(ocpasswd_check_name("a:b"), "username must not contain ':'");

	assert_null(ocpasswd_check_group("staff"));
	assert_null(ocpasswd_check_group("#g"));
	assert_null(ocpasswd_check_group(long_name));
	assert_non_null(ocpasswd_check_group("g"));
	assert_non_null(ocpasswd_check_group("*"));
	assert_non_null(ocpasswd_check_group(""));
	assert_non_null(ocpasswd_check_group("-g"));
	assert_non_null(ocpasswd_check_group("g,h"));
	assert_non_null(ocpasswd_check_group("g:h"));
	assert_non_null(ocpasswd_check_group("g h"));
	assert_string_equal(ocpasswd_check_group("../../tmp/x"),
			    "group name must not start with '.'");
	assert_string_equal(ocpasswd_check_group("a/b"), "group name must not contain '/'");
	assert_non_null(ocpasswd_check_group(".."));
	assert_non_null(strstr(ocpasswd_check_group("g h"), "group name"));
	free(long_name);
}

static void test_check_password(void **state)
{
	char *pw = repeat('p', 257);

	(void)state;
	assert_null(ocpasswd_check_password("x"));
	assert_null(ocpasswd_check_password("with spaces: and colons"));
	assert_null(ocpasswd_check_password("\xff\xfe non-UTF-8 is fine"));
	assert_non_null(ocpasswd_check_password(""));
	assert_non_null(ocpasswd_check_password("a\nb"));
	assert_non_null(ocpasswd_check_password("a\n"));
	assert_non_null(ocpasswd_check_password(pw));
	/* The reason never quotes the password. */
	assert_null(strstr(ocpasswd_check_password("secret\n"), "secret"));
	pw[256] = '\0';
	assert_null(ocpasswd_check_password(pw));
	free(pw);
}

static void test_scheme_parse(void **state)
{
	enum ocpasswd_scheme s = OCPASSWD_YESCRYPT;

	(void)state;
	assert_int_equal(ocpasswd_scheme_parse("sha512", &s), 0);
	assert_int_equal(s, OCPASSWD_SHA512);
	assert_int_equal(ocpasswd_scheme_parse("yescrypt", &s), 0);
	assert_int_equal(s, OCPASSWD_YESCRYPT);
	assert_int_equal(ocpasswd_scheme_parse("md5", &s), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_scheme_parse("", &s), ERR_BAD_REQUEST);
	assert_int_equal(ocpasswd_scheme_parse("SHA512", &s), ERR_BAD_REQUEST);
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

static void check_scheme(enum ocpasswd_scheme scheme, const char *prefix, const char *name)
{
	char h1[OCPASSWD_HASH_MAX + 1], h2[OCPASSWD_HASH_MAX + 1], small[20];
	struct err_info ei;
	struct ocpasswd *f = parse("");
	struct ocpasswd_account a;

	assert_int_equal(ocpasswd_hash("correct horse", scheme, h1, sizeof(h1), &ei), 0);
	assert_int_equal(ocpasswd_hash("correct horse", scheme, h2, sizeof(h2), &ei), 0);
	assert_memory_equal(h1, prefix, 3);
	assert_true(verify("correct horse", h1));
	assert_true(verify("correct horse", h2));
	assert_false(verify("correct horse!", h1));
	assert_false(verify("", h1));
	/* A fresh salt every time. */
	assert_string_not_equal(h1, h2);
	assert_int_equal(ocpasswd_set(f, "u", h1, NULL, false, NULL), 0);
	assert_true(ocpasswd_find(f, "u", &a));
	assert_string_equal(a.scheme, name);
	assert_int_equal(ocpasswd_hash("x", scheme, small, sizeof(small), &ei), ERR_INTERNAL);
	ocpasswd_free(f);
}

static void test_hash(void **state)
{
	(void)state;
	check_scheme(OCPASSWD_SHA512, "$6$", "sha512");
	check_scheme(OCPASSWD_YESCRYPT, "$y$", "yescrypt");
}

static void assert_import_refused(const char *text, const char *detail_prefix)
{
	struct ocpasswd *in = parse(text);
	struct err_info ei = {{0}};

	assert_int_equal(ocpasswd_import_check(in, NULL, &ei), ERR_BAD_REQUEST);
	if (strncmp(ei.detail, detail_prefix, strlen(detail_prefix)) != 0)
		fail_msg("\"%s\": detail \"%s\"", text, ei.detail);
	ocpasswd_free(in);
}

static void test_import_check(void **state)
{
	struct ocpasswd *in = parse("# exported\n"
				    "\n"
				    "alice:*:" H6 "\r\n"
				    "   # indented comment\n"
				    "bob:staff,vpn:!" H6B "\n"
				    "carol::$y$j9T$abc$def\n"
				    "dave:*:abcdefghijklm\n"
				    "erin:*:$2b$05$abcdefghijklmnopqrstuv");
	size_t skipped = 0;
	struct err_info ei;
	char *g = repeat('g', 64), line[600];

	(void)state;
	assert_int_equal(ocpasswd_import_check(in, &skipped, &ei), 0);
	assert_int_equal(skipped, 3);
	ocpasswd_free(in);

	assert_import_refused("a:*:" H6 "\nb:*:\n", "line 2: the password hash is empty");
	assert_import_refused("a:*:!\n", "line 1: the password hash is empty");
	assert_import_refused("a:*:*\n", "line 1: the password hash does not look");
	assert_import_refused("a:*:*0\n", "line 1: the password hash does not look");
	assert_import_refused("a:*:plain\n", "line 1: the password hash does not look");
	assert_import_refused("a:*:$6$\n", "line 1: the password hash does not look");
	assert_import_refused("a:*:$6$x$\n", "line 1: the password hash does not look");
	assert_import_refused("\n\na b:*:" H6 "\n", "line 3: username must not contain white");
	assert_import_refused("-a:*:" H6 "\n", "line 1: username must not start with '-'");
	assert_import_refused("a:g,h:" H6 "\n", "line 1: group name must be at least 2");
	assert_import_refused("a:gg,,hh:" H6 "\n", "line 1: group name must not be empty");
	assert_import_refused("a:gg, hh:" H6 "\n", "line 1: group name must not contain white");
	assert_import_refused("a:*:" H6 ":x\n", "line 1: has more than three");
	assert_import_refused("a:*\n", "line 1: is not in the form");
	assert_import_refused("garbage\n", "line 1: is not in the form");
	assert_import_refused("a:*:" H6 "\na:*:" H6B "\n", "line 2: names a user");
	static const char nul[] = "a:*:" H6 "\0\n";
	in = parse_n(nul, sizeof(nul) - 1);
	assert_int_equal(ocpasswd_import_check(in, NULL, &ei), ERR_BAD_REQUEST);
	assert_string_equal(ei.detail, "line 1: contains a NUL byte");
	ocpasswd_free(in);
	snprintf(line, sizeof(line), "a:%s:" H6 "\n", g);
	assert_import_refused(line, "line 1: group name is longer");
	char *longer = repeat('h', 520);
	snprintf(line, sizeof(line), "a:*:$6$%s\n", longer);
	assert_import_refused(line, "line 1: is longer than 509 bytes");
	free(longer);
	free(g);
}

struct seen {
	char names[8][16];
	enum ocpasswd_change ch[8];
	size_t n;
};

static int note(void *ctx, const char *username, enum ocpasswd_change change)
{
	struct seen *s = ctx;

	assert_true(s->n < 8);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", username);
	s->ch[s->n++] = change;
	return 0;
}

static void run_import(const char *file, const char *text, bool replace, const char *want,
		       const char *want_report)
{
	struct ocpasswd *f = parse(file), *in = parse(text);
	struct seen s = {0};
	char report[256] = "";

	assert_int_equal(ocpasswd_import_check(in, NULL, NULL), 0);
	assert_int_equal(ocpasswd_import(f, in, replace, note, &s), 0);
	for (size_t i = 0; i < s.n; i++) {
		static const char *const c[] = {"+", "~", "-", "="};
		strcat(report, c[s.ch[i]]);
		strcat(report, s.names[i]);
		strcat(report, " ");
	}
	assert_string_equal(report, want_report);
	assert_text(f, want);
	ocpasswd_free(f);
	ocpasswd_free(in);
}

static void test_import(void **state)
{
	static const char file[] = "# keep\n"
				   "alice:*:$6$a$a\n"
				   "bob:g1:$6$b$b\r\n"
				   "carol:*:$6$c$c\n"
				   "alice:dup:$6$x$x\n";
	static const char text[] = "# exported\n"
				   "alice::$6$a$a\n"
				   "bob:g2:$6$b$b\n"
				   "dave:*:!$6$d$d\r\n";

	(void)state;
	run_import(file, text, false,
		   "# keep\nalice:*:$6$a$a\nbob:g2:$6$b$b\r\ncarol:*:$6$c$c\n"
		   "alice:dup:$6$x$x\ndave:*:!$6$d$d\n",
		   "=alice ~bob +dave ");
	run_import(file, text, true,
		   "# keep\nalice:*:$6$a$a\nbob:g2:$6$b$b\r\nalice:dup:$6$x$x\ndave:*:!$6$d$d\n",
		   "=alice ~bob +dave -carol ");
	/* Replace with nothing: the accounts go, the comment stays. */
	run_import(file, "# nothing\n", true, "# keep\n", "-alice -bob -carol ");
	/* A lock is part of what is compared. */
	run_import("a:*:$6$a$a\n", "a:*:!$6$a$a\n", false, "a:*:!$6$a$a\n", "~a ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_odd_files),
		cmocka_unit_test(test_round_trip_large),
		cmocka_unit_test(test_accounts_as_ocserv_reads_them),
		cmocka_unit_test(test_long_and_nul_lines),
		cmocka_unit_test(test_set_create),
		cmocka_unit_test(test_set_update),
		cmocka_unit_test(test_set_refused),
		cmocka_unit_test(test_append_after_unterminated_line),
		cmocka_unit_test(test_lock_unlock),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_account_moves_to_duplicate),
		cmocka_unit_test(test_unlock_never_empties_a_hash),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_check_password),
		cmocka_unit_test(test_scheme_parse),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_import_check),
		cmocka_unit_test(test_import),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
