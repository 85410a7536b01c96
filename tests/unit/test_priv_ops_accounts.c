/* priv_ops_accounts.c and priv_ops_userconf.c: the root side of the
 * accounts and per-user/per-group config operations, called through
 * priv_dispatch() on temporary files. Every operation works; every
 * traversal, option injection, bad name, bad hash, bad kind, bad key,
 * wrong type and unknown member is refused without touching a file (the
 * directories are byte-identical afterwards, no PATH.tmp is left). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "ocpasswd.h"
#include "ocserv.h"
#include "priv_ops.h"
#include "strbuf.h"
#include "unit.h"

#define HASH                                                                                     \
	"$6$saltsalt$"                                                                           \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./abcdefghijklmnopqrstuv" \
	"wx"
#define PASSWD_TEXT "alice:staff:" HASH "\nbob:*:!" HASH "\n# a comment\n"

static char tmpdir[64], pw_path[128], conf_path[128], users_dir[128], groups_dir[128];
static struct agent_config cfg;
static struct priv_root root;

/* ---- a fake ocserv: only its version is asked ---- */

static int fake_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	(void)be, (void)ei;
	return ocserv_version_parse("1.3.0", ret);
}

static void fake_free(void *be)
{
	(void)be;
}

static const struct ocserv_backend_ops fake_ops = {
	.name = "fake", .version = fake_version, .free = fake_free};

/* ---- fixture ---- */

static void write_path(const char *dir, const char *name, const char *text)
{
	char path[256];

	assert_int_equal(unit_write_str(unit_join(path, sizeof(path), dir, name), text), 0);
}

static int setup(void **state)
{
	char conf[512];

	(void)state;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "oa-privacc") == NULL)
		return -1;
	unit_join(pw_path, sizeof(pw_path), tmpdir, "ocpasswd");
	unit_join(conf_path, sizeof(conf_path), tmpdir, "ocserv.conf");
	unit_join(users_dir, sizeof(users_dir), tmpdir, "users");
	unit_join(groups_dir, sizeof(groups_dir), tmpdir, "groups");
	if (mkdir(users_dir, 0755) < 0 || mkdir(groups_dir, 0755) < 0)
		return -1;
	snprintf(conf, sizeof(conf), "config-per-user = %s\nconfig-per-group = %s\n", users_dir,
		 groups_dir);
	if (unit_write_str(conf_path, conf) < 0 ||
	    unit_write_file(pw_path, PASSWD_TEXT, strlen(PASSWD_TEXT), 0600) < 0)
		return -1;
	write_path(users_dir, "alice", "route = 10.0.0.0/8\n# kept\n");
	write_path(groups_dir, "staff", "dns = 192.0.2.53\n");
	cfg.ocserv_conf_path = conf_path;
	cfg.max_body_bytes = 64 * 1024; /* AGENT_MAX_BODY_BYTES */
	root.cfg = &cfg;
	root.oc = ocserv_new(&fake_ops, NULL);
	root.accounts =
		(struct accounts){.path = pw_path, .scheme = OCPASSWD_SHA512, .lock_wait_ms = 100};
	return root.oc ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ocserv_free(root.oc);
	unit_rmtree(tmpdir);
	return 0;
}

/* Every name and every file's bytes in the three directories, so that a
 * refused call can be shown to have changed, created or left nothing. */
static void snapshot_dir(struct strbuf *sb, const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		char path[512];
		char *text;

		unit_join(path, sizeof(path), dir, names[i]->d_name);
		text = unit_read_file(path, NULL);
		strbuf_str(sb, path);
		strbuf_str(sb, "\n");
		strbuf_str(sb, text ? text : "(not a file)");
		strbuf_str(sb, "\n--\n");
		free(text);
		free(names[i]);
	}
	free(names);
}

static char *snapshot(void)
{
	struct strbuf sb = {0};
	size_t len;
	char *text;

	snapshot_dir(&sb, tmpdir);
	snapshot_dir(&sb, users_dir);
	snapshot_dir(&sb, groups_dir);
	text = strbuf_done(&sb, &len);
	assert_non_null(text);
	return text;
}

/* ---- calling ---- */

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);

	if (j == NULL)
		fail_msg("bad JSON in test: %s: %s", text, e.text);
	return j;
}

