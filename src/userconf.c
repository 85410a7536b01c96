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

#include "array.h"
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

enum lkind {
	L_OPAQUE,  /* blank or comment */
	L_KEY,	   /* key = value */
	L_CONT,	   /* an indented value continuing the previous key */
	L_SECTION, /* [name] */
	L_BAD,	   /* no '=' or ':', or '[' without ']' */
};

struct uline {
	char *raw; /* the line's bytes with its newline, if any */
	size_t len;
	enum lkind kind;
	char *key;	 /* L_KEY, L_CONT (its key line's key) */
	char *value;	 /* L_KEY, L_CONT: as ocserv reads it */
	unsigned no;	 /* 1-based */
	bool in_section; /* after a [section] header: ocserv skips it */
};

struct userconf {
	struct uline *v;
	size_t n;
};

static void lines_free(struct uline *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].raw);
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

void userconf_free(struct userconf *f)
{
	if (f == NULL)
		return;
	lines_free(f->v, f->n);
	free(f);
}

/* Classify one line (text: its content, NUL-terminated, modified) in the
 * order inih tests: comment, continuation, section, pair. *prev is the key
 * a continuation adds to. */
static int classify(struct uline *l, char *text, const char **prev, bool *in_section)
{
	char *start = ocserv_conf_lskip(ocserv_conf_rstrip(text)), *sep;

	l->in_section = *in_section;
	if (*start == '\0' || *start == '#' || *start == ';')
		return 0;
	if (start > text && *prev != NULL) {
		l->kind = L_CONT;
		l->key = strdup(*prev);
		l->value = strdup(ocserv_conf_unquote(start));
		return l->key && l->value ? 0 : ERR_NOMEM;
	}
	if (*start == '[') {
		l->kind = strchr(start, ']') ? L_SECTION : L_BAD;
		if (l->kind == L_SECTION) {
			*in_section = l->in_section = true;
			*prev = NULL;
		}
		return 0;
	}
	sep = strpbrk(start, "=:");
	if (sep == NULL) {
		l->kind = L_BAD;
		return 0;
	}
	*sep = '\0';
	l->kind = L_KEY;
	l->key = strdup(ocserv_conf_rstrip(start));
	l->value = strdup(ocserv_conf_unquote(sep + 1));
	*prev = l->key;
	return l->key && l->value ? 0 : ERR_NOMEM;
}

int userconf_parse(const char *text, size_t len, struct userconf **ret, struct err_info *ei)
{
	struct userconf *f;
	const char *prev = NULL, *p = text, *end = text + len;
	bool in_section = false;
	size_t cap = 0;
	int r = 0;

	if (len > USERCONF_FILE_MAX)
		return err_set(ei, ERR_INTERNAL, "more than %d bytes", USERCONF_FILE_MAX);
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	while (r == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		struct uline *l;
		char *content;

		if ((r = array_grow(&f->v, &cap, f->n, sizeof(*f->v), 32)) < 0)
			break;
		l = &f->v[f->n++];
		*l = (struct uline){.no = (unsigned)f->n, .len = n};
		l->raw = malloc(n + 1);
		/* The content stops at a NUL byte, as in ocserv; a UTF-8 byte
		 * order mark before the first line is not part of it. */
		content = strndup(p, nl ? n - 1 : n);
		if (l->raw == NULL || content == NULL) {
			free(content);
			r = ERR_NOMEM;
			break;
		}
		memcpy(l->raw, p, n);
		l->raw[n] = '\0';
		if (f->n == 1 && strncmp(content, "\xef\xbb\xbf", 3) == 0)
			memmove(content, content + 3, strlen(content + 3) + 1);
		r = classify(l, content, &prev, &in_section);
		free(content);
		p += n;
	}
	if (r < 0) {
		userconf_free(f);
		return err_set(ei, ERR_NOMEM, "out of memory");
	}
	*ret = f;
	return 0;
}

