/* The native backend's decoding against real bytes: replies of ocserv 1.1.6,
 * 1.3.0 and 1.5.0 captured from their control sockets with live sessions
 * (tests/integration/ctl_capture.py → tests/data/ctl/ocserv-V/NAME.bin),
 * each compared with what the occtl backend's parsers make of occtl's own
 * -j output for the same state (NAME.occtl, captured right after). Then the
 * whole backend against a fake control socket serving those bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "unit.h"

#include "ctl.h"
#include "ctl.pb-c.h"
#include "ctl_backend.h"
#include "ocserv.h"
#include "status.h"

#define CTL_DIR FIXTURES_DIR "/ctl"

/* ---- captured files ------------------------------------------------------------------ */

static char *read_capture(const char *version, const char *name, size_t *len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/ocserv-%s/%s", CTL_DIR, version, name);
	return unit_read_file(path, len);
}

/* A reply frame's payload (after the 5-byte header) and its command. */
struct frame {
	char *buf;
	size_t len;
	const uint8_t *payload;
	size_t plen;
	uint8_t cmd;
};

static void frame_load(struct frame *f, const char *version, const char *name)
{
	char file[128];

	snprintf(file, sizeof(file), "%s.bin", name);
	f->buf = read_capture(version, file, &f->len);
	assert_non_null(f->buf);
	assert_true(f->len >= CTL_HEADER_LEN);
	uint32_t n;
	memcpy(&n, f->buf + 1, 4);
	assert_int_equal(n, f->len - CTL_HEADER_LEN);
	f->cmd = (uint8_t)f->buf[0];
	f->payload = (const uint8_t *)f->buf + CTL_HEADER_LEN;
	f->plen = f->len - CTL_HEADER_LEN;
}

/* The capture's time (first line of MANIFEST: "ocserv V, captured at T"). */
static int64_t capture_time(const char *version)
{
	char *m = read_capture(version, "MANIFEST", NULL);
	const char *p = m ? strstr(m, "captured at ") : NULL;
	int64_t t = p ? strtoll(p + 12, NULL, 10) : 0;

	free(m);
	assert_true(t > 0);
	return t;
}

static void ctx_for(struct ctl_decode_ctx *c, const char *version)
{
	memset(c, 0, sizeof(*c));
	c->now = capture_time(version);
	assert_int_equal(ocserv_version_parse(version, &c->version), 0);
}

static void assert_str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_strv_same(const struct strv *a, const struct strv *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}

static void assert_near(int64_t a, int64_t b, int64_t tolerance)
{
	assert_true(a >= b - tolerance && a <= b + tolerance);
}

