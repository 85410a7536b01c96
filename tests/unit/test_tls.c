/* tls.h (reading and checking the certificate files, the allow-list),
 * auth.h's auth_request (the four modes), and http_server.h over HTTPS: a
 * real server on 127.0.0.1 and a GnuTLS client, with certificates made by
 * certtool in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "auth.h"
#include "http_server.h"
#include "tls.h"
#include "unit.h"

static char dir[256];

static const char *path(const char *name)
{
	static char buf[8][512];
	static unsigned i;
	char *p = buf[i++ % 8];

	return unit_join(p, 512, dir, name);
}

/* Run certtool with argv (no shell); fails the test unless it exits 0. */
static void certtool(const char *const *argv)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execvp("certtool", (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("certtool %s failed", argv[1]);
}

static void make_key(const char *name)
{
	const char *argv[] = {"certtool",  "--generate-privkey", "--key-type", "ecdsa",
			      "--outfile", path(name),		 NULL};
	certtool(argv);
	chmod(path(name), 0600);
}

/* A certificate for key `name`-key.pem from template text, signed by the CA
 * ca (NULL: self-signed). */
static void make_cert(const char *name, const char *ca, const char *tmpl)
{
	char key[64], out[64], t[64], cacert[64], cakey[64];

	snprintf(key, sizeof(key), "%s-key.pem", name);
	snprintf(out, sizeof(out), "%s.pem", name);
	snprintf(t, sizeof(t), "%s.tmpl", name);
	make_key(key);
	assert_int_equal(unit_write_str(path(t), tmpl), 0);
	if (ca == NULL) {
		const char *argv[] = {"certtool",
				      "--generate-self-signed",
				      "--load-privkey",
				      path(key),
				      "--template",
				      path(t),
				      "--outfile",
				      path(out),
				      NULL};
		certtool(argv);
		return;
	}
	snprintf(cacert, sizeof(cacert), "%s.pem", ca);
	snprintf(cakey, sizeof(cakey), "%s-key.pem", ca);
	const char *argv[] = {"certtool",
			      "--generate-certificate",
			      "--load-privkey",
			      path(key),
			      "--load-ca-certificate",
			      path(cacert),
			      "--load-ca-privkey",
			      path(cakey),
			      "--template",
			      path(t),
			      "--outfile",
			      path(out),
			      NULL};
	certtool(argv);
}

#define CA_TMPL	    "cn = \"test CA\"\nexpiration_days = 30\nca\ncert_signing_key\n"
#define SERVER_TMPL "cn = \"%s\"\nexpiration_days = 30\ntls_www_server\nsigning_key\n"
#define CLIENT_TMPL "cn = \"%s\"\nexpiration_days = 30\ntls_www_client\nsigning_key\n"

static int group_setup(void **state)
{
	char t[256];

	(void)state;
	assert_non_null(unit_mkdtemp(dir, sizeof(dir), "test_tls"));
	make_cert("ca", NULL, CA_TMPL);
	make_cert("ca2", NULL, CA_TMPL);
	snprintf(t, sizeof(t), SERVER_TMPL, "server-one");
	make_cert("server", "ca", t);
	snprintf(t, sizeof(t), SERVER_TMPL, "server-two");
	make_cert("server2", "ca", t);
	snprintf(t, sizeof(t), CLIENT_TMPL, "alice");
	make_cert("alice", "ca", t);
	snprintf(t, sizeof(t), CLIENT_TMPL, "mallory");
	make_cert("mallory", "ca2", t);
	make_cert("expired", "ca",
		  "cn = \"old\"\nactivation_date = \"2001-01-01 00:00:00\"\n"
		  "expiration_date = \"2002-01-01 00:00:00\"\ntls_www_client\nsigning_key\n");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unit_rmtree(dir);
	return 0;
}

static void base_cfg(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tls_cert = (char *)path("server.pem");
	cfg->tls_key = (char *)path("server-key.pem");
	cfg->tls_client_ca = (char *)path("ca.pem");
	cfg->auth_mode = AUTH_MODE_EITHER;
}

/* ---- tls_files_load ---- */

static void test_load_good(void **state)
{
	struct agent_config cfg;
	struct tls_files f;
	struct http_tls_material m;
	struct err_info ei = {{0}};

	(void)state;
	base_cfg(&cfg);
	assert_int_equal(tls_files_load(&cfg, &f, &ei), 0);
	assert_non_null(strstr(f.cert, "BEGIN CERTIFICATE"));
	assert_non_null(strstr(f.key, "PRIVATE KEY"));
	assert_non_null(f.client_ca);
	tls_files_material(&f, &m);
	assert_ptr_equal(m.cert, f.cert);
	assert_int_equal(m.key_len, f.key_len);
	assert_ptr_equal(m.client_ca, f.client_ca);
	tls_files_free(&f);
	assert_null(f.cert);
	assert_null(f.key);
	tls_files_free(NULL);

	/* Token mode: the CA is checked but not asked for. */
	cfg.auth_mode = AUTH_MODE_TOKEN;
	assert_int_equal(tls_files_load(&cfg, &f, &ei), 0);
	assert_null(f.client_ca);
	tls_files_free(&f);

	/* TLS off: nothing to do. */
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(tls_files_load(&cfg, &f, &ei), 0);
	assert_null(f.cert);
}

static void expect_refused(struct agent_config *cfg, const char *text1, const char *text2)
{
	struct tls_files f;
	struct err_info ei = {{0}};

	assert_int_equal(tls_files_load(cfg, &f, &ei), ERR_BAD_REQUEST);
	assert_null(f.cert);
	assert_null(f.key);
	if (strstr(ei.detail, text1) == NULL || (text2 && strstr(ei.detail, text2) == NULL))
		fail_msg("'%s' lacks '%s' / '%s'", ei.detail, text1, text2 ? text2 : "");
}

static void test_key_mode_refused(void **state)
{
	struct agent_config cfg;
	struct tls_files f;
	struct err_info ei = {{0}};
	const char *key = path("server-key.pem");

	(void)state;
	base_cfg(&cfg);
	assert_int_equal(chmod(key, 0644), 0);
	expect_refused(&cfg, "AGENT_TLS_KEY", "0644");
	assert_int_equal(chmod(key, 0604), 0);
	expect_refused(&cfg, "AGENT_TLS_KEY", key);
	assert_int_equal(chmod(key, 0620), 0); /* group-writable */
	expect_refused(&cfg, "AGENT_TLS_KEY", "0620");
	assert_int_equal(chmod(key, 0640), 0); /* group-readable is fine */
	assert_int_equal(tls_files_load(&cfg, &f, &ei), 0);
	tls_files_free(&f);
	assert_int_equal(chmod(key, 0600), 0);
}

static void test_bad_files_refused(void **state)
{
	struct agent_config cfg;

	(void)state;
	base_cfg(&cfg);
	cfg.tls_key = (char *)path("alice-key.pem"); /* another certificate's key */
	expect_refused(&cfg, "AGENT_TLS_CERT", "AGENT_TLS_KEY");
	base_cfg(&cfg);
	cfg.tls_cert = (char *)path("server.tmpl"); /* not PEM */
	expect_refused(&cfg, "AGENT_TLS_CERT", "no PEM certificate");
	base_cfg(&cfg);
	cfg.tls_key = (char *)path("server.pem"); /* a certificate, not a key */
	chmod(path("server.pem"), 0600);
	expect_refused(&cfg, "AGENT_TLS_KEY", "private key");
	chmod(path("server.pem"), 0644);
	base_cfg(&cfg);
	cfg.tls_client_ca = (char *)path("ca.tmpl");
	expect_refused(&cfg, "AGENT_TLS_CLIENT_CA", "no PEM certificate");
	base_cfg(&cfg);
	cfg.tls_cert = (char *)path("missing.pem");
	expect_refused(&cfg, "AGENT_TLS_CERT", "cannot open");
	base_cfg(&cfg);
	cfg.tls_client_ca = dir; /* a directory */
	expect_refused(&cfg, "AGENT_TLS_CLIENT_CA", "not a regular file");

	/* More than 1 MiB. */
	char *big = malloc((1u << 20) + 2);
	assert_non_null(big);
	memset(big, 'A', (1u << 20) + 1);
	assert_int_equal(unit_write_file(path("big.pem"), big, (1u << 20) + 1, 0644), 0);
	free(big);
	base_cfg(&cfg);
	cfg.tls_cert = (char *)path("big.pem");
	expect_refused(&cfg, "AGENT_TLS_CERT", "larger than 1 MiB");
}

/* ---- tls_peer_allowed, auth_request ---- */

#define TOKEN "tok-0123456789abcdef"
#define PIN   "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void peer(struct http_request *rq, bool present, bool verified, const char *cn)
{
	memset(rq, 0, sizeof(*rq));
	rq->tls = true;
	rq->peer.present = present;
	rq->peer.verified = verified;
	snprintf(rq->peer.cn, sizeof(rq->peer.cn), "%s", cn);
	snprintf(rq->peer.pin, sizeof(rq->peer.pin), "%s", PIN);
}

static void test_peer_allowed(void **state)
{
	struct agent_config cfg;
	struct http_request rq;
	char *list[] = {"bob", PIN};

	(void)state;
	base_cfg(&cfg);
	peer(&rq, true, true, "alice");
	assert_true(tls_peer_allowed(&cfg, &rq.peer)); /* empty list: any */
	rq.peer.verified = false;
	assert_false(tls_peer_allowed(&cfg, &rq.peer));
	cfg.tls_client_allowed.v = list;
	cfg.tls_client_allowed.n = 1;
	peer(&rq, true, true, "alice");
	assert_false(tls_peer_allowed(&cfg, &rq.peer));
	peer(&rq, true, true, "bob");
	assert_true(tls_peer_allowed(&cfg, &rq.peer));
	peer(&rq, true, true, "Bob"); /* CNs compare exactly */
	assert_false(tls_peer_allowed(&cfg, &rq.peer));
	peer(&rq, true, false, "bob");
	assert_false(tls_peer_allowed(&cfg, &rq.peer));
	cfg.tls_client_allowed.n = 2; /* by pin */
	peer(&rq, true, true, "alice");
	assert_true(tls_peer_allowed(&cfg, &rq.peer));
	rq.peer.pin[10] = rq.peer.pin[10] == '0' ? '1' : '0';
	assert_false(tls_peer_allowed(&cfg, &rq.peer));
}

struct auth_case {
	enum auth_mode mode;
	bool token;
	int cert; /* 0 none, 1 unverified, 2 verified and allowed, 3 verified, unlisted */
	int want;
};

static void test_auth_modes(void **state)
{
	static const struct auth_case cases[] = {
		{AUTH_MODE_TOKEN, true, 0, 0},
		{AUTH_MODE_TOKEN, false, 2, ERR_UNAUTHORIZED},
		{AUTH_MODE_TOKEN, true, 1, 0},
		{AUTH_MODE_TOKEN, false, 3, ERR_UNAUTHORIZED},
		{AUTH_MODE_MTLS, false, 2, 0},
		{AUTH_MODE_MTLS, true, 0, ERR_UNAUTHORIZED},
		{AUTH_MODE_MTLS, true, 1, ERR_UNAUTHORIZED},
		{AUTH_MODE_MTLS, false, 3, ERR_FORBIDDEN},
		{AUTH_MODE_MTLS, true, 3, ERR_FORBIDDEN},
		{AUTH_MODE_BOTH, true, 2, 0},
		{AUTH_MODE_BOTH, false, 2, ERR_UNAUTHORIZED},
		{AUTH_MODE_BOTH, true, 0, ERR_UNAUTHORIZED},
		{AUTH_MODE_BOTH, true, 1, ERR_UNAUTHORIZED},
		{AUTH_MODE_BOTH, true, 3, ERR_FORBIDDEN},
		{AUTH_MODE_BOTH, false, 3, ERR_UNAUTHORIZED},
		{AUTH_MODE_EITHER, true, 0, 0},
		{AUTH_MODE_EITHER, false, 2, 0},
		{AUTH_MODE_EITHER, true, 1, 0},
		{AUTH_MODE_EITHER, true, 3, 0},
		{AUTH_MODE_EITHER, false, 0, ERR_UNAUTHORIZED},
		{AUTH_MODE_EITHER, false, 1, ERR_UNAUTHORIZED},
		{AUTH_MODE_EITHER, false, 3, ERR_FORBIDDEN},
	};
	char *list[] = {"alice"};
	struct agent_config cfg;
	struct http_request rq;

	(void)state;
	base_cfg(&cfg);
	cfg.token_current = TOKEN;
	cfg.tls_client_allowed.v = list;
	cfg.tls_client_allowed.n = 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct auth_case *c = &cases[i];
		struct err_info ei = {{0}};

		peer(&rq, c->cert != 0, c->cert >= 2, c->cert == 3 ? "eve" : "alice");
		rq.authorization = c->token ? "Bearer " TOKEN : "Bearer wrong";
		cfg.auth_mode = c->mode;
		int r = auth_request(&cfg, &rq, &ei);
		if (r != c->want)
			fail_msg("case %zu (mode %s): got %d, want %d (%s)", i,
				 config_auth_mode_name(c->mode), r, c->want, ei.detail);
		if (r != 0)
			assert_non_null(strstr(ei.detail, "auth_mode="));
		assert_null(strstr(ei.detail, TOKEN)); /* never the token */
	}
	/* mtls mode without any token configured: no token never matches. */
	cfg.token_current = NULL;
	cfg.auth_mode = AUTH_MODE_MTLS;
	peer(&rq, true, true, "alice");
	rq.authorization = "Bearer ";
	assert_int_equal(auth_request(&cfg, &rq, NULL), 0);
	/* A certificate over plain HTTP cannot be (the transport never sets
	 * peer then): no TLS, no certificate. */
	rq.tls = false;
	assert_int_equal(auth_request(&cfg, &rq, NULL), ERR_UNAUTHORIZED);
}

