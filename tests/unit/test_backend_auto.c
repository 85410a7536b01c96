/* backend_auto.c: OCSERV_BACKEND=auto over two fake backends and a fake
 * probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend_auto.h"
#include "err.h"
#include "ocserv.h"
#include "unit.h"

#define REPROBE_MS 300

/* A fake backend: counts calls, remembers the last arguments, returns
 * err (0: success with empty results). */
struct fake {
	const char *name;
	int calls;
	int err;
	char last[64]; /* the last operation and its argument, e.g. "user bob" */
	unsigned last_timeout;
};

static struct fake ctl_fk, occtl_fk;

static struct {
	bool answer;
	int calls;
} probe_fk;

static bool f_probe(void *arg, struct err_info *ei)
{
	assert_ptr_equal(arg, &probe_fk);
	probe_fk.calls++;
	if (!probe_fk.answer)
		err_set(ei, ERR_UNREACHABLE, "connect: no such file");
	return probe_fk.answer;
}

static int rec(void *be, const char *op, const char *arg, struct err_info *ei)
{
	struct fake *f = be;

	f->calls++;
	snprintf(f->last, sizeof(f->last), "%s %s", op, arg != NULL ? arg : "-");
	return f->err < 0 ? err_set(ei, f->err, "%s failed", f->name) : 0;
}

static int empty_sessions(struct session_list **ret)
{
	return session_list_parse_occtl("[ ]", 3, 0, ret, NULL);
}

static int f_status(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	int err = rec(be, "status", NULL, ei);

	((struct fake *)be)->last_timeout = timeout_ms;
	if (err == 0)
		*ret = json_pack("{s:s}", "backend", ((struct fake *)be)->name);
	return err;
}

static int f_list(void *be, struct session_list **ret, struct err_info *ei)
{
	int err = rec(be, "list", NULL, ei);

	return err < 0 ? err : empty_sessions(ret);
}

static int f_user(void *be, const char *username, struct session_list **ret, struct err_info *ei)
{
	int err = rec(be, "user", username, ei);

	return err < 0 ? err : empty_sessions(ret);
}

static int f_id(void *be, int64_t id, unsigned timeout_ms, struct session_list **ret,
		struct err_info *ei)
{
	char arg[32];
	int err;

	snprintf(arg, sizeof(arg), "%lld", (long long)id);
	err = rec(be, "id", arg, ei);
	((struct fake *)be)->last_timeout = timeout_ms;
	return err < 0 ? err : empty_sessions(ret);
}

static int f_disc_id(void *be, int64_t id, struct err_info *ei)
{
	return rec(be, "disconnect_id", NULL, ei);
}

static int f_disc_user(void *be, const char *name, struct err_info *ei)
{
	return rec(be, "disconnect_user", name, ei);
}

static int f_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	int err = rec(be, "version", NULL, ei);

	return err < 0 ? err : ocserv_version_parse("1.5.0", ret);
}

static int f_cookies(void *be, bool valid_only, struct cookie_list **ret, struct err_info *ei)
{
	int err = rec(be, "cookies", valid_only ? "valid" : "all", ei);

	return err < 0 ? err : cookie_list_parse_occtl("[]", 2, ret, ei);
}

static int f_cookie(void *be, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	int err = rec(be, "cookie", sid, ei);

	return err < 0 ? err : cookie_list_parse_occtl("[]", 2, ret, ei);
}

static int f_iroutes(void *be, struct iroute_list **ret, struct err_info *ei)
{
	int err = rec(be, "iroutes", NULL, ei);

	return err < 0 ? err : iroute_list_parse_occtl("[]", 2, ret, ei);
}

static int f_bans(void *be, struct ban_list **ret, struct err_info *ei)
{
	int err = rec(be, "bans", NULL, ei);

	return err < 0 ? err : ban_list_parse_occtl("[]", 2, 0, ret, ei);
}

static int f_ban_points(void *be, struct ban_list **ret, struct err_info *ei)
{
	int err = rec(be, "ban_points", NULL, ei);

	return err < 0 ? err : ban_list_parse_occtl("[]", 2, 0, ret, ei);
}

static int f_unban(void *be, const char *ip, struct err_info *ei)
{
	return rec(be, "unban", ip, ei);
}