static int setup_tz(void **state)
{
	(void)state;
	/* the captures' occtl ran with TZ=UTC */
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

/* ---- sessions -------------------------------------------------------------------------- */

/* The name occtl mangles; every other field must be what the occtl backend
 * read. Counters come from tun devices, which this test feeds with occtl's
 * own numbers. */
static void assert_session_same(const struct session *c, const struct session *o)
{
	assert_int_equal(c->id, o->id);
	if (c->username != NULL && strcmp(c->username, "jürgen") == 0)
		assert_string_not_equal(o->username, "jürgen"); /* occtl's defect */
	else
		assert_str_same(c->username, o->username);
	assert_str_same(c->groupname, o->groupname);
	assert_str_same(c->state, o->state);
	assert_str_same(c->vhost, o->vhost);
	assert_str_same(c->device, o->device);
	assert_str_same(c->client_ip, o->client_ip);
	assert_str_same(c->vpn_ipv4, o->vpn_ipv4);
	assert_str_same(c->vpn_ipv6, o->vpn_ipv6);
	assert_str_same(c->local_device_ip, o->local_device_ip);
	assert_str_same(c->p2p_ipv4, o->p2p_ipv4);
	assert_str_same(c->user_agent, o->user_agent);
	assert_str_same(c->connected_at, o->connected_at);
	assert_int_equal(c->raw_connected_at, o->raw_connected_at);
	assert_near(c->since_seconds, o->since_seconds, 2);
	assert_int_equal(c->rx_bytes, o->rx_bytes);
	assert_int_equal(c->tx_bytes, o->tx_bytes);
	assert_non_null(c->avg_rx);
	assert_non_null(c->avg_tx);
	assert_str_same(c->session_id, o->session_id);
	assert_str_same(c->full_session, o->full_session);
	assert_str_same(c->tls_cipher, o->tls_cipher);
	assert_str_same(c->dtls_cipher, o->dtls_cipher);
	assert_int_equal(c->mtu, o->mtu);
	assert_strv_same(&c->dns, &o->dns);
	assert_strv_same(&c->routes, &o->routes);
	assert_strv_same(&c->no_routes, &o->no_routes);
	assert_strv_same(&c->iroutes, &o->iroutes);
	assert_strv_same(&c->nbns, &o->nbns);
	assert_strv_same(&c->split_dns_domains, &o->split_dns_domains);
	assert_strv_same(&c->restricted_to_ports, &o->restricted_to_ports);
	assert_int_equal(c->restricted_to_routes, o->restricted_to_routes);
	assert_int_equal(c->keepalive, o->keepalive);
	assert_int_equal(c->dpd, o->dpd);
	assert_str_same(c->hostname, o->hostname);
	assert_int_equal(c->raw_session_started_at, o->raw_session_started_at);
}

/* Tun counters with occtl's RX/TX for each device it listed. */
static void tun_from(struct tun_stats *t, const struct session_list *o)
{
	t->v = calloc(o->n + 1, sizeof(*t->v));
	assert_non_null(t->v);
	t->n = 0;
	for (size_t i = 0; i < o->n; i++) {
		if (o->v[i].device == NULL || o->v[i].rx_bytes < 0)
			continue;
		snprintf(t->v[t->n].name, sizeof(t->v[t->n].name), "%s", o->v[i].device);
		t->v[t->n].rx_bytes = (uint64_t)o->v[i].rx_bytes;
		t->v[t->n].tx_bytes = (uint64_t)o->v[i].tx_bytes;
		t->n++;
	}
}

static void compare_sessions(const char *version, const char *name, size_t expect_n)
{
	struct ctl_decode_ctx c;
	struct session_list *cl = NULL, *ol = NULL;
	struct tun_stats tun;
	struct err_info ei = {0};
	struct frame f;
	char file[128];
	size_t olen;

	ctx_for(&c, version);
	frame_load(&f, version, name);
	assert_int_equal(f.cmd, CTL_REP_USER_LIST);
	snprintf(file, sizeof(file), "%s.occtl", name);
	char *otext = read_capture(version, file, &olen);
	assert_non_null(otext);
	assert_int_equal(session_list_parse_occtl(otext, olen, c.now, &ol, &ei), 0);
	tun_from(&tun, ol);
	c.tun = &tun;
	assert_int_equal(ctl_backend_decode_sessions(f.payload, f.plen, &c, &cl, &ei), 0);
	assert_int_equal(cl->n, expect_n);
	assert_int_equal(cl->n, ol->n);
	for (size_t i = 0; i < cl->n; i++)
		assert_session_same(&cl->v[i], &ol->v[i]);
	session_list_free(cl);
	session_list_free(ol);
	tun_stats_free(&tun);
	free(otext);
	free(f.buf);
}

static void sessions_match_occtl(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		compare_sessions(unit_versions[v], "list", 4);
		compare_sessions(unit_versions[v], "user-bob", 2);
		compare_sessions(unit_versions[v], "id-alice", 1);
		compare_sessions(unit_versions[v], "user-nosuchuser", 0);
		compare_sessions(unit_versions[v], "id-999999", 0);
	}
}

