/* priv_ops.h: the dispatcher's two stages of checks (shape: a protocol
 * error; values: an ordinary refusal naming the member), with the real
 * operation tables, that nothing runs when they refuse, one-process mode,
 * and the tables' sanity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "priv_ops.h"
#include "secmem.h"
#include "unit.h"
#include "validate.h"

static const struct priv_op_def *const *all_tables(size_t *n)
{
	static const struct priv_op_def *const t[] = {
		priv_ops_ocserv, priv_ops_accounts, priv_ops_userconf,
		priv_ops_config, priv_ops_system,
	};

	*n = sizeof(t) / sizeof(t[0]);
	return t;
}

/* ---- a fake backend that counts what runs ---- */

static int runs;

static int f_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	(void)be, (void)ei;
	runs++;
	return ocserv_version_parse("1.5.0", ret);
}

static int f_disconnect_id(void *be, int64_t id, struct err_info *ei)
{
	(void)be;
	runs++;
	return err_set(ei, ERR_NOT_FOUND, "no session %lld", (long long)id);
}

static int f_user(void *be, const char *username, struct session_list **ret, struct err_info *ei)
{
	(void)be, (void)username;
	runs++;
	return session_list_parse_occtl("[]", 2, 1000, ret, ei);
}

static void f_free(void *be)
{
	(void)be;
}

static const struct ocserv_backend_ops fake_ops = {
	.name = "fake",
	.version = f_version,
	.disconnect_id = f_disconnect_id,
	.user = f_user,
	.free = f_free,
};

/* ---- the checks ---- */

/* Check args (taken) for op; on a refusal, the reason is there. */
static int check(enum priv_op op, json_t *args, struct priv_error *pe)
{
	int r;

	memset(pe, 0, sizeof(*pe));
	r = priv_check_args(op, args, pe);
	json_decref(args);
	if (r < 0)
		assert_true(pe->ei.detail[0] != '\0');
	if (r == ERR_PRIV_PROTOCOL)
		assert_string_equal(pe->message, ""); /* nothing for a client */
	return r;
}

