#include "ctl_backend.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl.pb-c.h"
#include "status.h"
#include "subprocess.h"
#include "timefmt.h"

/* occtl's short session id, and the safe id's length without its NUL. */
#define SHORT_SID_LEN 6
#define FULL_SID_LEN  28

/* ocserv's session and cookie states (PS_AUTH_*). */
enum { PS_INACTIVE, PS_FAILED, PS_INIT, PS_CONT, PS_COMPLETED };

struct ctl {
	char *socket, *ocserv_path;
	unsigned timeout_ms;
	struct ocserv_version_cache version; /* `ocserv -v`'s */
};

/* ---- occtl's text formats ------------------------------------------------------------ */

/* occtl's strftime of local time, "YYYY-MM-DD HH:MM". */
static const char *local_minute_text(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		buf[0] = '\0';
	return buf;
}

/* A time as the occtl backend reads it back from that text: the minute. */
static int64_t local_minute(int64_t t)
{
	char buf[64];

	return timefmt_parse_localtime(local_minute_text(t, buf, sizeof(buf)));
}

/* occtl's compact interval of t seconds (its print_time_ival7), read back
 * as the occtl backend reads it: exact below an hour, then to the minute,
 * from two days on to the day; -1 ("?") when negative. */
static int64_t occtl_interval(int64_t t)
{
	char buf[32];

	if (t < 0)
		return -1;
	if (t >= 48 * 3600)
		snprintf(buf, sizeof(buf), "%2lddays", (long)(t / 86400));
	else if (t >= 3600)
		snprintf(buf, sizeof(buf), "%2ldh:%02um", (long)(t / 3600),
			 (unsigned)(t / 60 % 60));
	else if (t > 60)
		snprintf(buf, sizeof(buf), "%2ldm:%02us", (long)(t / 60), (unsigned)(t % 60));
	else
		snprintf(buf, sizeof(buf), "%5lds", (long)t);
	return timefmt_parse_interval(buf);
}

/* occtl's bytes2human: decimal units, one decimal. */
static void bytes_human(uint64_t bytes, const char *suffix, char *out, size_t len)
{
	if (bytes > 1000 && bytes < 1000 * 1000)
		snprintf(out, len, "%.1f kB%s", (double)bytes / 1000, suffix);
	else if (bytes >= 1000 * 1000 && bytes < 1000 * 1000 * 1000)
		snprintf(out, len, "%.1f MB%s", (double)bytes / (1000 * 1000), suffix);
	else if (bytes >= 1000 * 1000 * 1000)
		snprintf(out, len, "%.1f GB%s", (double)bytes / (1000 * 1000 * 1000), suffix);
	else
		snprintf(out, len, "%llu bytes%s", (unsigned long long)bytes, suffix);
}

static bool version_known(const struct ocserv_version *v)
{
	return v->text[0] != '\0';
}

/* What occtl calls a session or cookie state (ocserv's ps_status_to_str). */
static const char *state_text(uint32_t status, bool cookie)
{
	switch (status) {
	case PS_COMPLETED:
		return cookie ? "authenticated" : "connected";
	case PS_INIT:
	case PS_CONT:
		return "authenticating";
	case PS_INACTIVE:
		return "pre-auth";
	case PS_FAILED:
		return "auth failed";
	default:
		return "unknown";
	}
}

static const char *proto_text(uint32_t proto)
{
	static const char *const names[] = {"udp", "tcp", "sctp", "esp", "icmp", "icmpv6"};

	return proto < sizeof(names) / sizeof(names[0]) ? names[proto] : "unknown";
}

/* ---- building records ------------------------------------------------------------------ */

/* Copies that remember a failed allocation, so a record is filled in one
 * go and checked once. */
struct filler {
	bool nomem;
};

/* occtl prints no key for an empty string: absent. */
static char *str(struct filler *f, const char *s)
{
	char *d;

	if (s == NULL || s[0] == '\0')
		return NULL;
	d = strdup(s);
	f->nomem |= d == NULL;
	return d;
}

/* A user or group name: occtl's "(none)" placeholder is absent too. */
static char *name(struct filler *f, const char *s)
{
	return s != NULL && strcmp(s, "(none)") == 0 ? NULL : str(f, s);
}

/* The first n bytes of a safe id, up to a NUL (occtl's shorten()). */
static char *sid(struct filler *f, const ProtobufCBinaryData *b, size_t n)
{
	char buf[FULL_SID_LEN + 1];
	size_t len = b->len < n ? b->len : n;

	if (b->data == NULL)
		len = 0;
	memcpy(buf, b->data ? (const char *)b->data : "", len);
	buf[len] = '\0';
	return str(f, buf);
}