/* What occtl loses and the native backend keeps: a UTF-8 name, whole. */
static void utf8_name_intact(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		struct ctl_decode_ctx c;
		struct session_list *l = NULL;
		struct frame f;

		ctx_for(&c, unit_versions[v]);
		frame_load(&f, unit_versions[v], "user-jurgen");
		assert_int_equal(ctl_backend_decode_sessions(f.payload, f.plen, &c, &l, NULL), 0);
		assert_int_equal(l->n, 1);
		assert_string_equal(l->v[0].username, "jürgen");
		assert_null(l->v[0].groupname); /* no group: occtl's "(none)" */
		/* no tun counters given: absent, and no averages */
		assert_int_equal(l->v[0].rx_bytes, -1);
		assert_null(l->v[0].avg_rx);
		session_list_free(l);
		free(f.buf);
	}
}

/* What occtl's JSON cannot carry (strings over its 512-byte buffer become
 * "(invalid)", list values are not escaped): whole through the socket. A
 * message packed here, as ocserv packs its own. */
static void long_and_odd_strings_intact(void **state)
{
	char agent[700], *dns[] = {"a\"b\\c", "ok"};
	CtlUserInfo u = CTL_USER_INFO__INIT;
	CtlUserInfo *users[] = {&u};
	CtlUserList ul = CTL_USER_LIST__INIT;
	struct ctl_decode_ctx c = {.now = 1700000000};
	struct session_list *l = NULL;
	uint8_t buf[2048];
	size_t n;

	(void)state;
	memset(agent, 'x', sizeof(agent) - 1);
	agent[sizeof(agent) - 1] = '\0';
	u.has_id = 1;
	u.id = 42;
	u.username = "alice";
	u.user_agent = agent;
	u.n_dns = 2;
	u.dns = dns;
	ul.n_user = 1;
	ul.user = users;
	n = ctl_user_list__get_packed_size(&ul);
	assert_true(n < sizeof(buf));
	ctl_user_list__pack(&ul, buf);
	assert_int_equal(ctl_backend_decode_sessions(buf, n, &c, &l, NULL), 0);
	assert_int_equal(l->n, 1);
	assert_int_equal(strlen(l->v[0].user_agent), sizeof(agent) - 1);
	assert_int_equal(l->v[0].dns.n, 2);
	assert_string_equal(l->v[0].dns.v[0], "a\"b\\c");
	/* what occtl prints for a session without routes */
	assert_int_equal(l->v[0].routes.n, 1);
	assert_string_equal(l->v[0].routes.v[0], "defaultroute");
	assert_null(l->v[0].groupname);
	assert_int_equal(l->v[0].mtu, -1);
	session_list_free(l);
}

/* occtl's averages: "bytes/sec" in 1.1.6, "bytes/s" later; a known value. */
static void averages_by_version(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		struct ctl_decode_ctx c;
		struct session_list *l = NULL;
		struct tun_stats tun = {0};
		struct tun_stat st = {.rx_bytes = 0, .tx_bytes = 0};
		struct frame f;

		ctx_for(&c, unit_versions[v]);
		frame_load(&f, unit_versions[v], "id-alice");
		assert_int_equal(ctl_backend_decode_sessions(f.payload, f.plen, &c, &l, NULL), 0);
		snprintf(st.name, sizeof(st.name), "%s", l->v[0].device);
		/* 2500 bytes a second over the session's life, 100 s from now */
		int64_t life = l->v[0].since_seconds + 100;
		st.rx_bytes = (uint64_t)(2500 * life);
		tun.v = &st;
		tun.n = 1;
		c.tun = &tun;
		c.now += 100;
		session_list_free(l);
		assert_int_equal(ctl_backend_decode_sessions(f.payload, f.plen, &c, &l, NULL), 0);
		assert_int_equal(l->v[0].rx_bytes, (int64_t)st.rx_bytes);
		assert_int_equal(l->v[0].tx_bytes, 0);
		assert_string_equal(l->v[0].avg_tx, v == 0 ? "0 bytes/sec" : "0 bytes/s");
		assert_string_equal(l->v[0].avg_rx, v == 0 ? "2.5 kB/sec" : "2.5 kB/s");
		session_list_free(l);
		free(f.buf);
	}
}