static int f_reload(void *be, struct err_info *ei)
{
	return rec(be, "reload", NULL, ei);
}

static int f_term_id(void *be, int64_t id, struct err_info *ei)
{
	return rec(be, "terminate_id", NULL, ei);
}

static int f_term_user(void *be, const char *name, struct err_info *ei)
{
	return rec(be, "terminate_user", name, ei);
}

static int f_term_cookie(void *be, const char *sid, struct err_info *ei)
{
	return rec(be, "terminate_cookie", sid, ei);
}

static int freed;

static void f_free(void *be)
{
	freed++;
}

#define FAKE_OPS(n)                                                                               \
	{                                                                                         \
		.name = n, .status = f_status, .list = f_list, .user = f_user, .id = f_id,        \
		.disconnect_id = f_disc_id, .disconnect_user = f_disc_user, .version = f_version, \
		.cookies = f_cookies, .cookie = f_cookie, .iroutes = f_iroutes, .bans = f_bans,   \
		.ban_points = f_ban_points, .unban = f_unban, .reload = f_reload,                 \
		.terminate_id = f_term_id, .terminate_user = f_term_user,                         \
		.terminate_cookie = f_term_cookie, .free = f_free,                                \
	}
static const struct ocserv_backend_ops ctl_ops = FAKE_OPS("ctl");
static const struct ocserv_backend_ops occtl_ops = FAKE_OPS("occtl");

/* stderr goes to a file while a test runs, to count log lines. */
static char logpath[64];
static int saved_stderr = -1;

static int setup(void **state)
{
	int fd;

	memset(&ctl_fk, 0, sizeof(ctl_fk));
	memset(&occtl_fk, 0, sizeof(occtl_fk));
	ctl_fk.name = "ctl";
	occtl_fk.name = "occtl";
	probe_fk.answer = true;
	probe_fk.calls = 0;
	freed = 0;
	snprintf(logpath, sizeof(logpath), "/tmp/test_backend_auto.%d.log", (int)getpid());
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	*state = backend_auto_new_reprobe(ocserv_new(&ctl_ops, &ctl_fk),
					  ocserv_new(&occtl_ops, &occtl_fk), f_probe, &probe_fk,
					  REPROBE_MS);
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char *text;

	ocserv_free(*state);
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	/* What went to stderr meanwhile, cmocka's failure messages included. */
	text = unit_read_file(logpath, NULL);
	if (text != NULL)
		fputs(text, stderr);
	free(text);
	unlink(logpath);
	return 0;
}

/* How many log lines so far contain s. */
static int log_lines(const char *s)
{
	char *text, *p;
	int n = 0;

	fflush(stderr);
	text = unit_read_file(logpath, NULL);
	assert_non_null(text);
	for (p = text; (p = strstr(p, s)) != NULL; p += strlen(s))
		n++;
	free(text);
	return n;
}

static void list_ok(struct ocserv *oc)
{
	struct session_list *l = NULL;
	struct err_info ei;

	assert_int_equal(ocserv_list(oc, &l, &ei), 0);
	assert_non_null(l);
	session_list_free(l);
}

static void probe_true_uses_ctl(void **state)
{
	struct ocserv *oc = *state;

	assert_string_equal(ocserv_backend_name(oc), "auto");
	for (int i = 0; i < 3; i++)
		list_ok(oc);
	assert_int_equal(ctl_fk.calls, 3);
	assert_int_equal(occtl_fk.calls, 0);
	assert_int_equal(probe_fk.calls, 1); /* once, not per call */
	assert_string_equal(ocserv_backend_in_use(oc), "ctl");
	assert_int_equal(log_lines("backend=ctl"), 1);
}

static void probe_false_uses_occtl(void **state)
{
	struct ocserv *oc = *state;

	probe_fk.answer = false;
	assert_string_equal(ocserv_backend_in_use(oc), "occtl"); /* probes, as a call would */
	list_ok(oc);
	list_ok(oc);
	assert_int_equal(ctl_fk.calls, 0);
	assert_int_equal(occtl_fk.calls, 2);
	assert_int_equal(probe_fk.calls, 1);
	assert_int_equal(log_lines("backend=occtl"), 1);
	assert_int_equal(log_lines("no such file"), 1); /* the probe's reason */
}