/* ---- http_server over HTTPS ---- */

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_request seen; /* the last request's tls, peer, client_ip */

static void app(void *a, const struct http_request *rq, struct http_response *rs)
{
	(void)a;
	pthread_mutex_lock(&seen_lock);
	memset(&seen, 0, sizeof(seen));
	seen.tls = rq->tls;
	seen.peer = rq->peer;
	memcpy(seen.client_ip, rq->client_ip, sizeof(seen.client_ip));
	pthread_mutex_unlock(&seen_lock);
	rs->status = 200;
	rs->body = strdup("{\"ok\":true}");
	rs->body_len = strlen(rs->body);
}

/* A copy of what the application last saw: assertions never run under
 * seen_lock (a failing one would leave it locked and hang the server). */
static struct http_request last_seen(void)
{
	struct http_request r;

	pthread_mutex_lock(&seen_lock);
	r = seen;
	pthread_mutex_unlock(&seen_lock);
	return r;
}

static struct tls_files files;
static unsigned port;

static struct http_server *start_tls(const char *cert, const char *key, const char *ca,
				     const char *prio, struct err_info *ei)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct agent_config cfg;
	struct http_tls_material m;

	char cf[64], kf[64], caf[64];

	snprintf(cf, sizeof(cf), "%s.pem", cert);
	snprintf(kf, sizeof(kf), "%s.pem", key);
	snprintf(caf, sizeof(caf), "%s.pem", ca ? ca : "");
	base_cfg(&cfg);
	cfg.tls_cert = (char *)path(cf);
	cfg.tls_key = (char *)path(kf);
	cfg.tls_client_ca = ca ? (char *)path(caf) : NULL;
	if (tls_files_load(&cfg, &files, ei) < 0)
		fail_msg("tls_files_load: %s", ei->detail);
	tls_files_material(&files, &m);
	/* The server listens on a socket made here (listen_fd). */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	struct http_server_options o = {.host = "127.0.0.1",
					.port = port,
					.listen_fd = fd,
					.workers = 2,
					.max_body = 4096,
					.tls = &m,
					.tls_priorities = prio};
	struct http_server *s = http_server_start(&o, app, NULL, ei);
	tls_files_free(&files);
	if (s == NULL)
		close(fd);
	if (s == NULL && prio == NULL)
		fail_msg("http_server_start: %s", ei->detail);
	return s;
}