/* ---- status, iroutes, cookies, bans ----------------------------------------------------- */

static void status_matches_occtl(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		struct ctl_decode_ctx c;
		json_t *cj = NULL, *oj = NULL, *raw;
		struct frame f;
		size_t olen;
		const char *key;
		json_t *val;

		ctx_for(&c, unit_versions[v]);
		frame_load(&f, unit_versions[v], "status");
		assert_int_equal(f.cmd, CTL_REP_STATUS);
		assert_int_equal(ctl_backend_decode_status(f.payload, f.plen, &c, &cj, NULL), 0);
		char *otext = read_capture(unit_versions[v], "status.occtl", &olen);
		raw = json_loadb(otext, olen, 0, NULL);
		assert_non_null(raw);
		assert_int_equal(status_from_occtl(raw, &oj, NULL), 0);
		assert_int_equal(json_object_size(cj), json_object_size(oj));
		json_object_foreach(oj, key, val)
		{
			json_t *mine = json_object_get(cj, key);
			assert_non_null(mine);
			if (strcmp(key, "uptimeSeconds") == 0)
				assert_near(json_integer_value(mine), json_integer_value(val), 2);
			else
				assert_true(json_equal(mine, val));
		}
		assert_string_equal(json_string_value(json_object_get(cj, "status")), "online");
		assert_int_equal(json_integer_value(json_object_get(cj, "activeSessions")), 4);
		json_decref(cj);
		json_decref(oj);
		json_decref(raw);
		free(otext);
		free(f.buf);
	}
}

static void iroutes_match_occtl(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		struct iroute_list *cl = NULL, *ol = NULL;
		struct frame f;
		size_t olen;

		frame_load(&f, unit_versions[v], "list");
		assert_int_equal(ctl_backend_decode_iroutes(f.payload, f.plen, &cl, NULL), 0);
		char *otext = read_capture(unit_versions[v], "iroutes.occtl", &olen);
		assert_int_equal(iroute_list_parse_occtl(otext, olen, &ol, NULL), 0);
		assert_int_equal(cl->n, 4);
		assert_int_equal(cl->n, ol->n);
		for (size_t i = 0; i < cl->n; i++) {
			assert_int_equal(cl->v[i].id, ol->v[i].id);
			if (strcmp(cl->v[i].username, "jürgen") != 0)
				assert_str_same(cl->v[i].username, ol->v[i].username);
			assert_str_same(cl->v[i].vhost, ol->v[i].vhost);
			assert_str_same(cl->v[i].device, ol->v[i].device);
			assert_str_same(cl->v[i].ip, ol->v[i].ip);
			assert_strv_same(&cl->v[i].iroutes, &ol->v[i].iroutes);
		}
		iroute_list_free(cl);
		iroute_list_free(ol);
		free(otext);
		free(f.buf);
	}
}

static void compare_cookies(const char *version, bool valid, const char *occtl_name)
{
	struct cookie_list *cl = NULL, *ol = NULL;
	struct frame f;
	size_t olen;

	frame_load(&f, version, "list-cookies");
	assert_int_equal(f.cmd, CTL_REP_COOKIE_LIST);
	assert_int_equal(ctl_backend_decode_cookies(f.payload, f.plen, valid, &cl, NULL), 0);
	char *otext = read_capture(version, occtl_name, &olen);
	assert_int_equal(cookie_list_parse_occtl(otext, olen, &ol, NULL), 0);
	assert_true(cl->n >= 4);
	assert_int_equal(cl->n, ol->n);
	for (size_t i = 0; i < cl->n; i++) {
		const struct cookie *c = &cl->v[i], *o = &ol->v[i];
		assert_str_same(c->session_id, o->session_id);
		assert_str_same(c->full_session, o->full_session);
		assert_int_equal(c->created, o->created);
		assert_int_equal(c->expires, o->expires);
		assert_str_same(c->state, o->state);
		if (c->username == NULL || strcmp(c->username, "jürgen") != 0)
			assert_str_same(c->username, o->username);
		assert_str_same(c->groupname, o->groupname);
		assert_str_same(c->vhost, o->vhost);
		assert_str_same(c->user_agent, o->user_agent);
		assert_str_same(c->remote_ip, o->remote_ip);
		assert_int_equal(c->session_is_open, o->session_is_open);
		assert_int_equal(c->tls_auth_ok, o->tls_auth_ok);
		assert_int_equal(c->in_use, o->in_use);
	}
	cookie_list_free(cl);
	cookie_list_free(ol);
	free(otext);
	free(f.buf);
}