/* A refusal of the value of member name: ERR_BAD_REQUEST, "name: why". */
static void assert_value_refused(enum priv_op op, json_t *args, const char *name)
{
	struct priv_error pe;
	char prefix[64];

	assert_int_equal(check(op, args, &pe), ERR_BAD_REQUEST);
	snprintf(prefix, sizeof(prefix), "%s: ", name);
	if (strncmp(pe.message, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s' does not name %s", pe.message, name);
}

static void test_shape_refusals(void **state)
{
	struct priv_error pe;

	(void)state;
	/* the op */
	assert_int_equal(check(PRIV_OP_NONE, json_object(), &pe), ERR_PRIV_PROTOCOL);
	assert_int_equal(check(PRIV_OP_MAX, json_object(), &pe), ERR_PRIV_PROTOCOL);
	assert_int_equal(check((enum priv_op) - 1, json_object(), &pe), ERR_PRIV_PROTOCOL);
	/* not an object */
	assert_int_equal(check(PRIV_OCSERV_VERSION, json_array(), &pe), ERR_PRIV_PROTOCOL);
	assert_int_equal(check(PRIV_OCSERV_VERSION, NULL, &pe), ERR_PRIV_PROTOCOL);
	/* unknown member */
	assert_int_equal(check(PRIV_OCSERV_VERSION, json_pack("{s:s}", "path", "/etc/shadow"), &pe),
			 ERR_PRIV_PROTOCOL);
	assert_non_null(strstr(pe.ei.detail, "path"));
	assert_int_equal(check(PRIV_OCSERV_USER,
			       json_pack("{s:s,s:b}", "username", "alice", "force", 1), &pe),
			 ERR_PRIV_PROTOCOL);
	/* wrong type */
	assert_int_equal(check(PRIV_OCSERV_USER, json_pack("{s:i}", "username", 5), &pe),
			 ERR_PRIV_PROTOCOL);
	assert_non_null(strstr(pe.ei.detail, "username"));
	assert_int_equal(check(PRIV_OCSERV_USER, json_pack("{s:n}", "username"), &pe),
			 ERR_PRIV_PROTOCOL);
	assert_int_equal(check(PRIV_OCSERV_ID, json_pack("{s:s}", "id", "7"), &pe),
			 ERR_PRIV_PROTOCOL);
	assert_int_equal(check(PRIV_OCSERV_ID, json_pack("{s:f}", "id", 7.0), &pe),
			 ERR_PRIV_PROTOCOL);
	assert_int_equal(check(PRIV_OCSERV_ID, json_pack("{s:i,s:n}", "id", 7, "timeoutMs"), &pe),
			 ERR_PRIV_PROTOCOL);
	assert_int_equal(check(PRIV_OCSERV_COOKIES, json_pack("{s:i}", "validOnly", 1), &pe),
			 ERR_PRIV_PROTOCOL);
	/* missing required */
	assert_int_equal(check(PRIV_OCSERV_USER, json_object(), &pe), ERR_PRIV_PROTOCOL);
	assert_non_null(strstr(pe.ei.detail, "username"));
	assert_int_equal(check(PRIV_OCSERV_ID, json_pack("{s:i}", "timeoutMs", 5), &pe),
			 ERR_PRIV_PROTOCOL);
	assert_int_equal(check(PRIV_OCSERV_COOKIES, json_object(), &pe), ERR_PRIV_PROTOCOL);
	/* and what passes */
	assert_int_equal(check(PRIV_OCSERV_VERSION, json_object(), &pe), 0);
	assert_int_equal(check(PRIV_OCSERV_USER, json_pack("{s:s}", "username", "alice"), &pe), 0);
	assert_int_equal(check(PRIV_OCSERV_ID, json_pack("{s:i}", "id", 7), &pe), 0);
	assert_int_equal(check(PRIV_OCSERV_COOKIES, json_pack("{s:b}", "validOnly", 0), &pe), 0);
}

/* Every declared member of every operation that exists, given a value of
 * the wrong JSON type, and an undeclared member: shape errors. */
static void test_shape_every_table(void **state)
{
	static const char *const wrong[] = {"1", "\"s\"", "true", "{}", "[]", "null", "1.5"};
	size_t nt, checked = 0;
	const struct priv_op_def *const *t = all_tables(&nt);
	struct priv_error pe;

	(void)state;
	for (size_t i = 0; i < nt; i++)
		for (const struct priv_op_def *d = t[i]; d->op != PRIV_OP_NONE; d++) {
			assert_int_equal(check(d->op, json_pack("{s:i}", "noSuchMember", 1), &pe),
					 ERR_PRIV_PROTOCOL);
			for (const struct priv_arg *a = d->args; a->name != NULL; a++)
				for (size_t w = 0; w < sizeof(wrong) / sizeof(wrong[0]); w++) {
					json_t *v = json_loads(wrong[w], JSON_DECODE_ANY, NULL);
					bool fits;

					switch (a->kind) {
					case PRIV_ARG_STRING:
						fits = json_is_string(v);
						break;
					case PRIV_ARG_NULLABLE_STRING:
						fits = json_is_string(v) || json_is_null(v);
						break;
					case PRIV_ARG_INT:
						fits = json_is_integer(v);
						break;
					case PRIV_ARG_BOOL:
						fits = json_is_boolean(v);
						break;
					case PRIV_ARG_OBJECT:
						fits = json_is_object(v);
						break;
					default:
						fits = json_is_array(v);
						break;
					}
					if (fits) {
						json_decref(v);
						continue;
					}
					if (check(d->op, json_pack("{s:o}", a->name, v), &pe) !=
					    ERR_PRIV_PROTOCOL)
						fail_msg("%s: %s = %s passed the shape check",
							 d->name, a->name, wrong[w]);
					checked++;
				}
		}
	assert_true(checked > 0);
}

static void test_value_refusals(void **state)
{
	char long_name[USERNAME_MAX + 2];
	struct priv_error pe;

	(void)state;
	/* too long */
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_value_refused(PRIV_OCSERV_USER, json_pack("{s:s}", "username", long_name),
			     "username");
	long_name[USERNAME_MAX] = '\0';
	assert_int_equal(check(PRIV_OCSERV_USER, json_pack("{s:s}", "username", long_name), &pe),
			 0);
	/* a NUL inside a string */
	assert_value_refused(PRIV_OCSERV_USER,
			     json_pack("{s:s%}", "username", "alice\0-x", (size_t)8), "username");
	/* out of range */
	assert_value_refused(PRIV_OCSERV_ID, json_pack("{s:i}", "id", 0), "id");
	assert_value_refused(PRIV_OCSERV_ID, json_pack("{s:i}", "id", -1), "id");
	assert_value_refused(PRIV_OCSERV_ID, json_pack("{s:I}", "id", (json_int_t)INT64_MAX), "id");
	assert_value_refused(PRIV_OCSERV_ID, json_pack("{s:i,s:i}", "id", 1, "timeoutMs", 0),
			     "timeoutMs");
	/* the member's own check (the API's validators) */
	assert_value_refused(PRIV_OCSERV_USER, json_pack("{s:s}", "username", "-oProxyCommand=x"),
			     "username");
	assert_value_refused(PRIV_OCSERV_USER, json_pack("{s:s}", "username", "a\nb"), "username");
	assert_value_refused(PRIV_OCSERV_UNBAN, json_pack("{s:s}", "ip", "1.2.3.4; reboot"), "ip");
	assert_value_refused(PRIV_OCSERV_COOKIE, json_pack("{s:s}", "sid", "../../x"), "sid");
	assert_int_equal(check(PRIV_OCSERV_UNBAN, json_pack("{s:s}", "ip", "192.0.2.1"), &pe), 0);
}

/* ARRAY and NULLABLE_STRING members, in whichever table declares one. */
static void test_value_other_kinds(void **state)
{
	size_t nt, seen = 0;
	const struct priv_op_def *const *t = all_tables(&nt);
	struct priv_error pe;

	(void)state;
	for (size_t i = 0; i < nt; i++)
		for (const struct priv_op_def *d = t[i]; d->op != PRIV_OP_NONE; d++)
			for (const struct priv_arg *a = d->args; a->name != NULL; a++) {
				json_t *args;

				if (a->kind == PRIV_ARG_ARRAY && a->max < 100000) {
					args = json_object();
					json_t *arr = json_array();
					for (int64_t k = 0; k <= a->max; k++)
						json_array_append_new(arr, json_null());
					json_object_set_new(args, a->name, arr);
					/* Only this member: a shape error for a missing
					 * one comes first; otherwise the count refuses. */
					int r = check(d->op, args, &pe);
					assert_true(r == ERR_PRIV_PROTOCOL || r == ERR_BAD_REQUEST);
					seen++;
				}
				if (a->kind == PRIV_ARG_NULLABLE_STRING) {
					args = json_pack("{s:n}", a->name);
					int r = check(d->op, args, &pe);
					/* null is of the declared shape: never "is not a" */
					if (r == ERR_PRIV_PROTOCOL)
						assert_null(strstr(pe.ei.detail, "is not a"));
					seen++;
				}
			}
	if (seen == 0)
		skip(); /* no table declares one yet */
}

/* ---- dispatch ---- */

static void test_dispatch_runs_only_checked(void **state)
{
	struct priv_root r = {.oc = ocserv_new(&fake_ops, NULL)};
	struct priv_error pe = {0};
	json_t *args, *ret = (json_t *)1;

	(void)state;
	runs = 0;
	args = json_pack("{s:i}", "id", 0);
	assert_int_equal(priv_dispatch(&r, "r1", PRIV_OCSERV_DISCONNECT_ID, args, &ret, &pe),
			 ERR_BAD_REQUEST);
	assert_null(ret);
	json_decref(args);
	args = json_pack("{s:s}", "id", "1");
	assert_int_equal(priv_dispatch(&r, "r1", PRIV_OCSERV_DISCONNECT_ID, args, &ret, &pe),
			 ERR_PRIV_PROTOCOL);
	json_decref(args);
	assert_int_equal(runs, 0); /* ocserv never touched */

	args = json_pack("{s:i}", "id", 42);
	memset(&pe, 0, sizeof(pe));
	assert_int_equal(priv_dispatch(&r, "r1", PRIV_OCSERV_DISCONNECT_ID, args, &ret, &pe),
			 ERR_NOT_FOUND);
	assert_string_equal(pe.ei.detail, "no session 42");
	json_decref(args);
	args = json_object();
	assert_int_equal(priv_dispatch(&r, "r1", PRIV_OCSERV_VERSION, args, &ret, &pe), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "text")), "1.5.0");
	json_decref(ret);
	json_decref(args);
	assert_int_equal(runs, 2);
	ocserv_free(r.oc);
}