/* priv_dispatch() of args (consumed); *pe zeroed first. */
static int call_j(enum priv_op op, json_t *args, json_t **ret, struct priv_error *pe)
{
	int e;

	memset(pe, 0, sizeof(*pe));
	e = priv_dispatch(&root, "test-request", op, args, ret, pe);
	json_decref(args);
	if (e == 0)
		assert_non_null(*ret);
	else
		assert_null(*ret);
	return e;
}

/* A successful call of args (JSON text): its result. */
static json_t *ok(enum priv_op op, const char *args)
{
	struct priv_error pe;
	json_t *ret = NULL;
	int e = call_j(op, J(args), &ret, &pe);

	if (e != 0)
		fail_msg("%s %s: %d %s / %s", priv_op_name(op), args, e, pe.message, pe.ei.detail);
	return ret;
}

static char last_detail[256]; /* the log detail of the last refused_j() */

/* A call of args refused with want, leaving every file as it was; the
 * client message (for ERR_BAD_REQUEST) starts with msg_prefix (or NULL). */
static void refused_j(enum priv_op op, json_t *args, int want, const char *msg_prefix)
{
	char *before = snapshot(), *after, *text = json_dumps(args, JSON_ENCODE_ANY);
	struct priv_error pe;
	json_t *ret = NULL;
	int e = call_j(op, args, &ret, &pe);

	if (e != want)
		fail_msg("%s %s: got %d (%s / %s), want %d", priv_op_name(op), text, e, pe.message,
			 pe.ei.detail, want);
	if (want == ERR_BAD_REQUEST)
		assert_true(pe.message[0] != '\0');
	if (msg_prefix != NULL && strncmp(pe.message, msg_prefix, strlen(msg_prefix)) != 0)
		fail_msg("%s %s: message \"%s\", want \"%s...\"", priv_op_name(op), text,
			 pe.message, msg_prefix);
	memcpy(last_detail, pe.ei.detail, sizeof(last_detail));
	after = snapshot();
	if (strcmp(before, after) != 0)
		fail_msg("%s %s changed the files:\n%s\n--- was ---\n%s", priv_op_name(op), text,
			 after, before);
	free(before);
	free(after);
	free(text);
	json_decref(pe.extra);
}

static void refused(enum priv_op op, const char *args, int want, const char *msg_prefix)
{
	refused_j(op, J(args), want, msg_prefix);
}

/* args (JSON text) with member set to value (consumed). */
static json_t *with(const char *args, const char *member, json_t *value)
{
	json_t *j = J(args);

	assert_int_equal(json_object_set_new(j, member, value), 0);
	return j;
}

static void assert_no_hash(const json_t *result)
{
	char *text = json_dumps(result, 0);

	assert_non_null(text);
	if (strstr(text, "$6$") != NULL || strstr(text, "saltsalt") != NULL)
		fail_msg("a result carries a hash: %s", text);
	free(text);
}

static char *file_text(const char *path)
{
	char *t = unit_read_file(path, NULL);

	assert_non_null(t);
	return t;
}

/* ---- bad strings, for every string member ---- */

struct bad {
	const char *s;
	size_t len;
};
#define BAD(lit)                     \
	{                            \
		lit, sizeof(lit) - 1 \
	}
static const struct bad bad_names[] = {
	BAD("../x"),
	BAD("a/b"),
	BAD("/etc/passwd"),
	BAD("-x"),
	BAD("--help"),
	BAD("a:b"),
	BAD("a\nb"),
	BAD("a\0b"),
	BAD(""),
	BAD(".."),
	BAD("."),
	BAD("a b"),
	BAD("a\x01b"),
	BAD("x\0"),
	BAD("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), /* 64 */
};
#define N_BAD (sizeof(bad_names) / sizeof(bad_names[0]))

static json_t *bad_str(size_t i)
{
	json_t *s = json_stringn(bad_names[i].s, bad_names[i].len);

	assert_non_null(s);
	return s;
}

/* ---- accounts: what works ---- */

static void test_accounts_list_get(void **state)
{
	json_t *r = ok(PRIV_ACCOUNTS_LIST, "{}"), *a;
	struct priv_error pe;

	(void)state;
	assert_no_hash(r);
	a = json_object_get(r, "accounts");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "username")),
			    "alice");
	assert_true(json_is_true(json_object_get(json_array_get(a, 1), "locked")));
	json_decref(r);

	r = ok(PRIV_ACCOUNTS_GET, "{\"username\": \"alice\"}");
	assert_no_hash(r);
	a = json_object_get(r, "account");
	assert_string_equal(json_string_value(json_object_get(a, "hashScheme")), "sha512");
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "groups"), 0)),
			    "staff");
	assert_true(json_is_false(json_object_get(a, "locked")));
	json_decref(r);

	assert_int_equal(call_j(PRIV_ACCOUNTS_GET, J("{\"username\": \"nobody\"}"), &r, &pe),
			 ERR_NOT_FOUND);
	assert_string_equal(pe.message, "no account nobody");
}