static void cookies_match_occtl(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		compare_cookies(unit_versions[v], false, "list-cookies.occtl");
		compare_cookies(unit_versions[v], true, "list-cookies-valid.occtl");
	}
}

static void compare_bans(const char *version, bool points, const char *occtl_name)
{
	struct ban_list *cl = NULL, *ol = NULL;
	int64_t now = capture_time(version);
	struct frame f;
	size_t olen;

	frame_load(&f, version, "list-banned");
	assert_int_equal(f.cmd, CTL_REP_BAN_LIST);
	assert_int_equal(ctl_backend_decode_bans(f.payload, f.plen, points, now, &cl, NULL), 0);
	char *otext = read_capture(version, occtl_name, &olen);
	assert_int_equal(ban_list_parse_occtl(otext, olen, now, &ol, NULL), 0);
	assert_int_equal(cl->n, points ? 2 : 1);
	assert_int_equal(cl->n, ol->n);
	for (size_t i = 0; i < cl->n; i++) {
		assert_string_equal(cl->v[i].ip, ol->v[i].ip);
		assert_int_equal(cl->v[i].score, ol->v[i].score);
		/* occtl counted down from its own second, just after ours */
		assert_near(cl->v[i].expires, ol->v[i].expires, 2);
	}
	assert_string_equal(cl->v[0].ip, "10.77.0.2");
	cookie_list_free(NULL);
	ban_list_free(cl);
	ban_list_free(ol);
	free(otext);
	free(f.buf);
}

static void bans_match_occtl(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		compare_bans(unit_versions[v], false, "list-banned.occtl");
		compare_bans(unit_versions[v], true, "list-ban-points.occtl");
	}
}

static void bool_replies(void **state)
{
	static const struct {
		const char *name;
		uint8_t cmd;
		bool value;
	} cases[] = {
		{"disconnect-id-999999", CTL_REP_DISCONNECT_ID, false},
		{"disconnect-id-bob", CTL_REP_DISCONNECT_ID, true},
		{"disconnect-name-nosuchuser", CTL_REP_DISCONNECT_NAME, false},
		{"disconnect-name-jurgen", CTL_REP_DISCONNECT_NAME, true},
		{"unban-not-banned", CTL_REP_UNBAN_IP, false},
		{"unban-peer", CTL_REP_UNBAN_IP, true},
		{"reload", CTL_REP_RELOAD, true},
	};
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct frame f;
			bool b = !cases[i].value;
			frame_load(&f, unit_versions[v], cases[i].name);
			assert_int_equal(f.cmd, cases[i].cmd);
			assert_int_equal(ctl_backend_decode_bool(f.payload, f.plen, &b, NULL), 0);
			assert_int_equal(b, cases[i].value);
			free(f.buf);
		}
	}
}

