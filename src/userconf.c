#include "userconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_edit.h"
#include "conf_value.h"
#include "log.h"
#include "ocserv_conf.h"
#include "readall.h"
#include "utf8.h"

/* ---- names ---- */

const char *userconf_kind_name(enum userconf_kind kind)
{
	return kind == USERCONF_GROUP ? "group" : "user";
}

static const char *conf_key(enum userconf_kind kind)
{
	return kind == USERCONF_GROUP ? "config-per-group" : "config-per-user";
}

const char *userconf_check_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return "a name must not be empty";
	if (len > USERCONF_NAME_MAX)
		return "a name is at most 63 bytes";
	if (name[0] == '-' || name[0] == '.')
		return "a name must not start with '-' or '.'";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == ' ')
			return "a name must not contain white space or control characters";
		if (c == '/' || c == ':' || c == ',')
			return "a name must not contain '/', ':' or ','";
	}
	if (!utf8_valid((const unsigned char *)name, len))
		return "a name must be valid UTF-8";
	/* NAME.tmp is the lock of NAME's changes (atomic_file.h). */
	if (len >= 4 && strcmp(name + len - 4, ".tmp") == 0)
		return "a name must not end in \".tmp\"";
	return NULL;
}

/* ---- the key table ---- */

enum vtype {
	T_BOOL,
	T_INT,
	T_RATE, /* bytes per second: ocserv divides by 1000 */
	T_PRIO, /* 0..6, or a TOS byte "0xNN" */
	T_TEXT,
};

#define VER(a, b, c) ((a)*10000u + (b)*100u + (c))

struct key_def {
	const char *name;
	enum vtype type;
	bool multi;
	const char *(*check)(const char *s); /* T_TEXT */
	long long min, max;		     /* T_INT, T_RATE */
	unsigned since, until;		     /* read from since, before until (0: no bound) */
	const char *other;		     /* the spelling of other versions */
};

/* clang-format off */
#define BOOL(n)		{.name = n, .type = T_BOOL}
#define INT(n, lo, hi)	{.name = n, .type = T_INT, .min = lo, .max = hi}
#define TEXT(n, f)	{.name = n, .type = T_TEXT, .check = f}
#define MULTI(n, f)	{.name = n, .type = T_TEXT, .multi = true, .check = f}
/* clang-format on */
#define DAY  86400
#define YEAR (365 * DAY)

/* What ocserv 1.1.6, 1.3.0 and 1.5.0 read in these files (sup-config/file.c;
 * each checked against the real servers: the others log "skipping unknown
 * option"). The bounds are the agent's: wide enough for any real setting,
 * narrow enough to catch a typo. */