struct tclient {
	int fd;
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
};

/* A TLS client, with the client certificate name (NULL: none). Returns the
 * handshake's result. */
static int tclient_open(struct tclient *c, const char *name, const char *prio)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r;

	assert_int_equal(gnutls_certificate_allocate_credentials(&c->cred), 0);
	if (name != NULL) {
		char cert[64], key[64];
		snprintf(cert, sizeof(cert), "%s.pem", name);
		snprintf(key, sizeof(key), "%s-key.pem", name);
		char k[512];
		snprintf(k, sizeof(k), "%s", path(key));
		assert_int_equal(gnutls_certificate_set_x509_key_file(c->cred, path(cert), k,
								      GNUTLS_X509_FMT_PEM),
				 0);
	}
	assert_int_equal(gnutls_init(&c->s, GNUTLS_CLIENT), 0);
	if (prio != NULL)
		assert_int_equal(gnutls_priority_set_direct(c->s, prio, NULL), 0);
	else
		assert_int_equal(gnutls_set_default_priority(c->s), 0);
	gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, c->cred);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	gnutls_transport_set_int(c->s, c->fd);
	gnutls_handshake_set_timeout(c->s, 5000);
	do
		r = gnutls_handshake(c->s);
	while (r < 0 && gnutls_error_is_fatal(r) == 0);
	return r;
}