static void test_accounts_put_patch_lock_delete(void **state)
{
	json_t *r;
	char *text;

	(void)state;
	r = ok(PRIV_ACCOUNTS_PUT, "{\"username\": \"carol\", \"password\": \"pw-carol\", "
				  "\"groups\": [\"ops\", \"staff\"]}");
	assert_no_hash(r);
	assert_true(json_is_true(json_object_get(r, "created")));
	json_decref(r);
	text = file_text(pw_path);
	assert_non_null(strstr(text, "\ncarol:ops,staff:$6$"));
	assert_null(strstr(text, "pw-carol"));
	free(text);

	r = ok(PRIV_ACCOUNTS_PUT, "{\"username\": \"carol\", \"password\": \"pw-carol2\"}");
	assert_true(json_is_false(json_object_get(r, "created")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "account"), "groups")),
			 0);
	json_decref(r);

	r = ok(PRIV_ACCOUNTS_PATCH, "{\"username\": \"carol\", \"groups\": [\"ops\"]}");
	assert_no_hash(r);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_object_get(r, "account"), "groups"), 0)),
			    "ops");
	json_decref(r);
	r = ok(PRIV_ACCOUNTS_PATCH, "{\"username\": \"carol\", \"password\": \"pw-3\"}");
	json_decref(r);

	r = ok(PRIV_ACCOUNTS_LOCK, "{\"username\": \"carol\", \"lock\": true}");
	assert_no_hash(r);
	assert_true(json_is_true(json_object_get(json_object_get(r, "account"), "locked")));
	json_decref(r);
	text = file_text(pw_path);
	assert_non_null(strstr(text, "\ncarol:ops:!$6$"));
	free(text);
	r = ok(PRIV_ACCOUNTS_LOCK, "{\"username\": \"carol\", \"lock\": false}");
	assert_true(json_is_false(json_object_get(json_object_get(r, "account"), "locked")));
	json_decref(r);

	r = ok(PRIV_ACCOUNTS_DELETE, "{\"username\": \"carol\"}");
	assert_int_equal(json_object_size(r), 0);
	json_decref(r);
	text = file_text(pw_path);
	assert_string_equal(text, PASSWD_TEXT);
	free(text);
	refused(PRIV_ACCOUNTS_DELETE, "{\"username\": \"carol\"}", ERR_NOT_FOUND,
		"no account carol");
	refused(PRIV_ACCOUNTS_PATCH, "{\"username\": \"carol\", \"password\": \"x\"}",
		ERR_NOT_FOUND, "no account carol");
	/* Nothing to change is refused here too, not only by the API. */
	refused(PRIV_ACCOUNTS_PATCH, "{\"username\": \"alice\"}", ERR_BAD_REQUEST,
		"nothing to change");
}

/* The file as it is: the one result with hashes (an admin's export). */
static void test_accounts_export(void **state)
{
	json_t *r = ok(PRIV_ACCOUNTS_EXPORT, "{}");

	(void)state;
	assert_string_equal(json_string_value(json_object_get(r, "content")), PASSWD_TEXT);
	json_decref(r);
}

