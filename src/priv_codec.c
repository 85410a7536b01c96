#include "priv_codec.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Each record kind is a table of its members: the encoder writes, the
 * decoder reads and the error path frees exactly what the table names, so
 * a member cannot be carried one way and forgotten the other. */

enum fkind {
	F_STR,	/* char *, NULL absent */
	F_I64,	/* int64_t, -1 absent */
	F_TRI,	/* int: a flag, 0 or 1 (occtl may print more), -1 absent */
	F_STRV, /* struct strv, empty absent */
};

struct field {
	const char *name;
	enum fkind kind;
	size_t off;
};

struct rtype {
	const char *name; /* for error details */
	size_t size;
	const struct field *f;
	size_t n;
};

#define FLD(type, m, k)                  \
	{                                \
#m, k, offsetof(type, m) \
	}
#define RTYPE(nm, type, tbl)                                        \
	{                                                           \
		nm, sizeof(type), tbl, sizeof(tbl) / sizeof(tbl[0]) \
	}

#define S(m, k) FLD(struct session, m, k)
static const struct field session_fields[] = {
	S(id, F_I64),
	S(username, F_STR),
	S(groupname, F_STR),
	S(state, F_STR),
	S(vhost, F_STR),
	S(device, F_STR),
	S(client_ip, F_STR),
	S(vpn_ipv4, F_STR),
	S(vpn_ipv6, F_STR),
	S(local_device_ip, F_STR),
	S(p2p_ipv4, F_STR),
	S(user_agent, F_STR),
	S(connected_at, F_STR),
	S(raw_connected_at, F_I64),
	S(since_seconds, F_I64),
	S(rx_bytes, F_I64),
	S(tx_bytes, F_I64),
	S(avg_rx, F_STR),
	S(avg_tx, F_STR),
	S(session_id, F_STR),
	S(full_session, F_STR),
	S(tls_cipher, F_STR),
	S(dtls_cipher, F_STR),
	S(mtu, F_I64),
	S(dns, F_STRV),
	S(routes, F_STRV),
	S(no_routes, F_STRV),
	S(iroutes, F_STRV),
	S(nbns, F_STRV),
	S(split_dns_domains, F_STRV),
	S(restricted_to_ports, F_STRV),
	S(restricted_to_routes, F_TRI),
	S(keepalive, F_I64),
	S(dpd, F_I64),
	S(hostname, F_STR),
	S(raw_session_started_at, F_I64),
};
#undef S

#define C(m, k) FLD(struct cookie, m, k)
static const struct field cookie_fields[] = {
	C(session_id, F_STR), C(full_session, F_STR),	 C(created, F_I64),
	C(expires, F_I64),    C(state, F_STR),		 C(username, F_STR),
	C(groupname, F_STR),  C(vhost, F_STR),		 C(user_agent, F_STR),
	C(remote_ip, F_STR),  C(session_is_open, F_TRI), C(tls_auth_ok, F_TRI),
	C(in_use, F_TRI),
};
#undef C

#define I(m, k) FLD(struct iroute, m, k)
static const struct field iroute_fields[] = {
	I(id, F_I64),	  I(username, F_STR), I(vhost, F_STR),
	I(device, F_STR), I(ip, F_STR),	      I(iroutes, F_STRV),
};
#undef I

#define B(m, k) FLD(struct ban, m, k)
static const struct field ban_fields[] = {B(ip, F_STR), B(score, F_I64), B(expires, F_I64)};
#undef B

/* id and type are carried by hand (an unsigned id, a named type). */
#define E(m, k) FLD(struct event, m, k)
static const struct field event_fields[] = {
	E(time_ms, F_I64),
	E(vpn_session_id, F_I64),
	E(username, F_STR),
	E(groupname, F_STR),
	E(vhost, F_STR),
	E(client_ip, F_STR),
	E(ip, F_STR),
	E(device, F_STR),
	E(reason_code, F_I64),
	E(reason_text, F_STR),
	E(rx_bytes, F_I64),
	E(tx_bytes, F_I64),
	E(duration_seconds, F_I64),
};
#undef E

static const struct rtype session_rt = RTYPE("session", struct session, session_fields);
static const struct rtype cookie_rt = RTYPE("cookie", struct cookie, cookie_fields);
static const struct rtype iroute_rt = RTYPE("iroute", struct iroute, iroute_fields);
static const struct rtype ban_rt = RTYPE("ban", struct ban, ban_fields);
static const struct rtype event_rt = RTYPE("event", struct event, event_fields);

#define AT(rec, f, type)  ((type *)((char *)(rec) + (f)->off))
#define CAT(rec, f, type) ((const type *)((const char *)(rec) + (f)->off))

/* ---- strings: UTF-8 as JSON strings, other bytes as {"hex": "..."} ---- */