/* ctl unreachable in a call: the same call on occtl, which serves from
 * then on (ctl is not tried again until the re-probe). */
static void unreachable_falls_back_to_occtl(void **state)
{
	struct ocserv *oc = *state;
	struct err_info ei;

	list_ok(oc);
	assert_string_equal(ocserv_backend_in_use(oc), "ctl");
	ctl_fk.err = ERR_UNREACHABLE;
	assert_int_equal(ocserv_disconnect_user(oc, "bob", &ei), 0);
	assert_string_equal(ctl_fk.last, "disconnect_user bob");
	assert_string_equal(occtl_fk.last, "disconnect_user bob");
	assert_int_equal(ctl_fk.calls, 2);
	assert_int_equal(occtl_fk.calls, 1);
	assert_string_equal(ocserv_backend_in_use(oc), "occtl");
	for (int i = 0; i < 3; i++)
		list_ok(oc);
	assert_int_equal(ctl_fk.calls, 2);
	assert_int_equal(occtl_fk.calls, 4);
	assert_int_equal(log_lines("backend=occtl"), 1); /* once per switch */
	assert_int_equal(log_lines("ctl failed"), 1);
}

/* The fallback's own error is what the caller gets. */
static void unreachable_then_occtl_error(void **state)
{
	struct ocserv *oc = *state;
	struct session_list *l = NULL;
	struct err_info ei;

	ctl_fk.err = ERR_UNREACHABLE;
	occtl_fk.err = ERR_OCCTL_TIMEOUT;
	assert_int_equal(ocserv_user(oc, "alice", &l, &ei), ERR_OCCTL_TIMEOUT);
	assert_null(l);
	assert_string_equal(ei.detail, "occtl failed");
	assert_string_equal(occtl_fk.last, "user alice");
}

static void reprobe_after_interval(void **state)
{
	struct ocserv *oc = *state;

	probe_fk.answer = false;
	list_ok(oc);
	assert_string_equal(ocserv_backend_in_use(oc), "occtl");
	probe_fk.answer = true;
	list_ok(oc); /* within the interval: no probe */
	assert_int_equal(probe_fk.calls, 1);
	assert_int_equal(occtl_fk.calls, 2);
	usleep((REPROBE_MS + 40) * 1000);
	list_ok(oc);
	assert_int_equal(probe_fk.calls, 2);
	assert_int_equal(ctl_fk.calls, 1);
	assert_string_equal(ocserv_backend_in_use(oc), "ctl");
	list_ok(oc); /* on ctl: no more probes */
	assert_int_equal(probe_fk.calls, 2);
	assert_int_equal(log_lines("backend=occtl"), 1);
	assert_int_equal(log_lines("backend=ctl"), 1);
}

/* A failed re-probe keeps occtl, quietly, and waits another interval. */
static void failed_reprobe_stays_quiet(void **state)
{
	struct ocserv *oc = *state;

	probe_fk.answer = false;
	list_ok(oc);
	for (int i = 0; i < 2; i++) {
		usleep((REPROBE_MS + 40) * 1000);
		list_ok(oc);
		list_ok(oc);
	}
	assert_int_equal(probe_fk.calls, 3);
	assert_int_equal(ctl_fk.calls, 0);
	assert_int_equal(occtl_fk.calls, 5);
	assert_int_equal(log_lines("backend=occtl"), 1);
}

/* Any other ctl result is an answer: no fallback, no switch. */
static void other_ctl_errors_returned(void **state)
{
	static const int errs[] = {ERR_OCCTL_TIMEOUT, ERR_NOT_SUPPORTED, ERR_NOT_FOUND,
				   ERR_CTL_PROTOCOL, ERR_OCCTL_FAILED};
	struct ocserv *oc = *state;
	struct err_info ei;

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		ctl_fk.err = errs[i];
		assert_int_equal(ocserv_terminate_id(oc, 5, &ei), errs[i]);
		assert_string_equal(ei.detail, "ctl failed");
	}
	assert_int_equal(occtl_fk.calls, 0);
	assert_string_equal(ocserv_backend_in_use(oc), "ctl");
}