static void test_accounts_import(void **state)
{
	char content[512], *before, *text;
	struct priv_error pe;
	json_t *r = NULL;

	(void)state;
	snprintf(content, sizeof(content), "# imported\ndave:ops:%s\nalice:staff:%s\n", HASH, HASH);
	before = snapshot();
	assert_int_equal(call_j(PRIV_ACCOUNTS_IMPORT,
				with("{\"replace\": false, \"dryRun\": true}", "content",
				     json_string(content)),
				&r, &pe),
			 0);
	assert_int_equal(json_integer_value(json_object_get(r, "added")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "unchanged")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "skipped")), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(r, "changes"), 0), "action")),
			    "add");
	json_decref(r);
	text = snapshot();
	assert_string_equal(text, before); /* a dry run writes nothing */
	free(text);
	free(before);

	assert_int_equal(call_j(PRIV_ACCOUNTS_IMPORT,
				with("{\"replace\": true, \"dryRun\": false}", "content",
				     json_string(content)),
				&r, &pe),
			 0);
	assert_int_equal(json_integer_value(json_object_get(r, "deleted")), 1); /* bob */
	json_decref(r);
	text = file_text(pw_path);
	assert_non_null(strstr(text, "dave:ops:" HASH "\n"));
	assert_null(strstr(text, "bob:"));
	assert_non_null(strstr(text, "# a comment\n"));
	free(text);
}

/* ---- accounts: what is refused ---- */

/* Refused by the table's check (the dispatcher's detail names the op), not
 * only by accounts.h's own check further in. */
static void refused_name(enum priv_op op, const char *args, size_t i)
{
	char want[64];

	refused_j(op, with(args, "username", bad_str(i)), ERR_BAD_REQUEST, "username: ");
	snprintf(want, sizeof(want), "%s: username ", priv_op_name(op));
	if (strncmp(last_detail, want, strlen(want)) != 0)
		fail_msg("%s: refused by \"%s\", not by the table", priv_op_name(op), last_detail);
}

static void test_accounts_bad_usernames(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_BAD; i++) {
		refused_name(PRIV_ACCOUNTS_GET, "{}", i);
		refused_name(PRIV_ACCOUNTS_DELETE, "{}", i);
		refused_name(PRIV_ACCOUNTS_LOCK, "{\"lock\": true}", i);
		refused_name(PRIV_ACCOUNTS_PUT, "{\"password\": \"pw\"}", i);
		refused_name(PRIV_ACCOUNTS_PATCH, "{\"password\": \"pw\"}", i);
	}
}

static void test_accounts_bad_groups(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_BAD; i++) {
		json_t *g = json_pack("[s,o]", "ops", bad_str(i));

		refused_j(PRIV_ACCOUNTS_PUT,
			  with("{\"username\": \"carol\", \"password\": \"pw\"}", "groups",
			       json_incref(g)),
			  ERR_BAD_REQUEST, "group 1: ");
		refused_j(PRIV_ACCOUNTS_PATCH, with("{\"username\": \"alice\"}", "groups", g),
			  ERR_BAD_REQUEST, "group 1: ");
	}
	/* One-character groups are ignored by ocserv: refused. */
	refused(PRIV_ACCOUNTS_PATCH, "{\"username\": \"alice\", \"groups\": [\"g\"]}",
		ERR_BAD_REQUEST, "group 0: ");
}

static void test_accounts_bad_passwords(void **state)
{
	static const struct bad pws[] = {BAD(""), BAD("a\nb"), BAD("a\0b")};
	char long_pw[OCPASSWD_PASSWORD_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(pws) / sizeof(pws[0]); i++) {
		refused_j(PRIV_ACCOUNTS_PUT,
			  with("{\"username\": \"carol\"}", "password",
			       json_stringn(pws[i].s, pws[i].len)),
			  ERR_BAD_REQUEST, "password: ");
		refused_j(PRIV_ACCOUNTS_PATCH,
			  with("{\"username\": \"alice\"}", "password",
			       json_stringn(pws[i].s, pws[i].len)),
			  ERR_BAD_REQUEST, "password: ");
	}
	memset(long_pw, 'p', sizeof(long_pw) - 1);
	long_pw[sizeof(long_pw) - 1] = '\0';
	refused_j(PRIV_ACCOUNTS_PUT,
		  with("{\"username\": \"carol\"}", "password", json_string(long_pw)),
		  ERR_BAD_REQUEST, "password: is too long");
}