static void tclient_close(struct tclient *c)
{
	gnutls_deinit(c->s);
	gnutls_certificate_free_credentials(c->cred);
	close(c->fd);
}

/* One GET on the connection; returns the status (0: no answer). */
static unsigned tclient_get(struct tclient *c)
{
	const char req[] = "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	char buf[4096];
	size_t len = 0;
	unsigned status = 0;

	if (gnutls_record_send(c->s, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
		return 0;
	while (len < sizeof(buf) - 1) {
		ssize_t n = gnutls_record_recv(c->s, buf + len, sizeof(buf) - 1 - len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "{\"ok\":true}") != NULL)
			break;
	}
	buf[len] = '\0';
	sscanf(buf, "HTTP/1.1 %u", &status);
	return status;
}

/* The server certificate's CN as the client saw it. */
static void server_cn(struct tclient *c, char *cn, size_t len)
{
	unsigned n = 0;
	const gnutls_datum_t *d = gnutls_certificate_get_peers(c->s, &n);
	gnutls_x509_crt_t crt;
	size_t size = len;

	assert_true(n > 0);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &d[0], GNUTLS_X509_FMT_DER), 0);
	assert_int_equal(
		gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &size),
		0);
	gnutls_x509_crt_deinit(crt);
}

static void expect_peer(const char *client, bool present, bool verified, const char *problem)
{
	struct tclient c;

	assert_int_equal(tclient_open(&c, client, NULL), 0);
	assert_int_equal(tclient_get(&c), 200);
	tclient_close(&c);
	struct http_request r = last_seen();
	assert_true(r.tls);
	assert_string_equal(r.client_ip, "127.0.0.1");
	if (r.peer.present != present || r.peer.verified != verified ||
	    (problem && strstr(r.peer.problem, problem) == NULL))
		fail_msg("%s: present=%d verified=%d problem='%s'", client ? client : "(none)",
			 r.peer.present, r.peer.verified, r.peer.problem);
}