static json_t *str_json(const char *s)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = strlen(s);
	char *hex;
	json_t *j;

	if (utf8_valid((const unsigned char *)s, n))
		return json_stringn_nocheck(s, n);
	if ((hex = malloc(2 * n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[(unsigned char)s[i] >> 4];
		hex[2 * i + 1] = digits[(unsigned char)s[i] & 15];
	}
	j = json_pack("{s:s%}", "hex", hex, 2 * n);
	free(hex);
	return j;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* {"hex": lowercase hex of bytes without NUL} */
static int hex_string(const json_t *j, char **ret, struct err_info *ei)
{
	const json_t *h = json_object_get(j, "hex");
	const char *t = json_string_value(h);
	size_t n = json_string_length(h);
	char *s;

	if (json_object_size(j) != 1 || t == NULL || n % 2 != 0)
		return err_set(ei, ERR_PRIV_PROTOCOL, "a string object is not {\"hex\": text}");
	if ((s = malloc(n / 2 + 1)) == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_val(t[2 * i]), lo = hex_val(t[2 * i + 1]);

		if (hi < 0 || lo < 0 || (hi | lo) == 0) {
			free(s);
			return err_set(ei, ERR_PRIV_PROTOCOL, "bad hex string (digit or NUL byte)");
		}
		s[i] = (char)(hi << 4 | lo);
	}
	s[n / 2] = '\0';
	*ret = s;
	return 0;
}

static int json_str(const json_t *j, char **ret, struct err_info *ei)
{
	if (json_is_object(j))
		return hex_string(j, ret, ei);
	if (!json_is_string(j))
		return err_set(ei, ERR_PRIV_PROTOCOL, "not a string");
	if (strlen(json_string_value(j)) != json_string_length(j))
		return err_set(ei, ERR_PRIV_PROTOCOL, "a string with a NUL byte");
	if ((*ret = strdup(json_string_value(j))) == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	return 0;
}

/* ---- one record ---- */

static json_t *strv_json(const struct strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < sv->n; i++)
		if (json_array_append_new(a, str_json(sv->v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Set o[f] from the member, unless it is absent. 0 or ERR_NOMEM. */
static int encode_field(json_t *o, const struct field *f, const void *rec)
{
	json_t *v = NULL;

	switch (f->kind) {
	case F_STR:
		if (*CAT(rec, f, char *) == NULL)
			return 0;
		v = str_json(*CAT(rec, f, char *));
		break;
	case F_I64:
		if (*CAT(rec, f, int64_t) == -1)
			return 0;
		v = json_integer(*CAT(rec, f, int64_t));
		break;
	case F_TRI:
		if (*CAT(rec, f, int) == -1)
			return 0;
		v = json_integer(*CAT(rec, f, int));
		break;
	case F_STRV:
		if (CAT(rec, f, struct strv)->n == 0)
			return 0;
		v = strv_json(CAT(rec, f, struct strv));
		break;
	}
	return json_object_set_new(o, f->name, v) < 0 ? ERR_NOMEM : 0;
}

static json_t *encode_record(const struct rtype *t, const void *rec)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < t->n; i++)
		if (encode_field(o, &t->f[i], rec) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *encode_list(const struct rtype *t, const void *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, encode_record(t, (const char *)v + i * t->size)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static void clear_record(const struct rtype *t, void *rec)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct field *f = &t->f[i];

		if (f->kind == F_STR) {
			free(*AT(rec, f, char *));
			*AT(rec, f, char *) = NULL;
		} else if (f->kind == F_STRV) {
			strv_free(AT(rec, f, struct strv));
		}
	}
}

static void free_records(const struct rtype *t, void *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		clear_record(t, (char *)v + i * t->size);
	free(v);
}

static void init_record(const struct rtype *t, void *rec)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct field *f = &t->f[i];

		if (f->kind == F_I64)
			*AT(rec, f, int64_t) = -1;
		else if (f->kind == F_TRI)
			*AT(rec, f, int) = -1;
	}
}

static int decode_strv(const json_t *j, struct strv *sv, struct err_info *ei)
{
	size_t i;
	json_t *e;

	if (!json_is_array(j))
		return err_set(ei, ERR_PRIV_PROTOCOL, "not a list");
	json_array_foreach(j, i, e)
	{
		char *s = NULL;
		int r = json_str(e, &s, ei);

		if (r < 0)
			return r;
		if (strv_take(sv, s) < 0)
			return err_set(ei, ERR_NOMEM, "out of memory");
	}
	return 0;
}

static int decode_field(const struct field *f, const json_t *v, void *rec, struct err_info *ei)
{
	switch (f->kind) {
	case F_STR:
		return json_str(v, AT(rec, f, char *), ei);
	case F_I64:
		if (!json_is_integer(v))
			return err_set(ei, ERR_PRIV_PROTOCOL, "not an integer");
		*AT(rec, f, int64_t) = json_integer_value(v);
		return 0;
	case F_TRI:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT_MAX)
			return err_set(ei, ERR_PRIV_PROTOCOL, "not a flag (0..INT_MAX)");
		*AT(rec, f, int) = (int)json_integer_value(v);
		return 0;
	case F_STRV:
		return decode_strv(v, AT(rec, f, struct strv), ei);
	}
	return err_set(ei, ERR_INTERNAL, "unknown field kind");
}

static const struct field *find_field(const struct rtype *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->f[i].name, key) == 0)
			return &t->f[i];
	return NULL;
}