static void test_accounts_bad_imports(void **state)
{
	static const char *const contents[] = {
		"eve:*:not-a-crypt-hash\n", /* a bad hash format */
		"eve:*:\n",		    /* an empty hash: no password at all */
		"eve::\n",
		"eve:*:!\n",
		"-eve:*:" HASH "\n", /* option injection */
		"../eve:*:" HASH "\n",
		"ev/e:*:" HASH "\n",
		"eve:../g:" HASH "\n",
		"eve:*:" HASH ":extra\n",
	};
	char *big = malloc(64 * 1024 + 2);

	(void)state;
	for (size_t i = 0; i < sizeof(contents) / sizeof(contents[0]); i++)
		for (int dry = 0; dry < 2; dry++)
			refused_j(PRIV_ACCOUNTS_IMPORT,
				  with(dry ? "{\"replace\": true, \"dryRun\": true}"
					   : "{\"replace\": false, \"dryRun\": false}",
				       "content", json_string(contents[i])),
				  ERR_BAD_REQUEST, "line 1: ");
	refused_j(PRIV_ACCOUNTS_IMPORT,
		  with("{\"replace\": false, \"dryRun\": false}", "content",
		       json_stringn("eve:*:" HASH "\n\0x", sizeof("eve:*:" HASH "\n\0x") - 1)),
		  ERR_BAD_REQUEST, "content: contains a NUL byte");
	assert_non_null(big);
	memset(big, '#', 64 * 1024 + 1);
	big[64 * 1024 + 1] = '\0';
	refused_j(PRIV_ACCOUNTS_IMPORT,
		  with("{\"replace\": false, \"dryRun\": false}", "content", json_string(big)),
		  ERR_BAD_REQUEST, "content: is too long");
	free(big);
}

/* Not what our api code sends: shape errors. */
static void test_accounts_protocol(void **state)
{
	static const struct {
		enum priv_op op;
		const char *args;
	} cases[] = {
		{PRIV_ACCOUNTS_LIST, "{\"path\": \"/etc/shadow\"}"},
		{PRIV_ACCOUNTS_LIST, "[]"},
		{PRIV_ACCOUNTS_EXPORT, "{\"path\": \"/etc/shadow\"}"},
		{PRIV_ACCOUNTS_GET, "{}"},
		{PRIV_ACCOUNTS_GET, "{\"username\": 5}"},
		{PRIV_ACCOUNTS_GET, "{\"username\": null}"},
		{PRIV_ACCOUNTS_GET, "{\"username\": [\"alice\"]}"},
		{PRIV_ACCOUNTS_GET, "{\"username\": \"alice\", \"file\": \"/etc/passwd\"}"},
		{PRIV_ACCOUNTS_DELETE, "{\"username\": \"alice\", \"path\": \"../x\"}"},
		{PRIV_ACCOUNTS_PUT, "{\"username\": \"carol\"}"},
		{PRIV_ACCOUNTS_PUT, "{\"username\": \"carol\", \"password\": true}"},
		{PRIV_ACCOUNTS_PUT,
		 "{\"username\": \"carol\", \"password\": \"pw\", \"hash\": \"x\"}"},
		{PRIV_ACCOUNTS_PUT, "{\"username\": \"carol\", \"password\": \"pw\", \"groups\": "
				    "\"staff\"}"},
		{PRIV_ACCOUNTS_PUT,
		 "{\"username\": \"carol\", \"password\": \"pw\", \"groups\": [5]}"},
		{PRIV_ACCOUNTS_PUT, "{\"username\": \"carol\", \"password\": \"pw\", \"groups\": "
				    "[null]}"},
		{PRIV_ACCOUNTS_PATCH, "{\"username\": \"alice\", \"groups\": null}"},
		{PRIV_ACCOUNTS_PATCH, "{\"username\": \"alice\", \"groups\": [[\"x\"]]}"},
		{PRIV_ACCOUNTS_PATCH, "{\"username\": \"alice\", \"password\": null}"},
		{PRIV_ACCOUNTS_LOCK, "{\"username\": \"alice\"}"},
		{PRIV_ACCOUNTS_LOCK, "{\"username\": \"alice\", \"lock\": \"yes\"}"},
		{PRIV_ACCOUNTS_LOCK, "{\"username\": \"alice\", \"lock\": 1}"},
		{PRIV_ACCOUNTS_IMPORT, "{\"content\": \"\", \"replace\": false}"},
		{PRIV_ACCOUNTS_IMPORT, "{\"content\": 5, \"replace\": false, \"dryRun\": false}"},
		{PRIV_ACCOUNTS_IMPORT,
		 "{\"content\": \"\", \"replace\": \"no\", \"dryRun\": false}"},
		{PRIV_ACCOUNTS_IMPORT, "{\"content\": \"\", \"mode\": \"replace\", \"replace\": "
				       "false, \"dryRun\": false}"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].op, cases[i].args, ERR_PRIV_PROTOCOL, NULL);
}