/* A growing text buffer. */
struct buf {
	char *p;
	size_t n, cap;
	bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t len)
{
	if (b->failed)
		return;
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + len + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* The text, or NULL (freed) when an allocation failed. */
static char *buf_done(struct buf *b, size_t *len)
{
	if (b->failed || (b->p == NULL && (b->p = calloc(1, 1)) == NULL)) {
		free(b->p);
		return NULL;
	}
	*len = b->n;
	return b->p;
}

char *userconf_serialize(const struct userconf *f, size_t *len)
{
	struct buf b = {0};

	for (size_t i = 0; i < f->n; i++)
		buf_add(&b, f->v[i].raw, f->v[i].len);
	return buf_done(&b, len);
}

/* A global line holding a value of key. */
static bool is_value_of(const struct uline *l, const char *key)
{
	return (l->kind == L_KEY || l->kind == L_CONT) && !l->in_section &&
	       strcmp(l->key, key) == 0;
}

/* Whether the global values of key are exactly want, in order. */
static bool same_values(const struct userconf *f, const char *key, const struct strv *want)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n; i++) {
		if (!is_value_of(&f->v[i], key))
			continue;
		if (k == want->n || strcmp(f->v[i].value, want->v[k]) != 0)
			return false;
		k++;
	}
	return k == want->n;
}

/* "key = value\n" for each value. */
static void render(struct buf *b, const char *key, const struct strv *values)
{
	for (size_t i = 0; i < values->n; i++) {
		buf_str(b, key);
		buf_str(b, " = ");
		buf_str(b, values->v[i]);
		buf_str(b, "\n");
	}
}

/* The plan of a change: for each line, NULL (keep), or its new text ("" to
 * drop it); and the text of new keys. */
struct plan {
	char **repl; /* n entries */
	size_t n;
	struct buf append;
};

static int plan_key(const struct userconf *f, struct plan *pl, const char *key,
		    const struct strv *values)
{
	struct buf b = {0};
	bool first = true;
	size_t len;

	if (same_values(f, key, values))
		return 0;
	render(&b, key, values);
	if (buf_done(&b, &len) == NULL)
		return ERR_NOMEM;
	/* The first line gets the new text, the others go. */
	for (size_t i = 0; i < f->n; i++) {
		if (!is_value_of(&f->v[i], key))
			continue;
		free(pl->repl[i]);
		pl->repl[i] = first ? b.p : strdup("");
		if (first)
			b.p = NULL;
		else if (pl->repl[i] == NULL)
			return ERR_NOMEM;
		first = false;
	}
	if (first)
		buf_add(&pl->append, b.p, len);
	free(b.p);
	return pl->append.failed ? ERR_NOMEM : 0;
}

/* Where new keys go: after the last line before the first [section]. */
static size_t insert_at(const struct userconf *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].kind == L_SECTION)
			return i;
	return f->n;
}

static char *plan_text(const struct userconf *f, const struct plan *pl, size_t *len)
{
	struct buf b = {0};
	size_t at = insert_at(f);

	for (size_t i = 0; i <= f->n; i++) {
		if (i == at && pl->append.n > 0) {
			if (b.n > 0 && b.p[b.n - 1] != '\n')
				buf_str(&b, "\n");
			buf_add(&b, pl->append.p, pl->append.n);
		}
		if (i == f->n)
			break;
		if (pl->repl[i] != NULL)
			buf_str(&b, pl->repl[i]);
		else
			buf_add(&b, f->v[i].raw, f->v[i].len);
	}
	return buf_done(&b, len);
}

/* Keys of the file that a PUT removes: every global key not in settings. */
static int plan_removals(const struct userconf *f, struct plan *pl, const json_t *settings)
{
	for (size_t i = 0; i < f->n; i++) {
		if (!is_value_of(&f->v[i], f->v[i].key) ||
		    json_object_get(settings, f->v[i].key) != NULL)
			continue;
		free(pl->repl[i]);
		if ((pl->repl[i] = strdup("")) == NULL)
			return ERR_NOMEM;
	}
	return 0;
}

static int plan_settings(const struct userconf *f, struct plan *pl, const json_t *settings,
			 char *why, size_t why_len)
{
	const char *key;
	json_t *val;
	int r = 0;

	json_object_foreach((json_t *)settings, key, val)
	{
		struct strv sv = {0};

		r = setting_values(key_find(key), val, &sv, why, why_len);
		if (r == 0)
			r = plan_key(f, pl, key, &sv);
		strv_free(&sv);
		if (r < 0)
			break;
	}
	return r;
}

/* Replace f's lines by those of text. */
static int reparse(struct userconf *f, const char *text, size_t len)
{
	struct userconf *g = NULL;
	struct err_info ei;
	int r = userconf_parse(text, len, &g, &ei);

	if (r < 0)
		return r;
	lines_free(f->v, f->n);
	*f = *g;
	free(g);
	return 0;
}