static void strv_copy(struct filler *f, struct strv *sv, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		f->nomem |= strv_add(sv, v[i] ? v[i] : "") < 0;
}

static int decode_error(struct err_info *ei, const char *what, size_t len)
{
	return err_set(ei, ERR_CTL_PROTOCOL, "control reply: %zu bytes are not a %s", len, what);
}

/* ---- decoding memory --------------------------------------------------------------------- */

/* protobuf-c allocates every string, array and submessage of a reply on
 * its own; a list of 50 sessions is over a thousand allocations, each one
 * freed again right after the copy into our records. An arena takes them
 * from a few blocks and frees those at once. */
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	ProtobufCAllocator pa;
	struct arena_block *head;
};

#define ARENA_ALIGN sizeof(max_align_t)

/* Under AddressSanitizer (the ASan build, the fuzz targets) every
 * allocation gets a block of its own, exactly its size, so that an
 * overflow still hits a redzone. */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_EXACT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_EXACT 1
#endif
#endif
#ifndef ARENA_EXACT
#define ARENA_EXACT 0
#endif

static void *arena_alloc(void *ad, size_t size)
{
	struct arena *a = ad;
	struct arena_block *b = a->head;
	size_t need = ARENA_EXACT ? size : (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;

	if (need < size)
		return NULL;
	if (ARENA_EXACT || b == NULL || b->cap - b->used < need) {
		size_t cap = ARENA_EXACT ? need : b ? b->cap * 2 : 4096;
		if (cap < need)
			cap = need;
		struct arena_block *nb = malloc(sizeof(*nb) + cap);
		if (nb == NULL)
			return NULL;
		nb->next = b;
		nb->used = 0;
		nb->cap = cap;
		a->head = b = nb;
	}
	b->used += need;
	return (char *)b->data + b->used - need;
}

static void arena_free_one(void *ad, void *p)
{
	(void)ad;
	(void)p; /* all goes at arena_free() */
}

/* An arena whose first block fits a reply of len bytes once unpacked
 * (unpacked, a message takes a few times its wire size). */
static void arena_init(struct arena *a, size_t len)
{
	a->pa = (ProtobufCAllocator){arena_alloc, arena_free_one, a};
	a->head = NULL;
	if (!ARENA_EXACT && len > 0 && len < SIZE_MAX / 8) {
		arena_alloc(a, len * 4 + 1024);
		if (a->head != NULL)
			a->head->used = 0;
	}
}

static void arena_free(struct arena *a)
{
	while (a->head != NULL) {
		struct arena_block *b = a->head;
		a->head = b->next;
		free(b);
	}
}

/* ---- status ------------------------------------------------------------------------------ */

static int set_num(json_t *o, const char *key, int64_t v)
{
	return json_object_set_new(o, key, json_integer(v));
}

/* The keys occtl -j show status prints (when ocserv says it is up), with
 * occtl's arithmetic, for status_from_occtl() to normalise. */
static int status_object(const CtlStatusRep *s, int64_t now, json_t *o)
{
	int r = 0;

	if (!s->status)
		return 0; /* occtl prints an empty object */
	r |= json_object_set_new(o, "Status", json_string("online"));
	r |= set_num(o, "Server PID", s->pid);
	if (s->n_sec_mod_pids > 0)
		r |= set_num(o, "Sec-mod PID", s->sec_mod_pids[0]);
	r |= set_num(o, "Sec-mod instance count", (int64_t)s->n_sec_mod_pids);
	r |= set_num(o, "raw_up_since", s->start_time);
	r |= set_num(o, "uptime", now - s->start_time);
	r |= set_num(o, "Active sessions", s->active_clients);
	r |= set_num(o, "Total sessions", (int64_t)s->total_sessions_closed);
	r |= set_num(o, "Total authentication failures", (int64_t)s->total_auth_failures);
	r |= set_num(o, "IPs in ban list", s->banned_ips);
	if (s->last_reset > 0)
		r |= set_num(o, "raw_last_stats_reset", s->last_reset);
	r |= set_num(o, "Sessions handled", (int64_t)s->sessions_closed);
	r |= set_num(o, "Timed out sessions", (int64_t)s->session_timeouts);
	r |= set_num(o, "Timed out (idle) sessions", (int64_t)s->session_idle_timeouts);
	r |= set_num(o, "Closed due to error sessions", (int64_t)s->session_errors);
	r |= set_num(o, "Authentication failures", (int64_t)s->auth_failures);
	r |= set_num(o, "raw_avg_auth_time", s->avg_auth_time);
	r |= set_num(o, "raw_max_auth_time", s->max_auth_time);
	r |= set_num(o, "raw_avg_session_time", (int64_t)s->avg_session_mins * 60);
	r |= set_num(o, "raw_max_session_time", (int64_t)s->max_session_mins * 60);
	r |= set_num(o, "raw_rx", (int64_t)(s->kbytes_in * 1000));
	r |= set_num(o, "raw_tx", (int64_t)(s->kbytes_out * 1000));
	return r ? ERR_NOMEM : 0;
}

int ctl_backend_decode_status(const uint8_t *p, size_t len, const struct ctl_decode_ctx *c,
			      json_t **ret, struct err_info *ei)
{
	CtlStatusRep *s = ctl_status_rep__unpack(NULL, len, p);
	json_t *o;
	int r;

	if (s == NULL)
		return decode_error(ei, "status", len);
	o = json_object();
	r = o == NULL ? ERR_NOMEM : status_object(s, c->now, o);
	ctl_status_rep__free_unpacked(s, NULL);
	if (r < 0) {
		json_decref(o);
		return err_set(ei, ERR_NOMEM, "out of memory");
	}
	r = status_from_occtl(o, ret, ei);
	json_decref(o);
	return r;
}

/* ---- sessions ---------------------------------------------------------------------------- */

/* "tcp(443)", "!udp()": occtl's text of one port restriction. */
static void fw_ports(struct filler *f, struct strv *sv, CtlFwPort **v, size_t n)
{
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		const CtlFwPort *fp = v[i];
		if (fp->port)
			snprintf(buf, sizeof(buf), "%s%s(%u)", fp->negate ? "!" : "",
				 proto_text(fp->proto), fp->port);
		else
			snprintf(buf, sizeof(buf), "%s%s()", fp->negate ? "!" : "",
				 proto_text(fp->proto));
		f->nomem |= strv_add(sv, buf) < 0;
	}
}