/* Decode the members of object o into rec (initialised by the caller),
 * skipping the names in skip (handled by the caller; NULL-ended, or NULL).
 * On failure rec may hold part of the value: the caller clears it. */
static int decode_record(const struct rtype *t, const json_t *o, const char *const *skip, void *rec,
			 struct err_info *ei)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o))
		return err_set(ei, ERR_PRIV_PROTOCOL, "a %s is not an object", t->name);
	json_object_foreach((json_t *)o, key, v)
	{
		const struct field *f = find_field(t, key);
		const char *const *k = skip;
		struct err_info fe = {{0}};
		int r;

		while (k != NULL && *k != NULL && strcmp(*k, key) != 0)
			k++;
		if (k != NULL && *k != NULL)
			continue;
		if (f == NULL)
			return err_set(ei, ERR_PRIV_PROTOCOL, "%s: unknown member '%.64s'", t->name,
				       key);
		if ((r = decode_field(f, v, rec, &fe)) < 0)
			return err_set(ei, r, "%s.%s: %s", t->name, f->name, fe.detail);
	}
	return 0;
}

/* Decode array j into a new calloc'd array of records (*ret_v, NULL when
 * empty) and its length. */
static int decode_list(const struct rtype *t, const json_t *j, void **ret_v, size_t *ret_n,
		       struct err_info *ei)
{
	size_t n = json_array_size(j);
	char *v = NULL;