/* Bytes that are not the message: a clear error, nothing returned. */
static void garbage_is_protocol_error(void **state)
{
	static const uint8_t trunc_field[] = {0x0a, 0x50, 0x08}; /* length past the end */
	static const uint8_t bad_tag[] = {0x00};
	struct session_list *sl = NULL;
	struct cookie_list *cl = NULL;
	struct ban_list *bl = NULL;
	json_t *j = NULL;
	struct ctl_decode_ctx c = {.now = 1};
	struct err_info ei = {0};
	struct frame f;
	bool b;

	(void)state;
	assert_int_equal(
		ctl_backend_decode_sessions(trunc_field, sizeof(trunc_field), &c, &sl, &ei),
		ERR_CTL_PROTOCOL);
	assert_null(sl);
	assert_true(strstr(ei.detail, "user list") != NULL);
	assert_int_equal(ctl_backend_decode_cookies(bad_tag, 1, false, &cl, NULL),
			 ERR_CTL_PROTOCOL);
	assert_int_equal(ctl_backend_decode_bans(trunc_field, 3, false, 1, &bl, NULL),
			 ERR_CTL_PROTOCOL);
	assert_int_equal(ctl_backend_decode_status(bad_tag, 1, &c, &j, NULL), ERR_CTL_PROTOCOL);
	assert_int_equal(ctl_backend_decode_bool(bad_tag, 1, &b, NULL), ERR_CTL_PROTOCOL);
	/* a real list cut short */
	frame_load(&f, "1.5.0", "list");
	assert_int_equal(ctl_backend_decode_sessions(f.payload, f.plen - 7, &c, &sl, NULL),
			 ERR_CTL_PROTOCOL);
	assert_null(sl);
	free(f.buf);
}

/* ---- the backend against a fake control socket ----------------------------------------- */

/* Serves one captured file per request, chosen by command (and for unban
 * by the address asked for); a ".closed" capture closes without a reply. */
struct fake {
	char dir[64], path[100];
	const char *version;
	int lfd;
	pthread_t th;
	int requests;
};

static const char *reply_for(const uint8_t *req, uint32_t len, uint8_t cmd)
{
	static const uint8_t peer[] = {10, 77, 0, 2};

	switch (cmd) {
	case CTL_CMD_STATUS:
		return "status";
	case CTL_CMD_LIST:
		return "list";
	case CTL_CMD_USER_INFO:
		return len > 2 && memcmp(req + 2, "bob", 3) == 0 ? "user-bob" : "user-nosuchuser";
	case CTL_CMD_ID_INFO:
		return "id-999999";
	case CTL_CMD_DISCONNECT_ID:
		return "disconnect-id-999999";
	case CTL_CMD_DISCONNECT_NAME:
		return "disconnect-name-jurgen";
	case CTL_CMD_LIST_BANNED:
		return "list-banned";
	case CTL_CMD_UNBAN_IP:
		return len == 6 && memcmp(req + 2, peer, 4) == 0 ? "unban-peer"
								 : "unban-not-banned";
	case CTL_CMD_LIST_COOKIES:
		return "list-cookies";
	case CTL_CMD_RELOAD:
		return "reload";
	case CTL_CMD_TERMINATE_USER:
	case CTL_CMD_TERMINATE_ID:
	case CTL_CMD_TERMINATE_SESSION:
		return "terminate-user-nosuchuser";
	default:
		return "unknown-command-99";
	}
}