static void test_local(void **state)
{
	struct priv_root r = {.oc = ocserv_new(&fake_ops, NULL)};
	struct priv *p = priv_local_new(&r);
	struct priv_error pe;
	json_t *ret;

	(void)state;
	runs = 0;
	assert_int_equal(priv_call(p, NULL, PRIV_OCSERV_VERSION, json_object(), &ret, &pe), 0);
	json_decref(ret);
	assert_int_equal(priv_call(p, NULL, PRIV_OCSERV_USER, json_pack("{s:s}", "username", "bob"),
				   &ret, &pe),
			 0);
	assert_true(json_is_array(ret));
	json_decref(ret);
	/* Refusals: args consumed all the same (ASan would see a leak). */
	assert_int_equal(
		priv_call(p, NULL, PRIV_OCSERV_USER, json_pack("{s:i}", "username", 1), &ret, &pe),
		ERR_PRIV_PROTOCOL);
	assert_null(ret);
	assert_int_equal(priv_call(p, NULL, PRIV_OCSERV_USER, json_pack("{s:s}", "username", "-x"),
				   &ret, &pe),
			 ERR_BAD_REQUEST);
	assert_int_equal(priv_call(p, NULL, PRIV_OCSERV_USER, NULL, &ret, &pe), ERR_NOMEM);
	assert_int_equal(runs, 2);
	priv_free(p);
	ocserv_free(r.oc);
}