int userconf_apply(struct userconf *f, const json_t *settings, bool replace,
		   const struct ocserv_version *v, bool *changed, char *why, size_t why_len)
{
	struct plan pl = {0};
	char *text = NULL, *old = NULL;
	size_t len = 0, old_len = 0;
	int r = userconf_check_settings(settings, v, why, why_len);

	*changed = false;
	if (r < 0)
		return r;
	/* ocserv stops reading a settings file at its first line that is not
	 * "key = value" (seen on 1.1.6): keys written after it would be
	 * reported as set and never applied. */
	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i].kind == L_BAD) {
			snprintf(why, why_len,
				 "line %zu is not \"key = value\" and ocserv stops reading the "
				 "file there: fix or remove it first",
				 i + 1);
			return ERR_CONFLICT;
		}
	}
	pl.n = f->n; /* f changes under reparse() */
	pl.repl = calloc(pl.n + 1, sizeof(*pl.repl));
	if (pl.repl == NULL)
		return ERR_NOMEM;
	if (replace)
		r = plan_removals(f, &pl, settings);
	if (r == 0)
		r = plan_settings(f, &pl, settings, why, why_len);
	if (r == 0 && ((text = plan_text(f, &pl, &len)) == NULL ||
		       (old = userconf_serialize(f, &old_len)) == NULL))
		r = ERR_NOMEM;
	if (r == 0 && (len != old_len || memcmp(text, old, len) != 0)) {
		if (len > USERCONF_FILE_MAX)
			r = bad_value("settings", NULL, "the file would be larger than 256 KiB",
				      why, why_len);
		else if ((r = reparse(f, text, len)) == 0)
			*changed = true;
	}
	for (size_t i = 0; pl.repl != NULL && i < pl.n; i++)
		free(pl.repl[i]);
	free(pl.repl);
	free(pl.append.p);
	free(text);
	free(old);
	return r;
}

/* ---- what ocserv makes of a file ---- */

static int issue(json_t *issues, const struct uline *l, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int issue(json_t *issues, const struct uline *l, const char *key, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_array_append_new(issues, json_pack("{s:I,s:o,s:o}", "line", (json_int_t)l->no,
						       "key", utf8_json_string(key), "message",
						       utf8_json_string(msg)));
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

/* The line of the previous value of a single key, for "set again". */
static const struct uline *earlier(const struct userconf *f, size_t i)
{
	for (size_t j = i; j-- > 0;)
		if (is_value_of(&f->v[j], f->v[i].key))
			return &f->v[j];
	return NULL;
}

static int line_json(const struct userconf *f, size_t i, const struct ocserv_version *v,
		     json_t *settings, json_t *issues)
{
	const struct uline *l = &f->v[i], *prev;
	const struct key_def *k;
	const char *problem;
	char why[200], q[80], range[96];

	if (l->kind == L_BAD)
		return issue(issues, l, NULL,
			     "not \"key = value\": ocserv stops reading the file here, every "
			     "later line is ignored");
	if (l->kind == L_SECTION)
		return issue(issues, l, NULL, "ocserv skips this section and every key in it");
	if ((l->kind != L_KEY && l->kind != L_CONT) || l->in_section)
		return 0;
	if (!userconf_key_allowed(l->key, v, why, sizeof(why)))
		return l->kind == L_KEY ? issue(issues, l, l->key, "%s", why) : 0;
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
	    issue(issues, l, l->key, "also set on line %u: ocserv uses the last value", prev->no) <
		    0)
		return -1;
	return json_object_set_new(settings, k->name, value_json(k, l->value));
}

int userconf_to_json(const struct userconf *f, const struct ocserv_version *v, json_t **settings,
		     json_t **issues)
{
	json_t *s = json_object(), *is = json_array();

	size_t stop = f->n;

	for (size_t i = 0; s != NULL && is != NULL && i < f->n; i++) {
		/* ocserv stops at the first line it cannot parse: what follows is
		 * not read at all. */
		if (i > stop) {
			if (f->v[i].kind == L_KEY &&
			    issue(is, &f->v[i], f->v[i].key,
				  "ignored: ocserv stopped reading at line %zu", stop + 1) < 0) {
				json_decref(s);
				s = NULL;
			}
			continue;
		}
		if (f->v[i].kind == L_BAD)
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