/* RX/TX from the tun device and occtl's averages over the connection time;
 * all absent when the device is not there (occtl prints none then). */
static void counters(struct filler *f, struct session *s, const CtlUserInfo *u,
		     const struct ctl_decode_ctx *c)
{
	const struct tun_stat *st = tun_stats_find(c->tun, s->device);
	int64_t diff = c->now - (int64_t)u->conn_time;
	/* 1.1.6's occtl said "bytes/sec" (and divided by zero in the first second). */
	const char *suffix =
		version_known(&c->version) && !ocserv_version_at_least(&c->version, 1, 2, 0)
			? "/sec"
			: "/s";
	char buf[48];

	if (s->device == NULL || st == NULL)
		return;
	s->rx_bytes = (int64_t)st->rx_bytes;
	s->tx_bytes = (int64_t)st->tx_bytes;
	bytes_human(diff > 0 ? st->rx_bytes / (uint64_t)diff : 0, suffix, buf, sizeof(buf));
	s->avg_rx = str(f, buf);
	bytes_human(diff > 0 ? st->tx_bytes / (uint64_t)diff : 0, suffix, buf, sizeof(buf));
	s->avg_tx = str(f, buf);
}

/* When the session connected, as occtl says it: the local minute, the
 * exact epoch from 1.2.3 on (and the elapsed time from it), else the
 * elapsed time in occtl's compact form. */
static void times(struct filler *f, struct session *s, const CtlUserInfo *u,
		  const struct ctl_decode_ctx *c)
{
	char buf[64];
	int64_t t = (int64_t)u->conn_time;

	s->connected_at = str(f, local_minute_text(t, buf, sizeof(buf)));
	if (!version_known(&c->version) || ocserv_version_at_least(&c->version, 1, 2, 3)) {
		s->raw_connected_at = t;
		s->since_seconds = c->now > t ? c->now - t : 0;
	} else {
		s->since_seconds = occtl_interval(c->now - t);
	}
	if (u->has_session_start_time)
		s->raw_session_started_at = (int64_t)u->session_start_time;
}

static void addresses(struct filler *f, struct session *s, const CtlUserInfo *u)
{
	s->client_ip = str(f, u->ip);
	s->local_device_ip = str(f, u->local_dev_ip);
	/* occtl prints a VPN address only with its peer (local_ip is the client's) */
	if (u->local_ip && u->local_ip[0] && u->remote_ip && u->remote_ip[0]) {
		s->vpn_ipv4 = str(f, u->local_ip);
		s->p2p_ipv4 = str(f, u->remote_ip);
	}
	if (u->local_ip6 && u->local_ip6[0] && u->remote_ip6 && u->remote_ip6[0])
		s->vpn_ipv6 = str(f, u->local_ip6);
}