static const struct key_def keys[] = {
	BOOL("no-udp"),
	BOOL("restrict-user-to-routes"),
	{.name = "tunnel_all_dns",
	 .type = T_BOOL,
	 .until = VER(1, 5, 0),
	 .other = "tunnel-all-dns"},
	{.name = "tunnel-all-dns",
	 .type = T_BOOL,
	 .since = VER(1, 5, 0),
	 .other = "tunnel_all_dns"},
	BOOL("deny-roaming"),
	BOOL("client-bypass-protocol"),
	MULTI("route", conf_value_route),
	MULTI("no-route", conf_value_subnet),
	MULTI("iroute", conf_value_subnet),
	MULTI("split-dns", conf_value_domain),
	MULTI("dns", conf_value_ip),
	MULTI("ipv4-dns", conf_value_ipv4),
	MULTI("ipv6-dns", conf_value_ipv6),
	MULTI("nbns", conf_value_ip),
	MULTI("ipv4-nbns", conf_value_ipv4),
	MULTI("ipv6-nbns", conf_value_ipv6),
	TEXT("ipv4-network", conf_value_ipv4_network),
	TEXT("ipv4-netmask", conf_value_netmask),
	TEXT("explicit-ipv4", conf_value_ipv4),
	TEXT("ipv6-network", conf_value_ipv6_network),
	TEXT("explicit-ipv6", conf_value_ipv6),
	INT("ipv6-subnet-prefix", 1, 128),
	TEXT("hostname", conf_value_domain),
	{.name = "rx-data-per-sec", .type = T_RATE, .max = 2147483647},
	{.name = "tx-data-per-sec", .type = T_RATE, .max = 2147483647},
	INT("stats-report-time", 0, DAY),
	INT("session-timeout", 0, YEAR),
	INT("mtu", 576, 9000),
	INT("dpd", 0, DAY),
	INT("mobile-dpd", 0, DAY),
	INT("idle-timeout", 0, YEAR),
	INT("mobile-idle-timeout", 0, YEAR),
	INT("keepalive", 0, DAY),
	INT("max-same-clients", 0, 65535),
	{.name = "net-priority", .type = T_PRIO},
	TEXT("user-profile", conf_value_abs_path),
	TEXT("restrict-user-to-ports", conf_value_ports),
	{.name = "cgroup", .type = T_TEXT, .check = conf_value_cgroup, .until = VER(1, 5, 0)},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key_def *key_find(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool version_known(const struct ocserv_version *v)
{
	return v != NULL && v->text[0] != '\0';
}

/* Whether the running ocserv reads k (every version's keys when unknown). */
static bool key_in_version(const struct key_def *k, const struct ocserv_version *v)
{
	unsigned n;

	if (!version_known(v))
		return true;
	n = VER(v->major, v->minor, v->patch);
	return (k->since == 0 || n >= k->since) && (k->until == 0 || n < k->until);
}

bool userconf_key_allowed(const char *key, const struct ocserv_version *v, char *why,
			  size_t why_len)
{
	const struct key_def *k = key_find(key);
	char q[80];

	if (k != NULL && key_in_version(k, v))
		return true;
	log_quote(key, q, sizeof(q));
	if (k == NULL)
		snprintf(why, why_len,
			 "unknown key \"%s\": ocserv does not read it in per-user or per-group "
			 "files",
			 q);
	else if (k->other != NULL)
		snprintf(why, why_len, "ocserv %s does not read %s: it spells it %s", v->text,
			 k->name, k->other);
	else
		snprintf(why, why_len, "ocserv %s no longer reads %s", v->text, k->name);
	return false;
}

/* One value as text (from the file, or rendered from JSON): NULL when the
 * agent would write it, else why not. */
static const char *check_text(const struct key_def *k, const char *s)
{
	unsigned long long n;

	if (strlen(s) > USERCONF_VALUE_MAX)
		return "longer than 1024 bytes";
	switch (k->type) {
	case T_BOOL:
		return strcmp(s, "true") == 0 || strcmp(s, "false") == 0 ? NULL
									 : "must be true or false";
	case T_INT:
		if (!conf_value_uint(s, (unsigned long long)k->max, &n) ||
		    n < (unsigned long long)k->min)
			return "out of range";
		return NULL;
	case T_RATE:
		if (!conf_value_uint(s, (unsigned long long)k->max, &n))
			return "must be 0 (no limit) to 2147483647 bytes per second";
		if (n > 0 && n < 1000)
			return "ocserv counts in kB/s: 1 to 999 would be read as 0 (no limit)";
		return NULL;
	case T_PRIO:
		if (strncmp(s, "0x", 2) == 0)
			return conf_value_is_tos(s)
				       ? NULL
				       : "a TOS value is \"0x\" and 1 or 2 hexadecimal digits";
		return conf_value_uint(s, 6, &n) ? NULL
						 : "must be a priority 0 to 6 or a TOS \"0xNN\"";
	case T_TEXT:
		if (*s == '\0')
			return "must not be empty";
		/* ocserv strips these from both ends: the value would not be ours. */
		if (isspace((unsigned char)s[0]) || s[0] == '"' ||
		    isspace((unsigned char)s[strlen(s) - 1]) || s[strlen(s) - 1] == '"')
			return "must not start or end with white space or '\"'";
		if (!utf8_valid((const unsigned char *)s, strlen(s)))
			return "must be valid UTF-8";
		return k->check(s);
	}
	return "invalid";
}

/* The range of an integer key, for messages. */
static void range_text(const struct key_def *k, char *buf, size_t len)
{
	snprintf(buf, len, "an integer from %lld to %lld", k->min, k->max);
}

/* A JSON scalar as the text to write for k; *reason on a wrong type. */
static int scalar_text(const struct key_def *k, const json_t *j, char *buf, size_t len,
		       const char **reason)
{
	*reason = NULL;
	switch (k->type) {
	case T_BOOL:
		if (!json_is_boolean(j))
			return *reason = "must be true or false", -1;
		snprintf(buf, len, "%s", json_is_true(j) ? "true" : "false");
		return 0;
	case T_INT:
	case T_RATE:
	case T_PRIO:
		if (json_is_integer(j)) {
			snprintf(buf, len, "%lld", (long long)json_integer_value(j));
			return 0;
		}
		if (k->type == T_PRIO && json_is_string(j))
			break;
		return *reason = "must be an integer", -1;
	case T_TEXT:
		if (!json_is_string(j))
			return *reason = "must be a string", -1;
		break;
	}
	if (strlen(json_string_value(j)) != json_string_length(j))
		return *reason = "must not contain a NUL character", -1;
	if (json_string_length(j) >= len)
		return *reason = "longer than 1024 bytes", -1;
	memcpy(buf, json_string_value(j), json_string_length(j) + 1);
	return 0;
}

/* Fill why with "KEY: \"VALUE\": REASON" (VALUE quoted for logs). */
static int bad_value(const char *key, const char *value, const char *reason, char *why,
		     size_t why_len)
{
	char q[80];

	if (value != NULL)
		snprintf(why, why_len, "%s: \"%s\": %s", key, log_quote(value, q, sizeof(q)),
			 reason);
	else
		snprintf(why, why_len, "%s: %s", key, reason);
	return ERR_BAD_REQUEST;
}

/* The values of one setting as text, checked (null: an empty list). */
static int setting_values(const struct key_def *k, const json_t *j, struct strv *out, char *why,
			  size_t why_len)
{
	char buf[USERCONF_VALUE_MAX + 1], range[96];
	const char *reason;
	size_t i;
	json_t *e;

	if (json_is_null(j))
		return 0;
	if (k->multi && !json_is_array(j))
		return bad_value(k->name, NULL, "must be a list of strings (null removes the key)",
				 why, why_len);
	if (!k->multi && json_is_array(j))
		return bad_value(k->name, NULL, "takes one value, not a list", why, why_len);
	if (k->multi && json_array_size(j) > USERCONF_VALUES_MAX)
		return bad_value(k->name, NULL, "at most 256 values", why, why_len);
	for (i = 0; i < (k->multi ? json_array_size(j) : 1); i++) {
		e = k->multi ? json_array_get(j, i) : (json_t *)j;
		if (scalar_text(k, e, buf, sizeof(buf), &reason) < 0)
			return bad_value(k->name, NULL, reason, why, why_len);
		if ((reason = check_text(k, buf)) != NULL) {
			if (k->type == T_INT) {
				range_text(k, range, sizeof(range));
				reason = range;
			}
			return bad_value(k->name, buf, reason, why, why_len);
		}
		for (size_t d = 0; d < out->n; d++)
			if (strcmp(out->v[d], buf) == 0)
				return bad_value(k->name, buf, "listed twice", why, why_len);
		if (strv_add(out, buf) < 0)
			return ERR_NOMEM;
	}
	return 0;
}

int userconf_check_settings(const json_t *settings, const struct ocserv_version *v, char *why,
			    size_t why_len)
{
	const char *key;
	json_t *val;

	if (!json_is_object(settings)) {
		snprintf(why, why_len, "settings must be a JSON object");
		return ERR_BAD_REQUEST;
	}
	json_object_foreach((json_t *)settings, key, val)
	{
		struct strv sv = {0};
		int r;

		if (!userconf_key_allowed(key, v, why, why_len))
			return ERR_BAD_REQUEST;
		r = setting_values(key_find(key), val, &sv, why, why_len);
		strv_free(&sv);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- one file ---- */

/* The lines and their editing are conf_edit's. ocserv reads no [section]
 * of these files, so every key the agent reads or writes here is a global
 * one (section NULL); new keys go at the end of the global part, after
 * its comments too (CONF_EDIT_AT_SECTION_END). */
struct userconf {
	struct conf_edit *e;
};

void userconf_free(struct userconf *f)
{
	if (f == NULL)
		return;
	conf_edit_free(f->e);
	free(f);
}

static int edit_parse(const char *text, size_t len, struct conf_edit **ret, struct err_info *ei)
{
	int r = conf_edit_parse(text, len, USERCONF_FILE_MAX, ret, ei);

	if (r == 0)
		conf_edit_set_place(*ret, CONF_EDIT_AT_SECTION_END);
	return r;
}

int userconf_parse(const char *text, size_t len, struct userconf **ret, struct err_info *ei)
{
	struct userconf *f = calloc(1, sizeof(*f));
	int r;

	if (f == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	if ((r = edit_parse(text, len, &f->e, ei)) < 0) {
		free(f);
		return r;
	}
	*ret = f;
	return 0;
}

char *userconf_serialize(const struct userconf *f, size_t *len)
{
	return conf_edit_text(f->e, len);
}

/* Make key's global values exactly values (none: remove the key);
 * conf_edit's refusals go to why. */
static int edit_key(struct conf_edit *e, const char *key, const struct strv *values, char *why,
		    size_t why_len)
{
	struct err_info ei;
	bool changed;
	int r = values->n == 0 ? conf_edit_unset(e, NULL, key, &changed, &ei)
			       : conf_edit_set(e, NULL, key, (const char *const *)values->v,
					       values->n, &changed, &ei);

	if (r < 0 && r != ERR_NOMEM)
		snprintf(why, why_len, "%s", ei.detail);
	return r;
}

/* A PUT removes every global key of the file that settings does not name. */
static int remove_others(struct conf_edit *e, const json_t *settings, char *why, size_t why_len)
{
	struct strv names = {0}, none = {0};
	int r = 0;

	/* Names first: an edit invalidates the lines. */
	for (size_t i = 0; r == 0 && i < conf_edit_count(e); i++) {
		const struct conf_line *l = conf_edit_line(e, i);
		if (l->kind == CONF_LINE_KEY && l->section == NULL &&
		    json_object_get(settings, l->key) == NULL)
			r = strv_add(&names, l->key);
	}
	for (size_t i = 0; r == 0 && i < names.n; i++)
		r = edit_key(e, names.v[i], &none, why, why_len);
	strv_free(&names);
	return r;
}

/* Each setting in turn: null and [] remove the key. */
static int apply_settings(struct conf_edit *e, const json_t *settings, char *why, size_t why_len)
{
	const char *key;
	json_t *val;
	int r = 0;

	json_object_foreach((json_t *)settings, key, val)
	{
		struct strv sv = {0};

		r = setting_values(key_find(key), val, &sv, why, why_len);
		if (r == 0)
			r = edit_key(e, key, &sv, why, why_len);
		strv_free(&sv);
		if (r < 0)
			break;
	}
	return r;
}

int userconf_apply(struct userconf *f, const json_t *settings, bool replace,
		   const struct ocserv_version *v, bool *changed, char *why, size_t why_len)
{
	struct conf_edit *work = NULL;
	struct err_info ei;
	char *text = NULL, *old = NULL;
	size_t len = 0, old_len = 0;
	unsigned bad;
	int r = userconf_check_settings(settings, v, why, why_len);

	*changed = false;
	if (r < 0)
		return r;
	/* ocserv stops reading a settings file at its first line that is not
	 * "key = value" (seen on 1.1.6): keys written after it would be
	 * reported as set and never applied. */
	if ((bad = conf_edit_first_bad(f->e)) != 0) {
		snprintf(why, why_len,
			 "line %u is not \"key = value\" and ocserv stops reading the file there: "
			 "fix or remove it first",
			 bad);
		return ERR_CONFLICT;
	}
	/* The edits go to a copy, which replaces f only when all succeeded. */
	if ((old = userconf_serialize(f, &old_len)) == NULL)
		return ERR_NOMEM;
	r = edit_parse(old, old_len, &work, &ei);
	if (r == 0 && replace)
		r = remove_others(work, settings, why, why_len);
	if (r == 0)
		r = apply_settings(work, settings, why, why_len);
	if (r == 0 && (text = conf_edit_text(work, &len)) == NULL)
		r = ERR_NOMEM;
	if (r == 0 && (len != old_len || memcmp(text, old, len) != 0)) {
		if (len > USERCONF_FILE_MAX) {
			r = bad_value("settings", NULL, "the file would be larger than 256 KiB",
				      why, why_len);
		} else {
			conf_edit_free(f->e);
			f->e = work;
			work = NULL;
			*changed = true;
		}
	}
	conf_edit_free(work);
	free(text);
	free(old);
	return r;
}

/* ---- what ocserv makes of a file ---- */

static int issue(json_t *issues, const struct conf_line *l, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int issue(json_t *issues, const struct conf_line *l, const char *key, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_array_append_new(
		issues, json_pack("{s:I,s:o,s:o}", "line", (json_int_t)l->number, "key",
				  utf8_json_string(key), "message", utf8_json_string(msg)));
}

/* A value as ocserv reads it: booleans true/yes (any case), numbers with
 * strtol (junk ends the number), net-priority "0x.." as text. */
static json_t *value_json(const struct key_def *k, const char *s)
{
	switch (k->type) {
	case T_BOOL:
		return json_boolean(strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0);
	case T_PRIO:
		if (strncmp(s, "0x", 2) == 0)
			return utf8_json_string(s);
		/* fall through */
	case T_INT:
	case T_RATE:
		return json_integer((json_int_t)strtoll(s, NULL, 10));
	case T_TEXT:
		break;
	}
	return utf8_json_string(s);
}

/* Booleans ocserv reads the same as ours do not deserve an issue. */
static const char *file_value_problem(const struct key_def *k, const char *s)
{
	if (k->type == T_BOOL && (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0 ||
				  strcasecmp(s, "yes") == 0 || strcasecmp(s, "no") == 0))
		return NULL;
	return check_text(k, s);
}

/* A global line holding a value. */
static bool is_global_value(const struct conf_line *l)
{
	return (l->kind == CONF_LINE_KEY || l->kind == CONF_LINE_CONT) && l->section == NULL;
}

/* The line of the previous value of a single key, for "set again". */
static const struct conf_line *earlier(const struct userconf *f, size_t i)
{
	const char *key = conf_edit_line(f->e, i)->key;

	for (size_t j = i; j-- > 0;) {
		const struct conf_line *l = conf_edit_line(f->e, j);
		if (is_global_value(l) && strcmp(l->key, key) == 0)
			return l;
	}
	return NULL;
}

static int line_json(const struct userconf *f, size_t i, const struct ocserv_version *v,
		     json_t *settings, json_t *issues)
{
	const struct conf_line *l = conf_edit_line(f->e, i), *prev;
	const struct key_def *k;
	const char *problem;
	char why[200], q[80], range[96];

	if (l->kind == CONF_LINE_BAD)
		return issue(issues, l, NULL,
			     "not \"key = value\": ocserv stops reading the file here, every "
			     "later line is ignored");
	if (l->kind == CONF_LINE_SECTION)
		return issue(issues, l, NULL, "ocserv skips this section and every key in it");
	if (!is_global_value(l))
		return 0;
	if (!userconf_key_allowed(l->key, v, why, sizeof(why)))
		return l->kind == CONF_LINE_KEY ? issue(issues, l, l->key, "%s", why) : 0;
	k = key_find(l->key);
	if ((problem = file_value_problem(k, l->value)) != NULL && k->type == T_INT) {
		range_text(k, range, sizeof(range));
		problem = range;
	}
	if (problem != NULL &&
	    issue(issues, l, l->key, "\"%s\": %s", log_quote(l->value, q, sizeof(q)), problem) < 0)
		return -1;
	if (k->multi) {
		json_t *a = json_object_get(settings, k->name);
		if (a == NULL && json_object_set_new(settings, k->name, a = json_array()) < 0)
			return -1;
		return json_array_append_new(a, utf8_json_string(l->value));
	}
	if ((prev = earlier(f, i)) != NULL &&
	    issue(issues, l, l->key, "also set on line %u: ocserv uses the last value",
		  prev->number) < 0)
		return -1;
	return json_object_set_new(settings, k->name, value_json(k, l->value));
}

int userconf_to_json(const struct userconf *f, const struct ocserv_version *v, json_t **settings,
		     json_t **issues)
{
	json_t *s = json_object(), *is = json_array();
	size_t n = conf_edit_count(f->e), stop = n;

	for (size_t i = 0; s != NULL && is != NULL && i < n; i++) {
		const struct conf_line *l = conf_edit_line(f->e, i);
		/* ocserv stops at the first line it cannot parse: what follows is
		 * not read at all. */
		if (i > stop) {
			if (l->kind == CONF_LINE_KEY &&
			    issue(is, l, l->key, "ignored: ocserv stopped reading at line %zu",
				  stop + 1) < 0) {
				json_decref(s);
				s = NULL;
			}
			continue;
		}
		if (l->kind == CONF_LINE_BAD)
			stop = i;
		if (line_json(f, i, v, s, is) < 0) {
			json_decref(s);
			s = NULL;
		}
	}
	if (s == NULL || is == NULL) {
		json_decref(s);
		json_decref(is);
		return ERR_NOMEM;
	}
	*settings = s;
	*issues = is;
	return 0;
}

/* ---- the directory ---- */

int userconf_dir_find(const char *conf_path, enum userconf_kind kind, struct userconf_dir *ret,
		      struct err_info *ei)
{
	struct ocserv_conf *c = NULL;
	const char *key = conf_key(kind), *dir;
	struct stat st;
	size_t len = 0;
	int r = ocserv_conf_load(conf_path, &c, ei);

	if (r == ERR_NOT_FOUND)
		return err_set(ei, ERR_CONFLICT, "ocserv.conf (%s) does not exist", conf_path);
	if (r < 0)
		return r;
	dir = ocserv_conf_get(c, key);
	if (dir == NULL || *dir == '\0')
		r = err_set(ei, ERR_CONFLICT, "%s is not set in ocserv.conf", key);
	else if (dir[0] != '/')
		r = err_set(ei, ERR_CONFLICT, "%s (%s) in ocserv.conf is not an absolute path", key,
			    dir);
	else if ((len = strlen(dir)) >= sizeof(ret->path))
		r = err_set(ei, ERR_CONFLICT, "%s in ocserv.conf is too long", key);
	if (r < 0) {
		ocserv_conf_free(c);
		return r;
	}
	memset(ret, 0, sizeof(*ret));
	ret->kind = kind;
	ret->lock_wait_ms = USERCONF_LOCK_WAIT_MS;
	memcpy(ret->path, dir, len + 1);
	while (len > 1 && ret->path[len - 1] == '/')
		ret->path[--len] = '\0';
	ocserv_conf_free(c);
	if (stat(ret->path, &st) < 0)
		return err_set(ei, errno == EACCES ? ERR_PERMISSION : ERR_CONFLICT,
			       "%s directory %s: %s", key, ret->path,
			       errno == ENOENT ? "does not exist" : strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(ei, ERR_CONFLICT, "%s (%s) is not a directory", key, ret->path);
	return 0;
}

static int open_dir(const struct userconf_dir *d, struct err_info *ei)
{
	int fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_set(ei,
			       errno == EACCES			     ? ERR_PERMISSION
			       : errno == ENOENT || errno == ENOTDIR ? ERR_CONFLICT
								     : ERR_INTERNAL,
			       "%s directory %s: %s", conf_key(d->kind), d->path, strerror(errno));
	return fd;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int userconf_list(const struct userconf_dir *d, struct strv *ret, struct err_info *ei)
{
	struct strv names = {0};
	struct dirent *e;
	DIR *dp;
	int fd = open_dir(d, ei), r = 0;

	if (fd < 0)
		return fd;
	dp = fdopendir(fd);
	if (dp == NULL) {
		close(fd);
		return err_set(ei, ERR_INTERNAL, "fdopendir %s: %s", d->path, strerror(errno));
	}
	while (r == 0 && (errno = 0, e = readdir(dp)) != NULL) {
		struct stat st;
		bool reg = e->d_type == DT_REG;

		if (userconf_check_name(e->d_name) != NULL)
			continue;
		if (e->d_type == DT_UNKNOWN)
			reg = fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			      S_ISREG(st.st_mode);
		if (reg && strv_add(&names, e->d_name) < 0)
			r = err_set(ei, ERR_NOMEM, "out of memory");
	}
	if (r == 0 && errno != 0)
		r = err_set(ei, ERR_INTERNAL, "readdir %s: %s", d->path, strerror(errno));
	closedir(dp);
	if (r < 0) {
		strv_free(&names);
		return r;
	}
	if (names.n > 1)
		qsort(names.v, names.n, sizeof(names.v[0]), cmp_str);
	*ret = names;
	return 0;
}

/* ERR_CONFLICT for what the agent does not manage. */
static int not_regular(const struct userconf_dir *d, const char *name, bool link,
		       struct err_info *ei)
{
	return err_set(ei, ERR_CONFLICT, "%s/%s is %s: the agent manages regular files only",
		       d->path, name, link ? "a symbolic link" : "not a regular file");
}

/* Read name (relative to dirfd) without following a link. ERR_NOT_FOUND
 * when it does not exist. */
static int read_at(const struct userconf_dir *d, int dirfd, const char *name, char **text,
		   size_t *len, struct err_info *ei)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	int r, e;

	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(ei, ERR_NOT_FOUND, "there is no %s settings file for %s",
				       userconf_kind_name(d->kind), name);
		if (errno == ELOOP)
			return not_regular(d, name, true, ei);
		return err_set(ei, errno == EACCES ? ERR_PERMISSION : ERR_INTERNAL,
			       "open %s/%s: %s", d->path, name, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return not_regular(d, name, false, ei);
	}
	r = read_all(fd, USERCONF_FILE_MAX, (size_t)st.st_size, text, len);
	e = errno;
	close(fd);
	if (r == 0)
		return 0;
	if (e == ENOMEM)
		return err_set(ei, ERR_NOMEM, "out of memory");
	return err_set(ei, ERR_INTERNAL, "read %s/%s: %s", d->path, name,
		       e == EFBIG ? "larger than 256 KiB" : strerror(e));
}

int userconf_read(const struct userconf_dir *d, const char *name, struct userconf **ret,
		  struct err_info *ei)
{
	const char *why = userconf_check_name(name);
	char *text = NULL;
	size_t len = 0;
	int fd, r;

	if (why != NULL)
		return err_set(ei, ERR_BAD_REQUEST, "%s", why);
	if ((fd = open_dir(d, ei)) < 0)
		return fd;
	r = read_at(d, fd, name, &text, &len, ei);
	close(fd);
	if (r == 0)
		r = userconf_parse(text, len, ret, ei);
	free(text);
	return r;
}

/* The agent's own writers of one file take turns here, so that the second
 * waits for the first instead of finding its PATH.tmp (ERR_LOCKED). A
 * handful of locks shared by hashing: writers of different files rarely
 * wait for one another, and never for long. */
#define N_STRIPES 16
static pthread_mutex_t stripes[N_STRIPES] = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER,
};

static pthread_mutex_t *stripe(const char *path)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *path; path++)
		h = (h ^ (unsigned char)*path) * 16777619u;
	return &stripes[h % N_STRIPES];
}

/* Take the file's lock: the stripe, then PATH.tmp. */
static int lock_file(const struct userconf_dir *d, const char *name, struct atomic_txn *t,
		     pthread_mutex_t **m, struct err_info *ei)
{
	char path[sizeof(d->path) + USERCONF_NAME_MAX + 2];
	int r;

	snprintf(path, sizeof(path), "%s/%s", strcmp(d->path, "/") == 0 ? "" : d->path, name);
	*m = stripe(path);
	pthread_mutex_lock(*m);
	memset(t, 0, sizeof(*t));
	t->inject = d->inject;
	r = atomic_begin(t, path, USERCONF_MODE, d->lock_wait_ms, ei);
	if (r < 0)
		pthread_mutex_unlock(*m);
	return r;
}

/* The new text of name: settings applied to the current one (or to an
 * empty file). */
static int change_locked(const struct userconf_dir *d, const struct atomic_txn *t, const char *name,
			 const json_t *settings, bool replace, const struct ocserv_version *v,
			 struct userconf **ret, bool *created, bool *changed, struct err_info *ei)
{
	char *text = NULL;
	size_t len = 0;
	int r = read_at(d, t->dirfd, name, &text, &len, ei);

	*created = r == ERR_NOT_FOUND;
	if (*created)
		r = 0;
	if (r == 0)
		r = userconf_parse(text ? text : "", len, ret, ei);
	free(text);
	if (r == 0 && (r = userconf_apply(*ret, settings, replace, v, changed, ei->detail,
					  sizeof(ei->detail))) < 0) {
		userconf_free(*ret);
		*ret = NULL;
	}
	return r;
}

int userconf_change(const struct userconf_dir *d, const char *name, const json_t *settings,
		    bool replace, const struct ocserv_version *v, struct userconf **ret,
		    bool *created, bool *changed, struct err_info *ei)
{
	const char *why = userconf_check_name(name);
	struct userconf *f = NULL;
	struct atomic_txn t;
	pthread_mutex_t *m;
	char *text;
	size_t len;
	int r;

	if (why != NULL)
		return err_set(ei, ERR_BAD_REQUEST, "%s", why);
	/* Refused before the file is locked, let alone touched. */
	if ((r = userconf_check_settings(settings, v, ei->detail, sizeof(ei->detail))) < 0)
		return r;
	if ((r = lock_file(d, name, &t, &m, ei)) < 0)
		return r;
	r = change_locked(d, &t, name, settings, replace, v, &f, created, changed, ei);
	if (r == 0 && (*changed || *created)) {
		if ((text = userconf_serialize(f, &len)) == NULL) {
			r = err_set(ei, ERR_NOMEM, "out of memory");
		} else {
			r = atomic_commit(&t, text, len, ei);
			free(text);
		}
		*changed = true;
	}
	atomic_abort(&t); /* after a commit: nothing left to release */
	pthread_mutex_unlock(m);
	if (r < 0) {
		userconf_free(f);
		return r;
	}
	*ret = f;
	return 0;
}

int userconf_delete(const struct userconf_dir *d, const char *name, struct err_info *ei)
{
	const char *why = userconf_check_name(name);
	struct atomic_txn t;
	pthread_mutex_t *m;
	struct stat st;
	int r;

	if (why != NULL)
		return err_set(ei, ERR_BAD_REQUEST, "%s", why);
	if ((r = lock_file(d, name, &t, &m, ei)) < 0)
		return r;
	if (fstatat(t.dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = errno == ENOENT
			    ? err_set(ei, ERR_NOT_FOUND, "there is no %s settings file for %s",
				      userconf_kind_name(d->kind), name)
			    : err_set(ei, ERR_INTERNAL, "stat %s/%s: %s", d->path, name,
				      strerror(errno));
	else if (!S_ISREG(st.st_mode))
		r = not_regular(d, name, S_ISLNK(st.st_mode), ei);
	else if (unlinkat(t.dirfd, name, 0) < 0)
		r = err_set(ei, errno == EACCES || errno == EPERM ? ERR_PERMISSION : ERR_INTERNAL,
			    "unlink %s/%s: %s", d->path, name, strerror(errno));
	else
		fsync(t.dirfd); /* durability only: the file is gone either way */
	atomic_abort(&t);
	pthread_mutex_unlock(m);
	return r;
}