/* ---- userconf ---- */

static void test_userconf_works(void **state)
{
	json_t *r, *c;
	char path[256], *text;

	(void)state;
	r = ok(PRIV_USERCONF_LIST, "{\"kind\": \"user\"}");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "names"), 0)),
			    "alice");
	json_decref(r);
	r = ok(PRIV_USERCONF_LIST, "{\"kind\": \"group\"}");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "names"), 0)),
			    "staff");
	json_decref(r);

	r = ok(PRIV_USERCONF_GET, "{\"kind\": \"user\", \"name\": \"alice\"}");
	c = json_object_get(r, "config");
	assert_string_equal(json_string_value(json_object_get(c, "kind")), "user");
	assert_string_equal(json_string_value(json_object_get(c, "path")),
			    unit_join(path, sizeof(path), users_dir, "alice"));
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_object_get(c, "settings"), "route"), 0)),
			    "10.0.0.0/8");
	json_decref(r);
	refused(PRIV_USERCONF_GET, "{\"kind\": \"group\", \"name\": \"alice\"}", ERR_NOT_FOUND,
		NULL);

	r = ok(PRIV_USERCONF_CHANGE,
	       "{\"kind\": \"user\", \"name\": \"alice\", \"replace\": false, "
	       "\"settings\": {\"dpd\": 90}}");
	assert_true(json_is_false(json_object_get(r, "created")));
	assert_true(json_is_true(json_object_get(r, "changed")));
	json_decref(r);
	text = file_text(path);
	assert_string_equal(text, "route = 10.0.0.0/8\n# kept\ndpd = 90\n");
	free(text);

	r = ok(PRIV_USERCONF_CHANGE, "{\"kind\": \"group\", \"name\": \"ops\", \"replace\": true, "
				     "\"settings\": {\"dns\": [\"192.0.2.1\"]}}");
	assert_true(json_is_true(json_object_get(r, "created")));
	json_decref(r);
	text = file_text(unit_join(path, sizeof(path), groups_dir, "ops"));
	assert_string_equal(text, "dns = 192.0.2.1\n");
	free(text);

	r = ok(PRIV_USERCONF_DELETE, "{\"kind\": \"group\", \"name\": \"ops\"}");
	assert_int_equal(json_object_size(r), 0);
	json_decref(r);
	assert_null(unit_read_file(path, NULL));
	refused(PRIV_USERCONF_DELETE, "{\"kind\": \"group\", \"name\": \"ops\"}", ERR_NOT_FOUND,
		NULL);
}

static void test_userconf_bad_names_and_kinds(void **state)
{
	static const char *const kinds[] = {"users", "USER", "grp",  "",
					    "../x",  "-x",   "/etc", "user\n"};

	(void)state;
	for (size_t i = 0; i < N_BAD; i++) {
		refused_j(PRIV_USERCONF_GET, with("{\"kind\": \"user\"}", "name", bad_str(i)),
			  ERR_BAD_REQUEST, "name: ");
		refused_j(PRIV_USERCONF_DELETE, with("{\"kind\": \"group\"}", "name", bad_str(i)),
			  ERR_BAD_REQUEST, "name: ");
		refused_j(PRIV_USERCONF_CHANGE,
			  with("{\"kind\": \"user\", \"replace\": true, \"settings\": {\"dpd\": "
			       "9}}",
			       "name", bad_str(i)),
			  ERR_BAD_REQUEST, "name: ");
		refused_j(PRIV_USERCONF_LIST, with("{}", "kind", bad_str(i)), ERR_BAD_REQUEST,
			  "kind: ");
	}
	/* A name ending in .tmp would be another name's lock file. */
	refused(PRIV_USERCONF_CHANGE,
		"{\"kind\": \"user\", \"name\": \"alice.tmp\", \"replace\": true, \"settings\": "
		"{}}",
		ERR_BAD_REQUEST, "name: ");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		refused_j(PRIV_USERCONF_LIST, with("{}", "kind", json_string(kinds[i])),
			  ERR_BAD_REQUEST, "kind: ");
		refused_j(PRIV_USERCONF_GET,
			  with("{\"name\": \"alice\"}", "kind", json_string(kinds[i])),
			  ERR_BAD_REQUEST, "kind: ");
		refused_j(PRIV_USERCONF_CHANGE,
			  with("{\"name\": \"alice\", \"replace\": false, \"settings\": {}}",
			       "kind", json_string(kinds[i])),
			  ERR_BAD_REQUEST, "kind: ");
		refused_j(PRIV_USERCONF_DELETE,
			  with("{\"name\": \"alice\"}", "kind", json_string(kinds[i])),
			  ERR_BAD_REQUEST, "kind: ");
	}
}

