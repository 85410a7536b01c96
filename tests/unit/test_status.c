/* status.h: occtl's show status normalised to camelCase numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "occtl_json.h"
#include "status.h"
#include "unit.h"

/* Every member the normalised object always has. */
static const char *const all_keys[] = {
	"status",
	"serverPid",
	"secModPid",
	"secModInstanceCount",
	"rawUpSince",
	"upSince",
	"uptimeSeconds",
	"activeSessions",
	"totalSessions",
	"totalAuthFailures",
	"ipsInBanList",
	"rawLastStatsReset",
	"lastStatsReset",
	"sessionsHandled",
	"timedOutSessions",
	"timedOutIdleSessions",
	"closedDueToErrorSessions",
	"authFailures",
	"avgAuthTimeSeconds",
	"maxAuthTimeSeconds",
	"avgSessionTimeSeconds",
	"maxSessionTimeSeconds",
	"rxBytes",
	"txBytes",
};
#define N_KEYS (sizeof(all_keys) / sizeof(all_keys[0]))

static json_t *normalise_text(const char *text, int want_r)
{
	char err[256];
	struct err_info ei = {{0}};
	json_t *in = occtl_json_load(text, strlen(text), err, sizeof(err)), *out = NULL;
	int r;

	if (in == NULL)
		fail_msg("test JSON does not parse: %s", err);
	r = status_from_occtl(in, &out, &ei);
	json_decref(in);
	assert_int_equal(r, want_r);
	if (r < 0) {
		assert_null(out);
		assert_true(strlen(ei.detail) > 0);
	}
	return out;
}

static int64_t ival(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", key);
	return json_integer_value(v);
}

static const char *sval(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("%s is not a string", key);
	return json_string_value(v);
}

static void test_fixtures(void **state)
{
	static const struct {
		const char *version;
		int64_t server_pid, secmod_pid, raw_up, uptime;
		const char *up_iso;
	} e[] = {
		{"1.1.6", 9448, 9454, 1795291949, 1, "2026-11-21T20:12:29.000Z"},
		{"1.3.0", 9725, 9731, 1795291954, 2, "2026-11-21T20:12:34.000Z"},
		{"1.5.0", 10009, 10015, 1795291958, 2, "2026-11-21T20:12:38.000Z"},
	};

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		char *text = unit_read_fixture(e[v].version, "j-show-status", NULL);
		json_t *st;

		assert_non_null(text);
		st = normalise_text(text, 0);
		free(text);
		assert_string_equal(sval(st, "status"), "online");
		assert_int_equal(ival(st, "serverPid"), e[v].server_pid);
		assert_int_equal(ival(st, "secModPid"), e[v].secmod_pid);
		assert_int_equal(ival(st, "secModInstanceCount"), 1);
		assert_int_equal(ival(st, "activeSessions"), 3);
		assert_int_equal(ival(st, "ipsInBanList"), 1);
		assert_int_equal(ival(st, "totalSessions"), 0);
		assert_int_equal(ival(st, "totalAuthFailures"), 0);
		assert_int_equal(ival(st, "rawUpSince"), e[v].raw_up);
		assert_string_equal(sval(st, "upSince"), e[v].up_iso);
		assert_int_equal(ival(st, "rawLastStatsReset"), e[v].raw_up);
		assert_string_equal(sval(st, "lastStatsReset"), e[v].up_iso);
		assert_int_equal(ival(st, "uptimeSeconds"), e[v].uptime);
		assert_int_equal(ival(st, "rxBytes"), 0);
		assert_int_equal(ival(st, "txBytes"), 0);
		assert_int_equal(ival(st, "sessionsHandled"), 0);
		assert_int_equal(ival(st, "avgAuthTimeSeconds"), 0);
		assert_int_equal(ival(st, "maxSessionTimeSeconds"), 0);
		/* Exactly the stable shape: every key, nothing else (no raw occtl keys). */
		for (size_t k = 0; k < N_KEYS; k++)
			assert_non_null(json_object_get(st, all_keys[k]));
		assert_int_equal(json_object_size(st), N_KEYS);
		assert_null(json_object_get(st, "Server PID"));
		json_decref(st);
	}
}

/* Keys this ocserv did not print are present as JSON null, never absent. */
static void test_missing_keys_are_null(void **state)
{
	json_t *st;

	(void)state;
	st = normalise_text("{}", 0);
	assert_int_equal(json_object_size(st), N_KEYS);
	for (size_t k = 0; k < N_KEYS; k++) {
		json_t *v = json_object_get(st, all_keys[k]);
		if (v == NULL || !json_is_null(v))
			fail_msg("%s is absent or not null", all_keys[k]);
	}
	json_decref(st);

	st = normalise_text("{\"Status\": \"online\", \"raw_rx\": 123}", 0);
	assert_string_equal(sval(st, "status"), "online");
	assert_int_equal(ival(st, "rxBytes"), 123);
	assert_true(json_is_null(json_object_get(st, "txBytes")));
	assert_true(json_is_null(json_object_get(st, "upSince")));
	assert_int_equal(json_object_size(st), N_KEYS);
	json_decref(st);
}

static void test_value_types(void **state)
{
	json_t *st;

	(void)state;
	st = normalise_text("{\"Server PID\": \"123\", \"Sec-mod PID\": \"12abc\","
			    " \"Status\": 5, \"Active sessions\": \"\", \"uptime\": -3,"
			    " \"raw_up_since\": 0, \"raw_last_stats_reset\": \"1795291949\","
			    " \"raw_rx\": 9007199254740993, \"IPs in ban list\": [1]}",
			    0);
	assert_int_equal(ival(st, "serverPid"), 123);
	assert_true(json_is_null(json_object_get(st, "secModPid")));
	assert_true(json_is_null(json_object_get(st, "status")));
	assert_true(json_is_null(json_object_get(st, "activeSessions")));
	assert_true(json_is_null(json_object_get(st, "ipsInBanList")));
	/* An epoch of 0 is kept as a number but has no ISO form. */
	assert_int_equal(ival(st, "rawUpSince"), 0);
	assert_true(json_is_null(json_object_get(st, "upSince")));
	assert_int_equal(ival(st, "rawLastStatsReset"), 1795291949);
	assert_string_equal(sval(st, "lastStatsReset"), "2026-11-21T20:12:29.000Z");
	assert_int_equal(ival(st, "rxBytes"), INT64_C(9007199254740993));
	json_decref(st);
}

static void test_not_an_object(void **state)
{
	(void)state;
	assert_null(normalise_text("[]", ERR_OCCTL_BAD_JSON));
	assert_null(normalise_text("[{\"Status\": \"online\"}]", ERR_OCCTL_BAD_JSON));
	assert_null(normalise_text("\"online\"", ERR_OCCTL_BAD_JSON));
	assert_null(normalise_text("42", ERR_OCCTL_BAD_JSON));
	assert_null(normalise_text("null", ERR_OCCTL_BAD_JSON));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_missing_keys_are_null),
		cmocka_unit_test(test_value_types),
		cmocka_unit_test(test_not_an_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