static void test_https_client_certs(void **state)
{
	struct err_info ei = {{0}};
	struct http_server *s = start_tls("server", "server-key", "ca", NULL, &ei);

	(void)state;
	if (s == NULL)
		fail_msg("start: %s", ei.detail);
	expect_peer("alice", true, true, NULL);
	struct http_request r = last_seen();
	assert_string_equal(r.peer.cn, "alice");
	assert_int_equal(strlen(r.peer.pin), 71);
	assert_memory_equal(r.peer.pin, "sha256:", 7);
	expect_peer(NULL, false, false, "no client certificate");
	expect_peer("mallory", true, false, NULL); /* another CA */
	expect_peer("expired", true, false, "expired");
	expect_peer("server", true, false, NULL); /* a server-only certificate */

	/* TLS 1.1 and older are refused. */
	struct tclient c;
	assert_true(tclient_open(&c, NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0") < 0);
	tclient_close(&c);

	/* Counted when the server closes the connection: soon after. */
	struct http_server_stats st = {0};
	for (int i = 0; i < 200 && st.tls_handshakes_failed == 0; i++) {
		usleep(5000);
		http_server_get_stats(s, &st);
	}
	http_server_stop(s, 1000);
	assert_int_equal(st.tls_handshakes_failed, 1);
}

/* The pin is SHA-256 of the certificate's DER, as certtool computes it. */
static void test_https_pin(void **state)
{
	struct err_info ei = {{0}};
	struct http_server *s = start_tls("server", "server-key", "ca", NULL, &ei);
	gnutls_datum_t pem = {0}, der = {0};
	unsigned char h[32];
	char want[72] = "sha256:";

	(void)state;
	assert_non_null(s);
	assert_int_equal(gnutls_load_file(path("alice.pem"), &pem), 0);
	assert_int_equal(gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der), 0);
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, h), 0);
	for (int i = 0; i < 32; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", h[i]);
	gnutls_free(pem.data);
	gnutls_free(der.data);
	expect_peer("alice", true, true, NULL);
	assert_string_equal(last_seen().peer.pin, want);
	http_server_stop(s, 1000);
}

/* http_server_set_tls: new connections get the new certificate (and CA),
 * an open one keeps working. */