static void test_userconf_bad_settings(void **state)
{
	static const char *const settings[] = {
		"{\"no-such-key\": 1}",
		"{\"../../etc/passwd\": \"x\"}",
		"{\"config-per-user\": \"/tmp\"}", /* ocserv.conf only */
		"{\"dpd\": \"ninety\"}",
		"{\"route\": \"10.0.0.0/8\\nroute = 0.0.0.0/0\"}",
		"{\"tunnel-all-dns\": true}", /* the root's ocserv 1.3.0 spells it tunnel_all_dns */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		for (int replace = 0; replace < 2; replace++)
			refused_j(PRIV_USERCONF_CHANGE,
				  with(replace ? "{\"kind\": \"user\", \"name\": \"alice\", "
						 "\"replace\": true}"
					       : "{\"kind\": \"group\", \"name\": \"newgroup\", "
						 "\"replace\": false}",
				       "settings", J(settings[i])),
				  ERR_BAD_REQUEST, NULL);
}

static void test_userconf_protocol(void **state)
{
	static const struct {
		enum priv_op op;
		const char *args;
	} cases[] = {
		{PRIV_USERCONF_LIST, "{}"},
		{PRIV_USERCONF_LIST, "{\"kind\": 1}"},
		{PRIV_USERCONF_LIST, "{\"kind\": \"user\", \"dir\": \"/etc\"}"},
		{PRIV_USERCONF_GET, "{\"kind\": \"user\"}"},
		{PRIV_USERCONF_GET, "{\"kind\": \"user\", \"name\": [\"alice\"]}"},
		{PRIV_USERCONF_GET,
		 "{\"kind\": \"user\", \"name\": \"alice\", \"path\": \"/etc\"}"},
		{PRIV_USERCONF_DELETE, "{\"kind\": \"user\", \"name\": null}"},
		{PRIV_USERCONF_CHANGE,
		 "{\"kind\": \"user\", \"name\": \"alice\", \"replace\": true}"},
		{PRIV_USERCONF_CHANGE,
		 "{\"kind\": \"user\", \"name\": \"alice\", \"settings\": {}}"},
		{PRIV_USERCONF_CHANGE, "{\"kind\": \"user\", \"name\": \"alice\", \"replace\": 1, "
				       "\"settings\": {}}"},
		{PRIV_USERCONF_CHANGE,
		 "{\"kind\": \"user\", \"name\": \"alice\", \"replace\": true, "
		 "\"settings\": [\"dpd\"]}"},
		{PRIV_USERCONF_CHANGE,
		 "{\"kind\": \"user\", \"name\": \"alice\", \"replace\": true, "
		 "\"settings\": \"dpd = 1\"}"},
		{PRIV_USERCONF_CHANGE,
		 "{\"kind\": \"user\", \"name\": \"alice\", \"replace\": true, "
		 "\"settings\": {}, \"version\": \"1.5.0\"}"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].op, cases[i].args, ERR_PRIV_PROTOCOL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accounts_list_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounts_put_patch_lock_delete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_accounts_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounts_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounts_bad_usernames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounts_bad_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounts_bad_passwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounts_bad_imports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounts_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userconf_works, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userconf_bad_names_and_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userconf_bad_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userconf_protocol, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