static void test_helpers(void **state)
{
	json_t *a = json_pack("{s:s,s:i,s:b,s:n}", "s", "v", "i", 5, "b", 1, "n");
	struct priv_error pe = {0};

	(void)state;
	assert_string_equal(priv_op_name(PRIV_OCSERV_VERSION), "ocserv.version");
	assert_null(priv_op_name(PRIV_OP_NONE));
	assert_null(priv_op_name(PRIV_OP_MAX));
	assert_string_equal(priv_arg_str(a, "s"), "v");
	assert_null(priv_arg_str(a, "n"));
	assert_null(priv_arg_str(a, "i"));
	assert_int_equal(priv_arg_int(a, "i", -1), 5);
	assert_int_equal(priv_arg_int(a, "x", -1), -1);
	assert_true(priv_arg_bool(a, "b", false));
	assert_true(priv_arg_bool(a, "x", true));
	assert_int_equal(priv_fail(&pe, ERR_CONFLICT, "%s exists", "alice"), ERR_CONFLICT);
	assert_string_equal(pe.message, "alice exists");
	json_decref(a);
}

/* ---- the tables ----
 * INTENDED TO FAIL until every operation of priv.h has its table entry
 * (priv_ops_accounts.c, _userconf.c, _config.c, _system.c are written by
 * other hands): every op in (PRIV_OP_NONE, PRIV_OP_MAX) has exactly one
 * definition, every name is unique, every size is bounded. */
/* The root side logs every op that changes something or hands out
 * secrets: the list must
 * follow the names, so a new writing op cannot be forgotten silently. */
static void test_writes_follow_names(void **state)
{
	static const char *const verbs[] = {"put",	 "patch",  "delete", "lock",
					    "import",	 "change", "action", "disconnect",
					    "terminate", "unban",  "reload", "export"};

	(void)state;
	for (int op = PRIV_OP_NONE + 1; op < PRIV_OP_MAX; op++) {
		const char *name = priv_op_name(op);
		bool verb = false;

		assert_non_null(name);
		for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
			verb = verb || strstr(name, verbs[i]) != NULL;
		if (verb != priv_op_audited(op))
			fail_msg("%s: writes=%d", name, priv_op_audited(op));
	}
}

static void test_tables_complete(void **state)
{
	size_t nt, defs = 0, missing = 0;
	const struct priv_op_def *const *t = all_tables(&nt);
	int count[PRIV_OP_MAX] = {0};
	const char *names[PRIV_OP_MAX * 2];

	(void)state;
	for (size_t i = 0; i < nt; i++)
		for (const struct priv_op_def *d = t[i]; d->op != PRIV_OP_NONE; d++) {
			if (d->op <= PRIV_OP_NONE || d->op >= PRIV_OP_MAX)
				fail_msg("a definition of op %d, out of range", (int)d->op);
			count[d->op]++;
			if (d->name == NULL || d->run == NULL || d->args == NULL)
				fail_msg("op %d: no name, run or args", (int)d->op);
			for (size_t k = 0; k < defs; k++)
				if (strcmp(names[k], d->name) == 0)
					fail_msg("two operations named %s", d->name);
			if (defs < sizeof(names) / sizeof(names[0]))
				names[defs++] = d->name;
			for (const struct priv_arg *a = d->args; a->name != NULL; a++) {
				if ((a->kind == PRIV_ARG_STRING ||
				     a->kind == PRIV_ARG_NULLABLE_STRING ||
				     a->kind == PRIV_ARG_ARRAY) &&
				    a->max <= 0)
					fail_msg("%s: %s has no size limit", d->name, a->name);
				if (a->kind == PRIV_ARG_INT && a->min > a->max)
					fail_msg("%s: %s has an empty range", d->name, a->name);
				for (const struct priv_arg *b = d->args; b != a; b++)
					if (strcmp(a->name, b->name) == 0)
						fail_msg("%s: %s declared twice", d->name, a->name);
			}
		}
	for (int op = PRIV_OP_NONE + 1; op < PRIV_OP_MAX; op++) {
		if (count[op] > 1)
			fail_msg("op %d defined %d times", op, count[op]);
		if (count[op] == 0) {
			print_message("op %d has no definition\n", op);
			missing++;
		}
	}
	if (missing > 0)
		fail_msg("%zu of %d operations have no definition yet", missing, PRIV_OP_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape_refusals),
		cmocka_unit_test(test_shape_every_table),
		cmocka_unit_test(test_value_refusals),
		cmocka_unit_test(test_value_other_kinds),
		cmocka_unit_test(test_dispatch_runs_only_checked),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_tables_complete),
		cmocka_unit_test(test_writes_follow_names),
	};

	secmem_init_json();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