static void serve_one(struct fake *fk, int fd)
{
	uint8_t hdr[CTL_HEADER_LEN], req[CTL_MAX_REQUEST];
	uint32_t len;
	char file[128];
	size_t n;

	if (read(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
		return;
	memcpy(&len, hdr + 1, 4);
	if (len > sizeof(req) || (len > 0 && read(fd, req, len) != (ssize_t)len))
		return;
	snprintf(file, sizeof(file), "%s.bin", reply_for(req, len, hdr[0]));
	char *buf = read_capture(fk->version, file, &n);
	if (buf != NULL && write(fd, buf, n) < 0)
		n = 0;
	free(buf); /* no .bin: the capture was ".closed" */
}

static void *fake_main(void *arg)
{
	struct fake *fk = arg;
	int fd;

	while ((fd = accept(fk->lfd, NULL, NULL)) >= 0) {
		serve_one(fk, fd);
		__atomic_add_fetch(&fk->requests, 1, __ATOMIC_SEQ_CST);
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *fk, const char *version)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(fk, 0, sizeof(*fk));
	fk->version = version;
	assert_non_null(unit_mkdtemp(fk->dir, sizeof(fk->dir), "ctlbe"));
	unit_join(fk->path, sizeof(fk->path), fk->dir, "occtl.socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fk->path);
	fk->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fk->lfd >= 0);
	assert_int_equal(bind(fk->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk->lfd, 16), 0);
	assert_int_equal(pthread_create(&fk->th, NULL, fake_main, fk), 0);
}

static void fake_stop(struct fake *fk)
{
	shutdown(fk->lfd, SHUT_RDWR);
	close(fk->lfd);
	pthread_join(fk->th, NULL);
	unit_rmtree(fk->dir);
}

static struct ocserv *backend_on(struct fake *fk)
{
	/* no ocserv here: the version is unknown, so the newest formats */
	struct ctl_options o = {fk->path, "/nonexistent/ocserv", 2000};
	struct ocserv *oc = ctl_backend_new(&o);

	assert_non_null(oc);
	assert_string_equal(ocserv_backend_name(oc), "ctl");
	return oc;
}

static void backend_reads(void **state)
{
	struct fake fk;
	struct ocserv *oc;
	struct session_list *sl = NULL;
	struct cookie_list *cl = NULL;
	struct iroute_list *il = NULL;
	struct ban_list *bl = NULL;
	struct err_info ei = {0};
	json_t *st = NULL;

	(void)state;
	fake_start(&fk, "1.5.0");
	oc = backend_on(&fk);
	assert_int_equal(ocserv_status(oc, 0, &st, &ei), 0);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "online");
	json_decref(st);
	assert_int_equal(ocserv_list(oc, &sl, &ei), 0);
	assert_int_equal(sl->n, 4);
	assert_string_equal(sl->v[0].username, "jürgen");
	session_list_free(sl);
	assert_int_equal(ocserv_user(oc, "bob", &sl, &ei), 0);
	assert_int_equal(sl->n, 2);
	assert_string_equal(sl->v[1].groupname, "staff");
	session_list_free(sl);
	assert_int_equal(ocserv_user(oc, "nobody", &sl, &ei), 0);
	assert_int_equal(sl->n, 0);
	session_list_free(sl);
	assert_int_equal(ocserv_id(oc, 999999, &sl, &ei), ERR_NOT_FOUND);
	assert_int_equal(ocserv_cookies(oc, true, &cl, &ei), 0);
	assert_true(cl->n >= 4);
	char sid[8];
	snprintf(sid, sizeof(sid), "%s", cl->v[0].session_id);
	char full[32];
	snprintf(full, sizeof(full), "%s", cl->v[0].full_session);
	cookie_list_free(cl);
	assert_int_equal(ocserv_cookie(oc, sid, &cl, &ei), 0);
	assert_int_equal(cl->n, 1);
	cookie_list_free(cl);
	assert_int_equal(ocserv_cookie(oc, full, &cl, &ei), 0);
	assert_int_equal(cl->n, 1);
	cookie_list_free(cl);
	assert_int_equal(ocserv_cookie(oc, "zzzzzz", &cl, &ei), ERR_NOT_FOUND);
	assert_int_equal(ocserv_iroutes(oc, &il, &ei), 0);
	assert_int_equal(il->n, 4);
	iroute_list_free(il);
	assert_int_equal(ocserv_bans(oc, &bl, &ei), 0);
	assert_int_equal(bl->n, 1);
	ban_list_free(bl);
	assert_int_equal(ocserv_ban_points(oc, &bl, &ei), 0);
	assert_int_equal(bl->n, 2);
	assert_int_equal(bl->v[1].expires, -1);
	ban_list_free(bl);
	ocserv_free(oc);
	fake_stop(&fk);
}

static void backend_writes(void **state)
{
	struct fake fk;
	struct ocserv *oc;
	struct err_info ei = {0};

	(void)state;
	fake_start(&fk, "1.1.6");
	oc = backend_on(&fk);
	assert_int_equal(ocserv_disconnect_id(oc, 999999, &ei), ERR_NOT_FOUND);
	assert_int_equal(ocserv_disconnect_user(oc, "jürgen", &ei), 0);
	assert_int_equal(ocserv_unban(oc, "10.77.0.2", &ei), 0);
	assert_int_equal(ocserv_unban(oc, "10.9.9.9", &ei), ERR_NOT_FOUND);
	assert_int_equal(ocserv_unban(oc, "not-an-ip", &ei), ERR_BAD_REQUEST);
	assert_int_equal(ocserv_reload(oc, &ei), 0);
	/* 1.1.6 does not know terminate: it closes without a reply */
	assert_int_equal(ocserv_terminate_user(oc, "bob", &ei), ERR_NOT_SUPPORTED);
	assert_int_equal(ocserv_terminate_id(oc, 1234, &ei), ERR_NOT_SUPPORTED);
	assert_int_equal(ocserv_terminate_cookie(oc, "abcdef", &ei), ERR_NOT_SUPPORTED);
	/* an ID nothing can have is not even asked for */
	int before = __atomic_load_n(&fk.requests, __ATOMIC_SEQ_CST);
	assert_int_equal(ocserv_disconnect_id(oc, 0, &ei), ERR_NOT_FOUND);
	assert_int_equal(__atomic_load_n(&fk.requests, __ATOMIC_SEQ_CST), before);
	ocserv_free(oc);
	fake_stop(&fk);
}

/* On 1.5.0 terminate answers: "no" for a user without sessions. */
static void backend_terminate_answers(void **state)
{
	struct fake fk;
	struct ocserv *oc;
	struct err_info ei = {0};

	(void)state;
	fake_start(&fk, "1.5.0");
	oc = backend_on(&fk);
	assert_int_equal(ocserv_terminate_user(oc, "nosuchuser", &ei), ERR_NOT_FOUND);
	ocserv_free(oc);
	fake_stop(&fk);
}

static void backend_unreachable(void **state)
{
	struct ctl_options o = {"/nonexistent/occtl.socket", "/nonexistent/ocserv", 500};
	struct ocserv *oc = ctl_backend_new(&o);
	struct session_list *sl = NULL;
	struct err_info ei = {0};

	(void)state;
	assert_non_null(oc);
	assert_int_equal(ocserv_list(oc, &sl, &ei), ERR_UNREACHABLE);
	assert_false(ctl_probe("/nonexistent/occtl.socket", 200, &ei));
	ocserv_free(oc);
}

static void probe_answers(void **state)
{
	struct fake fk;
	struct err_info ei = {0};

	(void)state;
	fake_start(&fk, "1.3.0");
	assert_true(ctl_probe(fk.path, 1000, &ei));
	fake_stop(&fk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sessions_match_occtl),
		cmocka_unit_test(utf8_name_intact),
		cmocka_unit_test(averages_by_version),
		cmocka_unit_test(long_and_odd_strings_intact),
		cmocka_unit_test(status_matches_occtl),
		cmocka_unit_test(iroutes_match_occtl),
		cmocka_unit_test(cookies_match_occtl),
		cmocka_unit_test(bans_match_occtl),
		cmocka_unit_test(bool_replies),
		cmocka_unit_test(garbage_is_protocol_error),
		cmocka_unit_test(backend_reads),
		cmocka_unit_test(backend_writes),
		cmocka_unit_test(backend_terminate_answers),
		cmocka_unit_test(backend_unreachable),
		cmocka_unit_test(probe_answers),
	};

	return cmocka_run_group_tests(tests, setup_tz, NULL);
}