static void lists(struct filler *f, struct session *s, const CtlUserInfo *u)
{
	strv_copy(f, &s->dns, u->dns, u->n_dns);
	strv_copy(f, &s->nbns, u->nbns, u->n_nbns);
	strv_copy(f, &s->split_dns_domains, u->domains, u->n_domains);
	strv_copy(f, &s->routes, u->routes, u->n_routes);
	/* occtl's second "Routes" key, which its readers take as the value */
	if (u->n_routes == 0)
		f->nomem |= strv_add(&s->routes, "defaultroute") < 0;
	strv_copy(f, &s->no_routes, u->no_routes, u->n_no_routes);
	strv_copy(f, &s->iroutes, u->iroutes, u->n_iroutes);
	fw_ports(f, &s->restricted_to_ports, u->fw_ports, u->n_fw_ports);
}

static void session_fill(struct filler *f, struct session *s, const CtlUserInfo *u,
			 const struct ctl_decode_ctx *c)
{
	s->id = u->id;
	s->username = name(f, u->username);
	s->groupname = name(f, u->groupname);
	s->state = str(f, state_text(u->status, false));
	s->vhost = str(f, u->vhost);
	s->device = str(f, u->tun);
	s->mtu = u->has_mtu ? (int64_t)u->mtu : SESSION_ABSENT;
	addresses(f, s, u);
	s->user_agent = str(f, u->user_agent);
	s->rx_bytes = s->tx_bytes = SESSION_ABSENT;
	counters(f, s, u, c);
	/* printed with %d: a value over INT_MAX would read back as absent */
	s->dpd = (int)u->dpd >= 0 ? (int)u->dpd : SESSION_ABSENT;
	s->keepalive = (int)u->keepalive >= 0 ? (int)u->keepalive : SESSION_ABSENT;
	s->hostname = str(f, u->hostname);
	s->raw_connected_at = s->raw_session_started_at = SESSION_ABSENT;
	times(f, s, u, c);
	s->full_session = sid(f, &u->safe_id, FULL_SID_LEN);
	s->session_id = sid(f, &u->safe_id, SHORT_SID_LEN);
	s->tls_cipher = str(f, u->tls_ciphersuite);
	s->dtls_cipher = str(f, u->dtls_ciphersuite);
	lists(f, s, u);
	s->restricted_to_routes = u->restrict_to_routes ? 1 : 0;
}

/* Fill one record (a struct session or struct iroute) from u. */
typedef void user_fill_fn(struct filler *f, void *rec, const CtlUserInfo *u,
			  const struct ctl_decode_ctx *c);

/* Unpack a user list and fill one record of size bytes per user into a new
 * array (*ret_v, *ret_n: the records filled, also on failure, for the
 * caller's list to free). Every user must have an ID. */
static int decode_users(const uint8_t *p, size_t len, const struct ctl_decode_ctx *c, size_t size,
			user_fill_fn *fill, void **ret_v, size_t *ret_n, struct err_info *ei)
{
	struct arena a;
	CtlUserList *ul = (arena_init(&a, len), ctl_user_list__unpack(&a.pa, len, p));
	struct filler f = {0};
	char *v = NULL;
	int r = 0;

	*ret_v = NULL;
	*ret_n = 0;
	if (ul == NULL) {
		arena_free(&a);
		return decode_error(ei, "user list", len);
	}
	if (ul->n_user > 0)
		f.nomem = (v = calloc(ul->n_user, size)) == NULL;
	*ret_v = v;
	for (size_t i = 0; !f.nomem && r == 0 && i < ul->n_user; i++) {
		fill(&f, v + i * size, ul->user[i], c);
		(*ret_n)++;
		if (ul->user[i]->id <= 0)
			r = err_set(ei, ERR_CTL_PROTOCOL, "control reply: a session without an ID");
	}
	arena_free(&a); /* ul with it */
	if (f.nomem && r == 0)
		r = err_set(ei, ERR_NOMEM, "out of memory");
	return r;
}

static void session_fill_user(struct filler *f, void *rec, const CtlUserInfo *u,
			      const struct ctl_decode_ctx *c)
{
	session_fill(f, rec, u, c);
}

int ctl_backend_decode_sessions(const uint8_t *p, size_t len, const struct ctl_decode_ctx *c,
				struct session_list **ret, struct err_info *ei)
{
	struct session_list *l = calloc(1, sizeof(*l));
	void *v;
	int r;