	if (!json_is_array(j))
		return err_set(ei, ERR_PRIV_PROTOCOL, "a %s list is not an array", t->name);
	if (n > 0 && (v = calloc(n, t->size)) == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		init_record(t, v + i * t->size);
	for (size_t i = 0; i < n; i++) {
		int r = decode_record(t, json_array_get(j, i), NULL, v + i * t->size, ei);

		if (r < 0) {
			free_records(t, v, n);
			return r;
		}
	}
	*ret_v = v;
	*ret_n = n;
	return 0;
}

/* ---- the lists ---- */

json_t *priv_codec_sessions(const struct session_list *l)
{
	return encode_list(&session_rt, l->v, l->n);
}

json_t *priv_codec_cookies(const struct cookie_list *l)
{
	return encode_list(&cookie_rt, l->v, l->n);
}

json_t *priv_codec_iroutes(const struct iroute_list *l)
{
	return encode_list(&iroute_rt, l->v, l->n);
}

json_t *priv_codec_bans(const struct ban_list *l)
{
	return encode_list(&ban_rt, l->v, l->n);
}

/* The list types share one layout: {T *v; size_t n;}. */
#define DECODE_LIST(fn, ltype, rt)                                       \
	int fn(const json_t *j, struct ltype **ret, struct err_info *ei) \
	{                                                                \
		struct ltype *l = calloc(1, sizeof(*l));                 \
		void *v = NULL;                                          \
		int r;                                                   \
                                                                         \
		if (l == NULL)                                           \
			return err_set(ei, ERR_NOMEM, "out of memory");  \
		if ((r = decode_list(&rt, j, &v, &l->n, ei)) < 0) {      \
			free(l);                                         \
			return r;                                        \
		}                                                        \
		l->v = v;                                                \
		*ret = l;                                                \
		return 0;                                                \
	}

DECODE_LIST(priv_decode_sessions, session_list, session_rt)
DECODE_LIST(priv_decode_cookies, cookie_list, cookie_rt)
DECODE_LIST(priv_decode_iroutes, iroute_list, iroute_rt)
DECODE_LIST(priv_decode_bans, ban_list, ban_rt)

/* ---- the version ---- */

json_t *priv_codec_version(const struct ocserv_version *v)
{
	return json_pack("{s:o,s:I,s:I,s:I}", "text", str_json(v->text), "major",
			 (json_int_t)v->major, "minor", (json_int_t)v->minor, "patch",
			 (json_int_t)v->patch);
}

static int version_number(const json_t *j, const char *name, unsigned *ret, struct err_info *ei)
{
	const json_t *v = json_object_get(j, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX)
		return err_set(ei, ERR_PRIV_PROTOCOL, "version.%s is not an unsigned integer",
			       name);
	*ret = (unsigned)json_integer_value(v);
	return 0;
}

int priv_decode_version(const json_t *j, struct ocserv_version *ret, struct err_info *ei)
{
	struct ocserv_version v;
	char *text = NULL;
	int r;

	memset(&v, 0, sizeof(v));
	if (!json_is_object(j) || json_object_size(j) != 4)
		return err_set(ei, ERR_PRIV_PROTOCOL, "a version is not {text,major,minor,patch}");
	if ((r = version_number(j, "major", &v.major, ei)) < 0 ||
	    (r = version_number(j, "minor", &v.minor, ei)) < 0 ||
	    (r = version_number(j, "patch", &v.patch, ei)) < 0)
		return r;
	if (json_object_get(j, "text") == NULL)
		return err_set(ei, ERR_PRIV_PROTOCOL, "a version without text");
	if ((r = json_str(json_object_get(j, "text"), &text, ei)) < 0)
		return r;
	if (strlen(text) >= sizeof(v.text)) {
		free(text);
		return err_set(ei, ERR_PRIV_PROTOCOL, "version.text is too long");
	}
	memcpy(v.text, text, strlen(text) + 1);
	free(text);
	*ret = v;
	return 0;
}

/* ---- events ---- */

static const char *const type_names[] = {
	[EVENT_CONNECT] = "connect", [EVENT_DISCONNECT] = "disconnect", [EVENT_RESYNC] = "resync"};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

json_t *priv_codec_event(enum event_source src, const struct event *ev)
{
	json_t *o;

	if ((unsigned)ev->type >= N_TYPES || type_names[ev->type] == NULL ||
	    ev->id > (uint64_t)INT64_MAX)
		return NULL; /* never made by events.c */
	if ((o = encode_record(&event_rt, ev)) == NULL ||
	    json_object_set_new(o, "type", json_string(type_names[ev->type])) < 0 ||
	    (ev->id != 0 && json_object_set_new(o, "id", json_integer((json_int_t)ev->id)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return json_pack("{s:s,s:o}", "source", src == EVENT_FROM_CTL ? "ctl" : "hook", "event", o);
}

static int event_type_of(const json_t *j, enum event_type *ret, struct err_info *ei)
{
	const char *s = json_string_value(json_object_get(j, "type"));

	for (size_t t = 0; s != NULL && t < N_TYPES; t++)
		if (type_names[t] != NULL && strcmp(type_names[t], s) == 0) {
			*ret = (enum event_type)t;
			return 0;
		}
	return err_set(ei, ERR_PRIV_PROTOCOL, "event.type is not connect, disconnect or resync");
}

static int source_of(const json_t *j, enum event_source *ret, struct err_info *ei)
{
	const char *s = json_string_value(json_object_get(j, "source"));

	if (s != NULL && strcmp(s, "ctl") == 0)
		*ret = EVENT_FROM_CTL;
	else if (s != NULL && strcmp(s, "hook") == 0)
		*ret = EVENT_FROM_HOOK;
	else
		return err_set(ei, ERR_PRIV_PROTOCOL, "event source is not ctl or hook");
	return 0;
}

/* The members of "event" besides those of event_fields. */
static int event_extra(const json_t *e, struct event *ev, struct err_info *ei)
{
	const json_t *id = json_object_get(e, "id");

	if (id != NULL && (!json_is_integer(id) || json_integer_value(id) < 0))
		return err_set(ei, ERR_PRIV_PROTOCOL, "event.id is not an unsigned integer");
	ev->id = id != NULL ? (uint64_t)json_integer_value(id) : 0;
	return 0;
}

int priv_decode_event(const json_t *j, enum event_source *src, struct event **ret,
		      struct err_info *ei)
{
	static const char *const by_hand[] = {"id", "type", NULL};
	const json_t *e = json_object_get(j, "event");
	enum event_source s = EVENT_FROM_CTL;
	enum event_type t = EVENT_CONNECT;
	struct event *ev;
	int r;

	if (!json_is_object(j) || json_object_size(j) != 2 || !json_is_object(e))
		return err_set(ei, ERR_PRIV_PROTOCOL, "an event is not {source, event}");
	if ((r = source_of(j, &s, ei)) < 0 || (r = event_type_of(e, &t, ei)) < 0)
		return r;
	if ((ev = event_new(t)) == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	init_record(&event_rt, ev);
	if ((r = event_extra(e, ev, ei)) < 0 ||
	    (r = decode_record(&event_rt, e, by_hand, ev, ei)) < 0) {
		event_free(ev);
		return r;
	}
	*src = s;
	*ret = ev;
	return 0;
}
