#include "status.h"

#include <stdlib.h>

#include "occtl_json.h"
#include "timefmt.h"

enum skind { ST_STR, ST_NUM, ST_EPOCH };

static const struct {
	const char *occtl;
	const char *name;
	enum skind kind;
	const char *iso_name; /* ST_EPOCH: also emit this ISO-8601 field */
} fields[] = {
	{"Status", "status", ST_STR, NULL},
	{"Server PID", "serverPid", ST_NUM, NULL},
	{"Sec-mod PID", "secModPid", ST_NUM, NULL},
	{"Sec-mod instance count", "secModInstanceCount", ST_NUM, NULL},
	{"raw_up_since", "rawUpSince", ST_EPOCH, "upSince"},
	{"uptime", "uptimeSeconds", ST_NUM, NULL},
	{"Active sessions", "activeSessions", ST_NUM, NULL},
	{"Total sessions", "totalSessions", ST_NUM, NULL},
	{"Total authentication failures", "totalAuthFailures", ST_NUM, NULL},
	{"IPs in ban list", "ipsInBanList", ST_NUM, NULL},
	{"raw_last_stats_reset", "rawLastStatsReset", ST_EPOCH, "lastStatsReset"},
	{"Sessions handled", "sessionsHandled", ST_NUM, NULL},
	{"Timed out sessions", "timedOutSessions", ST_NUM, NULL},
	{"Timed out (idle) sessions", "timedOutIdleSessions", ST_NUM, NULL},
	{"Closed due to error sessions", "closedDueToErrorSessions", ST_NUM, NULL},
	{"Authentication failures", "authFailures", ST_NUM, NULL},
	{"raw_avg_auth_time", "avgAuthTimeSeconds", ST_NUM, NULL},
	{"raw_max_auth_time", "maxAuthTimeSeconds", ST_NUM, NULL},
	{"raw_avg_session_time", "avgSessionTimeSeconds", ST_NUM, NULL},
	{"raw_max_session_time", "maxSessionTimeSeconds", ST_NUM, NULL},
	{"raw_rx", "rxBytes", ST_NUM, NULL},
	{"raw_tx", "txBytes", ST_NUM, NULL},
};

/* A number, or a string that is one ("1434"); NULL otherwise. */
static json_t *number(const json_t *v)
{
	int64_t n;

	if (json_is_integer(v))
		return json_integer(json_integer_value(v));
	n = json_is_string(v) ? occtl_json_uint_text(json_string_value(v)) : -1;
	return n >= 0 ? json_integer(n) : json_null();
}

/* ISO-8601 text of a positive epoch, or null (absent, or out of range). */
static json_t *iso_time(const json_t *epoch, char *buf, size_t len)
{
	const char *iso = json_is_integer(epoch) && json_integer_value(epoch) > 0
				  ? timefmt_epoch_iso8601(json_integer_value(epoch), buf, len)
				  : NULL;

	return iso ? json_string(iso) : json_null();
}

static int add_field(json_t *out, const json_t *in, size_t i)
{
	const json_t *v = json_object_get(in, fields[i].occtl);
	json_t *val, *iso = NULL;
	char buf[32];

	switch (fields[i].kind) {
	case ST_STR:
		val = json_is_string(v) ? json_string(json_string_value(v)) : json_null();
		break;
	case ST_EPOCH:
		val = number(v);
		iso = iso_time(val, buf, sizeof(buf));
		if (json_object_set_new(out, fields[i].iso_name, iso) < 0) {
			json_decref(val);
			return ERR_NOMEM;
		}
		break;
	default:
		val = number(v);
	}
	return json_object_set_new(out, fields[i].name, val) < 0 ? ERR_NOMEM : 0;
}

int status_from_occtl(const json_t *obj, json_t **ret, struct err_info *ei)
{
	json_t *out;

	if (!json_is_object(obj))
		return err_set(ei, ERR_OCCTL_BAD_JSON, "show status is not a JSON object");
	out = json_object();
	if (out == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (add_field(out, obj, i) < 0) {
			json_decref(out);
			return err_set(ei, ERR_NOMEM, "out of memory");
		}
	}
	*ret = out;
	return 0;
}