	if (l == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	r = decode_users(p, len, c, sizeof(*l->v), session_fill_user, &v, &l->n, ei);
	l->v = v;
	if (r < 0) {
		session_list_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* ---- iroutes ----------------------------------------------------------------------------- */

static void iroute_fill(struct filler *f, struct iroute *ir, const CtlUserInfo *u)
{
	ir->id = u->id;
	ir->username = name(f, u->username);
	ir->vhost = str(f, u->vhost);
	ir->device = str(f, u->tun);
	ir->ip = str(f, u->local_ip && u->local_ip[0] ? u->local_ip : u->local_ip6);
	strv_copy(f, &ir->iroutes, u->iroutes, u->n_iroutes);
}

static void iroute_fill_user(struct filler *f, void *rec, const CtlUserInfo *u,
			     const struct ctl_decode_ctx *c)
{
	(void)c;
	iroute_fill(f, rec, u);
}

int ctl_backend_decode_iroutes(const uint8_t *p, size_t len, struct iroute_list **ret,
			       struct err_info *ei)
{
	struct iroute_list *l = calloc(1, sizeof(*l));
	void *v;
	int r;

	if (l == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	r = decode_users(p, len, NULL, sizeof(*l->v), iroute_fill_user, &v, &l->n, ei);
	l->v = v;
	if (r < 0) {
		iroute_list_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* ---- cookies ----------------------------------------------------------------------------- */

static void cookie_fill(struct filler *f, struct cookie *k, const CtlCookieInfo *ci)
{
	k->session_id = sid(f, &ci->safe_id, SHORT_SID_LEN);
	k->full_session = sid(f, &ci->safe_id, FULL_SID_LEN);
	/* occtl prints both to the minute, and nothing for 0 */
	k->created = ci->created > 0 ? local_minute((int64_t)ci->created) : -1;
	k->expires = ci->expires > 0 ? local_minute((int64_t)ci->expires) : -1;
	k->state = str(f, state_text(ci->status, true));
	k->username = name(f, ci->username);
	k->groupname = name(f, ci->groupname);
	k->vhost = str(f, ci->vhost);
	k->user_agent = str(f, ci->user_agent);
	k->remote_ip = str(f, ci->remote_ip);
	k->session_is_open = ci->session_is_open ? 1 : 0;
	k->tls_auth_ok = ci->tls_auth_ok ? 1 : 0;
	k->in_use = ci->in_use ? 1 : 0;
}

int ctl_backend_decode_cookies(const uint8_t *p, size_t len, bool valid_only,
			       struct cookie_list **ret, struct err_info *ei)
{
	CtlCookieList *cl = ctl_cookie_list__unpack(NULL, len, p);
	struct cookie_list *l = calloc(1, sizeof(*l));
	struct filler f = {.nomem = l == NULL};
	int r = 0;

	if (cl == NULL) {
		free(l);
		return decode_error(ei, "cookie list", len);
	}
	if (!f.nomem && cl->n_cookies > 0) {
		l->v = calloc(cl->n_cookies, sizeof(*l->v));
		f.nomem = l->v == NULL;
	}
	for (size_t i = 0; !f.nomem && r == 0 && i < cl->n_cookies; i++) {
		if (valid_only && cl->cookies[i]->status != PS_COMPLETED)
			continue;
		cookie_fill(&f, &l->v[l->n], cl->cookies[i]);
		if (l->v[l->n++].session_id == NULL && !f.nomem)
			r = err_set(ei, ERR_CTL_PROTOCOL, "control reply: a cookie without an id");
	}
	ctl_cookie_list__free_unpacked(cl, NULL);
	if (f.nomem && r == 0)
		r = err_set(ei, ERR_NOMEM, "out of memory");
	if (r < 0) {
		cookie_list_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* ---- bans -------------------------------------------------------------------------------- */

static char *ban_ip(struct filler *f, const ProtobufCBinaryData *b)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(b->len == 16 ? AF_INET6 : AF_INET, b->data, buf, sizeof(buf)) == NULL)
		snprintf(buf, sizeof(buf), "(unknown)");
	return str(f, buf);
}

/* A ban's end as the occtl backend reads it from occtl: now plus occtl's
 * compact countdown, or, once passed ("?"), the minute of its local time. */
static int64_t ban_end(int64_t expires, int64_t now)
{
	int64_t left = occtl_interval(expires - now);

	return left >= 0 ? now + left : local_minute(expires);
}

int ctl_backend_decode_bans(const uint8_t *p, size_t len, bool points, int64_t now,
			    struct ban_list **ret, struct err_info *ei)
{
	CtlBanList *bl = ctl_ban_list__unpack(NULL, len, p);
	struct ban_list *l = calloc(1, sizeof(*l));
	struct filler f = {.nomem = l == NULL};

	if (bl == NULL) {
		free(l);
		return decode_error(ei, "ban list", len);
	}
	if (!f.nomem && bl->n_info > 0) {
		l->v = calloc(bl->n_info, sizeof(*l->v));
		f.nomem = l->v == NULL;
	}
	for (size_t i = 0; !f.nomem && i < bl->n_info; i++) {
		const CtlBanInfo *b = bl->info[i];
		/* occtl skips what is not an address, and for bans what has no end */
		if (b->ip.len < 4 || (!points && !b->has_expires))
			continue;
		struct ban *e = &l->v[l->n++];
		e->ip = ban_ip(&f, &b->ip);
		e->score = b->score;
		e->expires = points ? -1 : ban_end(b->expires, now);
	}
	ctl_ban_list__free_unpacked(bl, NULL);
	if (f.nomem) {
		ban_list_free(l);
		return err_set(ei, ERR_NOMEM, "out of memory");
	}
	*ret = l;
	return 0;
}

int ctl_backend_decode_bool(const uint8_t *p, size_t len, bool *ret, struct err_info *ei)
{
	CtlBoolMsg *m = ctl_bool_msg__unpack(NULL, len, p);

	if (m == NULL)
		return decode_error(ei, "bool reply", len);
	*ret = m->status;
	ctl_bool_msg__free_unpacked(m, NULL);
	return 0;
}

/* ---- the backend ------------------------------------------------------------------------- */

/* ocserv's version from `ocserv -v` (stdout or, in 1.1.6, stderr), cached. */
static int be_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	struct ctl *c = be;

	return ocserv_version_cache_get(&c->version, c->ocserv_path, true, c->timeout_ms, ret, ei);
}

/* One request and its reply payload (rep->payload may be NULL for an empty
 * message, which decodes as one with no fields). */
static int call(struct ctl *c, uint8_t cmd, const ProtobufCMessage *req, uint8_t rep,
		unsigned timeout_ms, struct ctl_msg *ret, struct err_info *ei)
{
	uint8_t buf[CTL_MAX_REQUEST];
	size_t len = 0;

	if (req != NULL) {
		len = protobuf_c_message_get_packed_size(req);
		if (len > CTL_MAX_REQUEST - CTL_HEADER_LEN)
			return err_set(ei, ERR_BAD_REQUEST, "control request too large (%zu bytes)",
				       len);
		protobuf_c_message_pack(req, buf);
	}
	return ctl_call(c->socket, cmd, buf, len, rep, timeout_ms ? timeout_ms : c->timeout_ms, ret,
			ei);
}

/* The context of decoding a reply now: the version (unknown when it cannot
 * be had) and, for sessions, the tun counters (none when unreadable). */
static void decode_ctx(struct ctl *c, struct ctl_decode_ctx *dc, struct tun_stats *tun)
{
	struct err_info ignored;

	memset(dc, 0, sizeof(*dc));
	dc->now = (int64_t)time(NULL);
	if (be_version(c, &dc->version, &ignored) < 0)
		memset(&dc->version, 0, sizeof(dc->version));
	if (tun != NULL && tun_stats_read(tun, &ignored) == 0)
		dc->tun = tun;
}

static int be_status(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	struct ctl_decode_ctx dc = {.now = (int64_t)time(NULL)};
	struct ctl_msg m;
	int r = call(be, CTL_CMD_STATUS, NULL, CTL_REP_STATUS, timeout_ms, &m, ei);

	if (r < 0)
		return r;
	r = ctl_backend_decode_status(m.payload, m.len, &dc, ret, ei);
	ctl_msg_free(&m);
	return r;
}

static int sessions_call(struct ctl *c, uint8_t cmd, const ProtobufCMessage *req,
			 unsigned timeout_ms, struct session_list **ret, struct err_info *ei)
{
	struct tun_stats tun = {0};
	struct ctl_decode_ctx dc;
	struct ctl_msg m;
	int r = call(c, cmd, req, CTL_REP_USER_LIST, timeout_ms, &m, ei);

	if (r < 0)
		return r;
	decode_ctx(c, &dc, &tun);
	r = ctl_backend_decode_sessions(m.payload, m.len, &dc, ret, ei);
	tun_stats_free(&tun);
	ctl_msg_free(&m);
	return r;
}

static int be_list(void *be, struct session_list **ret, struct err_info *ei)
{
	return sessions_call(be, CTL_CMD_LIST, NULL, 0, ret, ei);
}

static int be_user(void *be, const char *username, struct session_list **ret, struct err_info *ei)
{
	CtlUsernameReq req = CTL_USERNAME_REQ__INIT;

	req.username = (char *)username;
	return sessions_call(be, CTL_CMD_USER_INFO, &req.base, 0, ret, ei);
}

static int be_id(void *be, int64_t id, unsigned timeout_ms, struct session_list **ret,
		 struct err_info *ei)
{
	CtlIdReq req = CTL_ID_REQ__INIT;
	int r;

	if (id <= 0 || id > INT32_MAX)
		return err_set(ei, ERR_NOT_FOUND, "no session %lld", (long long)id);
	req.has_id = true;
	req.id = (int32_t)id;
	r = sessions_call(be, CTL_CMD_ID_INFO, &req.base, timeout_ms, ret, ei);
	if (r == 0 && (*ret)->n == 0) {
		session_list_free(*ret);
		*ret = NULL;
		return err_set(ei, ERR_NOT_FOUND, "no session %lld", (long long)id);
	}
	return r;
}

/* A command whose answer is ocserv's yes or no; no is what, as occtl's
 * "could not ..." is read by the occtl backend. */
static int yes_no(struct ctl *c, uint8_t cmd, const ProtobufCMessage *req, uint8_t rep, int no,
		  const char *what, struct err_info *ei)
{
	struct ctl_msg m;
	bool ok = false;
	int r = call(c, cmd, req, rep, 0, &m, ei);

	if (r < 0)
		return r;
	r = ctl_backend_decode_bool(m.payload, m.len, &ok, ei);
	ctl_msg_free(&m);
	if (r == 0 && !ok)
		r = err_set(ei, no, "ocserv refused %s", what);
	return r;
}

static int id_command(struct ctl *c, uint8_t cmd, uint8_t rep, int64_t id, const char *what,
		      struct err_info *ei)
{
	CtlIdReq req = CTL_ID_REQ__INIT;

	/* occtl refuses such an ID before asking: nothing can match it */
	if (id <= 0 || id > INT32_MAX)
		return err_set(ei, ERR_NOT_FOUND, "%s: no session %lld", what, (long long)id);
	req.has_id = true;
	req.id = (int32_t)id;
	return yes_no(c, cmd, &req.base, rep, ERR_NOT_FOUND, what, ei);
}

static int name_command(struct ctl *c, uint8_t cmd, uint8_t rep, const char *username,
			const char *what, struct err_info *ei)
{
	CtlUsernameReq req = CTL_USERNAME_REQ__INIT;

	req.username = (char *)username;
	return yes_no(c, cmd, &req.base, rep, ERR_NOT_FOUND, what, ei);
}

static int be_disconnect_id(void *be, int64_t id, struct err_info *ei)
{
	return id_command(be, CTL_CMD_DISCONNECT_ID, CTL_REP_DISCONNECT_ID, id, "disconnect id",
			  ei);
}

static int be_disconnect_user(void *be, const char *username, struct err_info *ei)
{
	return name_command(be, CTL_CMD_DISCONNECT_NAME, CTL_REP_DISCONNECT_NAME, username,
			    "disconnect user", ei);
}

static int be_cookies(void *be, bool valid_only, struct cookie_list **ret, struct err_info *ei)
{
	struct ctl_msg m;
	int r = call(be, CTL_CMD_LIST_COOKIES, NULL, CTL_REP_COOKIE_LIST, 0, &m, ei);

	if (r < 0)
		return r;
	r = ctl_backend_decode_cookies(m.payload, m.len, valid_only, ret, ei);
	ctl_msg_free(&m);
	return r;
}

struct sid_match {
	const char *sid;
	bool full;
};

static bool sid_matches(const struct cookie *k, void *arg)
{
	const struct sid_match *m = arg;
	const char *id = m->full ? k->full_session : k->session_id;

	return id != NULL && strcmp(id, m->sid) == 0;
}

/* A short id matches the short id exactly, a longer one the full id: what
 * the occtl backend makes of `show session SID` and `show sessions all`. */
static int be_cookie(void *be, const char *sid_text, struct cookie_list **ret, struct err_info *ei)
{
	struct sid_match m = {sid_text, strlen(sid_text) > SHORT_SID_LEN};
	int r = be_cookies(be, false, ret, ei);

	if (r < 0)
		return r;
	cookie_list_keep(*ret, sid_matches, &m);
	if ((*ret)->n == 0) {
		cookie_list_free(*ret);
		*ret = NULL;
		return err_set(ei, ERR_NOT_FOUND, "no session cookie %s", sid_text);
	}
	return 0;
}

static int be_iroutes(void *be, struct iroute_list **ret, struct err_info *ei)
{
	struct ctl_msg m;
	int r = call(be, CTL_CMD_LIST, NULL, CTL_REP_USER_LIST, 0, &m, ei);

	if (r < 0)
		return r;
	r = ctl_backend_decode_iroutes(m.payload, m.len, ret, ei);
	ctl_msg_free(&m);
	return r;
}

static int ban_call(void *be, bool points, struct ban_list **ret, struct err_info *ei)
{
	struct ctl_msg m;
	int r = call(be, CTL_CMD_LIST_BANNED, NULL, CTL_REP_BAN_LIST, 0, &m, ei);

	if (r < 0)
		return r;
	r = ctl_backend_decode_bans(m.payload, m.len, points, (int64_t)time(NULL), ret, ei);
	ctl_msg_free(&m);
	return r;
}

static int be_bans(void *be, struct ban_list **ret, struct err_info *ei)
{
	return ban_call(be, false, ret, ei);
}

static int be_ban_points(void *be, struct ban_list **ret, struct err_info *ei)
{
	return ban_call(be, true, ret, ei);
}

/* The address as raw bytes, the way occtl converts it (IPv6 when it has a
 * colon). */
static int be_unban(void *be, const char *ip, struct err_info *ei)
{
	CtlUnbanReq req = CTL_UNBAN_REQ__INIT;
	uint8_t addr[16];
	int af = strchr(ip, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(af, ip, addr) != 1)
		return err_set(ei, ERR_BAD_REQUEST, "not an IP address: %s", ip);
	req.has_ip = true;
	req.ip.data = addr;
	req.ip.len = af == AF_INET6 ? 16 : 4;
	return yes_no(be, CTL_CMD_UNBAN_IP, &req.base, CTL_REP_UNBAN_IP, ERR_NOT_FOUND, "unban",
		      ei);
}

static int be_reload(void *be, struct err_info *ei)
{
	return yes_no(be, CTL_CMD_RELOAD, NULL, CTL_REP_RELOAD, ERR_OCCTL_FAILED, "reload", ei);
}

/* terminate exists from 1.4.2; an older ocserv closes the connection
 * without a reply, which is ERR_NOT_SUPPORTED already. */
static int be_terminate_id(void *be, int64_t id, struct err_info *ei)
{
	return id_command(be, CTL_CMD_TERMINATE_ID, CTL_REP_TERMINATE_ID, id, "terminate id", ei);
}

static int be_terminate_user(void *be, const char *username, struct err_info *ei)
{
	return name_command(be, CTL_CMD_TERMINATE_USER, CTL_REP_TERMINATE_USER, username,
			    "terminate user", ei);
}

static int be_terminate_cookie(void *be, const char *sid_text, struct err_info *ei)
{
	CtlSafeIdReq req = CTL_SAFE_ID_REQ__INIT;

	req.has_safe_id = true;
	req.safe_id.data = (uint8_t *)sid_text;
	req.safe_id.len = strlen(sid_text);
	return yes_no(be, CTL_CMD_TERMINATE_SESSION, &req.base, CTL_REP_TERMINATE_SESSION,
		      ERR_NOT_FOUND, "terminate session", ei);
}

static void be_free(void *be)
{
	struct ctl *c = be;

	if (c == NULL)
		return;
	free(c->socket);
	free(c->ocserv_path);
	ocserv_version_cache_destroy(&c->version);
	free(c);
}

static const struct ocserv_backend_ops ctl_ops = {
	.name = "ctl",
	.status = be_status,
	.list = be_list,
	.user = be_user,
	.id = be_id,
	.disconnect_id = be_disconnect_id,
	.disconnect_user = be_disconnect_user,
	.version = be_version,
	.cookies = be_cookies,
	.cookie = be_cookie,
	.iroutes = be_iroutes,
	.bans = be_bans,
	.ban_points = be_ban_points,
	.unban = be_unban,
	.reload = be_reload,
	.terminate_id = be_terminate_id,
	.terminate_user = be_terminate_user,
	.terminate_cookie = be_terminate_cookie,
	.free = be_free,
};

struct ocserv *ctl_backend_new(const struct ctl_options *o)
{
	struct ctl *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->socket = strdup(o->socket ? o->socket : CTL_SOCKET_DEFAULT);
	c->ocserv_path = strdup(o->ocserv_path ? o->ocserv_path : "/usr/sbin/ocserv");
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
	ocserv_version_cache_init(&c->version);
	if (c->socket == NULL || c->ocserv_path == NULL) {
		be_free(c);
		return NULL;
	}
	return ocserv_new(&ctl_ops, c);
}

bool ctl_probe(const char *socket, unsigned timeout_ms, struct err_info *ei)
{
	struct ctl_msg m;

	if (ctl_call(socket ? socket : CTL_SOCKET_DEFAULT, CTL_CMD_STATUS, NULL, 0, CTL_REP_STATUS,
		     timeout_ms, &m, ei) < 0)
		return false;
	ctl_msg_free(&m);
	return true;
}