static void test_https_reload(void **state)
{
	struct err_info ei = {{0}};
	struct http_server *s = start_tls("server", "server-key", "ca", NULL, &ei);
	struct agent_config cfg;
	struct http_tls_material m;
	struct tclient old, nw;
	char cn[128];

	(void)state;
	assert_non_null(s);
	assert_int_equal(tclient_open(&old, "alice", NULL), 0);
	assert_int_equal(tclient_get(&old), 200);
	server_cn(&old, cn, sizeof(cn));
	assert_string_equal(cn, "server-one");

	/* The second server certificate, and the other CA for clients. */
	base_cfg(&cfg);
	cfg.tls_cert = (char *)path("server2.pem");
	cfg.tls_key = (char *)path("server2-key.pem");
	cfg.tls_client_ca = (char *)path("ca2.pem");
	assert_int_equal(tls_files_load(&cfg, &files, &ei), 0);
	tls_files_material(&files, &m);
	assert_int_equal(http_server_set_tls(s, &m, &ei), 0);
	tls_files_free(&files);

	assert_int_equal(tclient_open(&nw, "mallory", NULL), 0);
	assert_int_equal(tclient_get(&nw), 200);
	server_cn(&nw, cn, sizeof(cn));
	assert_string_equal(cn, "server-two");
	assert_true(last_seen().peer.verified); /* mallory's CA is the client CA now */
	tclient_close(&nw);

	/* The old connection still works, with its verdict. */
	assert_int_equal(tclient_get(&old), 200);
	struct http_request r = last_seen();
	assert_true(r.peer.verified);
	assert_string_equal(r.peer.cn, "alice");
	tclient_close(&old);

	/* Material that does not load changes nothing. */
	memset(&m, 0, sizeof(m)); /* what it pointed to is freed */
	m.cert = m.key = "garbage";
	m.cert_len = m.key_len = 7;
	assert_int_equal(http_server_set_tls(s, &m, &ei), ERR_BAD_REQUEST);
	assert_int_equal(tclient_open(&nw, NULL, NULL), 0);
	server_cn(&nw, cn, sizeof(cn));
	assert_string_equal(cn, "server-two");
	tclient_close(&nw);
	http_server_stop(s, 1000);
}

static void test_https_bad_priorities(void **state)
{
	struct err_info ei = {{0}};

	(void)state;
	assert_null(start_tls("server", "server-key", NULL, "NORMAL:+NO-SUCH-THING", &ei));
	assert_non_null(strstr(ei.detail, "AGENT_TLS_PRIORITIES"));
	/* Only versions before TLS 1.2: nothing left (GnuTLS says so). */
	assert_null(start_tls("server", "server-key", NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.1", &ei));
	assert_non_null(strstr(ei.detail, "AGENT_TLS_PRIORITIES"));
	/* Only DTLS left: GnuTLS accepts it, the transport does not. */
	assert_null(start_tls("server", "server-key", NULL,
			      "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-DTLS1.2", &ei));
	assert_non_null(strstr(ei.detail, "neither TLS 1.2 nor 1.3"));
	/* A string that enables TLS 1.0 still serves only TLS 1.2 and later
	 * (test_https_client_certs checks the refusal with the default). */
	struct http_server *s =
		start_tls("server", "server-key", NULL, "NORMAL:+VERS-TLS1.0:+VERS-TLS1.1", &ei);
	assert_non_null(s);
	struct tclient c;
	assert_true(tclient_open(&c, NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0") < 0);
	tclient_close(&c);
	assert_int_equal(tclient_open(&c, NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.2"), 0);
	assert_int_equal(tclient_get(&c), 200);
	tclient_close(&c);
	http_server_stop(s, 1000);
}

static void test_set_tls_on_plain_server(void **state)
{
	struct http_server_options o = {
		.host = "127.0.0.1", .port = 0, .listen_fd = -1, .workers = 1, .max_body = 1024};
	struct http_tls_material m = {0};
	struct err_info ei = {{0}};
	struct http_server *s;

	(void)state;
	s = http_server_start(&o, app, NULL, &ei);
	assert_non_null(s);
	assert_int_equal(http_server_set_tls(s, &m, &ei), ERR_NOT_SUPPORTED);
	http_server_stop(s, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_good),
		cmocka_unit_test(test_key_mode_refused),
		cmocka_unit_test(test_bad_files_refused),
		cmocka_unit_test(test_peer_allowed),
		cmocka_unit_test(test_auth_modes),
		cmocka_unit_test(test_https_client_certs),
		cmocka_unit_test(test_https_pin),
		cmocka_unit_test(test_https_reload),
		cmocka_unit_test(test_https_bad_priorities),
		cmocka_unit_test(test_set_tls_on_plain_server),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