/* Every operation reaches the chosen backend with its arguments. */
static void every_operation_delegated(void **state)
{
	struct ocserv *oc = *state;
	struct session_list *sl;
	struct cookie_list *cl;
	struct iroute_list *il;
	struct ban_list *bl;
	struct ocserv_version v;
	json_t *j;
	struct fake *fks[] = {&ctl_fk, &occtl_fk};

	for (int round = 0; round < 2; round++) {
		struct fake *f = fks[round];
		if (round == 1) {
			ctl_fk.err = ERR_UNREACHABLE; /* the first call falls back */
			probe_fk.answer = false;      /* and a slow re-probe too */
		}
		assert_int_equal(ocserv_status(oc, 250, &j, NULL), 0);
		assert_int_equal(f->last_timeout, 250);
		assert_string_equal(json_string_value(json_object_get(j, "backend")), f->name);
		json_decref(j);
#define CHECK(call, expect)                             \
	do {                                            \
		assert_int_equal((call), 0);            \
		assert_string_equal(f->last, (expect)); \
	} while (0)
		CHECK(ocserv_list(oc, &sl, NULL), "list -");
		session_list_free(sl);
		CHECK(ocserv_user(oc, "carol", &sl, NULL), "user carol");
		session_list_free(sl);
		CHECK(ocserv_id(oc, 42, &sl, NULL), "id 42");
		assert_int_equal(f->last_timeout, 0);
		session_list_free(sl);
		CHECK(ocserv_id_within(oc, 43, 700, &sl, NULL), "id 43");
		assert_int_equal(f->last_timeout, 700);
		session_list_free(sl);
		CHECK(ocserv_version(oc, &v, NULL), "version -");
		CHECK(ocserv_cookies(oc, true, &cl, NULL), "cookies valid");
		cookie_list_free(cl);
		CHECK(ocserv_cookie(oc, "SID", &cl, NULL), "cookie SID");
		cookie_list_free(cl);
		CHECK(ocserv_iroutes(oc, &il, NULL), "iroutes -");
		iroute_list_free(il);
		CHECK(ocserv_bans(oc, &bl, NULL), "bans -");
		ban_list_free(bl);
		CHECK(ocserv_ban_points(oc, &bl, NULL), "ban_points -");
		ban_list_free(bl);
		CHECK(ocserv_disconnect_id(oc, 1, NULL), "disconnect_id -");
		CHECK(ocserv_disconnect_user(oc, "dave", NULL), "disconnect_user dave");
		CHECK(ocserv_unban(oc, "10.1.2.3", NULL), "unban 10.1.2.3");
		CHECK(ocserv_reload(oc, NULL), "reload -");
		CHECK(ocserv_terminate_id(oc, 2, NULL), "terminate_id -");
		CHECK(ocserv_terminate_user(oc, "erin", NULL), "terminate_user erin");
		CHECK(ocserv_terminate_cookie(oc, "SID2", NULL), "terminate_cookie SID2");
#undef CHECK
		assert_int_equal(f->calls, 18);
	}
	/* Round 2 went to ctl once (unreachable), then stayed on occtl. */
	assert_int_equal(ctl_fk.calls, 19);
	assert_string_equal(ocserv_backend_in_use(oc), "occtl");
}

static void frees_both(void **state)
{
	ocserv_free(*state);
	*state = NULL;
	assert_int_equal(freed, 2);
}

/* A failed constructor's NULL is refused, and the other half freed. */
static void null_half_refused(void **state)
{
	freed = 0;
	assert_null(backend_auto_new(NULL, ocserv_new(&occtl_ops, &occtl_fk), f_probe, &probe_fk));
	assert_int_equal(freed, 1);
	assert_null(backend_auto_new(ocserv_new(&ctl_ops, &ctl_fk), NULL, f_probe, &probe_fk));
	assert_int_equal(freed, 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(probe_true_uses_ctl),
		T(probe_false_uses_occtl),
		T(unreachable_falls_back_to_occtl),
		T(unreachable_then_occtl_error),
		T(reprobe_after_interval),
		T(failed_reprobe_stays_quiet),
		T(other_ctl_errors_returned),
		T(every_operation_delegated),
		T(frees_both),
		cmocka_unit_test(null_half_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
