#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "timefmt.h"
#include "uri.h"

#define MAX_HEADER_VALUE 8192
#define MAX_LOGGED_PATH	 200
/* Advisory block size of a stream response (MHD reads into its connection
 * buffer; this only sizes a small side buffer): kept small because a
 * thousand subscribers each have one. */
#define STREAM_BLOCK 4096
/* How often a reader re-reads when it is woken while it reads, before it
 * lets MHD call again. */
#define STREAM_REREADS 4
/* At shutdown, how long ended streams get to send their last chunk before
 * the daemon stops and cuts the ones whose client does not read. */
#define STREAM_END_WAIT_MS 1000
/* Certificates in a chain we serve or accept. */
#define TLS_MAX_CHAIN 16
/* Whatever the operator's priority string says: TLS 1.2 and later only. */
#define TLS_MIN_VERSION_SUFFIX	 ":-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"
#define DEFAULT_MAX_CONNECTIONS	 512u
#define DEFAULT_MAX_HEADER_BYTES 16384u

/* RQ_ANSWERED: refused by the transport itself (431) before any work. */
enum req_state { RQ_RECEIVING, RQ_QUEUED, RQ_DONE, RQ_ANSWERED };

/* The certificate, key and client CA that handshakes use. The server holds
 * one reference to the current slot, every TLS connection one to the slot
 * current when it was accepted: http_server_set_tls() swaps the server's,
 * and a slot is freed when its last connection closes. */
struct tls_slot {
	atomic_uint refs;
	gnutls_pcert_st pcert[TLS_MAX_CHAIN];
	unsigned n_pcert;
	gnutls_privkey_t key;
	gnutls_x509_trust_list_t trust; /* NULL: no client certificates asked for */
};

/* A TLS connection (libmicrohttpd's socket context), from accept to close;
 * used only on the connection's polling thread. */
struct tls_conn {
	struct tls_slot *slot;
	bool served;  /* a request arrived: the handshake completed */
	bool checked; /* peer holds the verdict on the client certificate */
	struct http_peer_cert peer;
};

/* Per-request context: created on the first access-handler call, freed in
 * the completion callback. Owned by the polling thread except while queued,
 * when the worker owns it until it resumes the connection. */
struct req_ctx {
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct http_request rq;
	char *method, *path, *auth, *body;
	size_t body_cap;
	struct http_response rs;
	char last_event_id[HTTP_MAX_LAST_EVENT_ID + 1];
	char if_match[HTTP_MAX_IF_MATCH + 1];
	bool stream; /* answered with a stream: logged as such */
	_Atomic enum req_state state;
	struct timespec start;
	struct req_ctx *next; /* work queue link */
};

struct http_server {
	struct MHD_Daemon *d;
	http_handler_fn *fn;
	void *app;
	size_t max_body;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;  /* work queued, or workers must stop */
	pthread_cond_t idle;  /* busy dropped to 0 */
	struct req_ctx *head, *tail;
	unsigned busy; /* requests queued or running on a worker */
	bool draining; /* shutdown began: queue nothing more */
	bool stopping; /* workers exit once the queue is empty */
	pthread_t *workers;
	unsigned n_workers;
	/* Every stream from its start until its close() returned. */
	struct http_stream *streams;
	unsigned n_streams;
	pthread_cond_t streams_gone; /* n_streams dropped to 0 */
	_Atomic bool streams_ending; /* readers end, nothing sleeps any more */
	size_t max_header_bytes;
	bool tls;
	pthread_mutex_t tls_lock; /* guards slot */
	struct tls_slot *slot;	  /* current TLS material; NULL without TLS */
	atomic_ullong n_refused, n_headers_too_large, n_bodies_too_large, n_tls_failed;
};

/* A stream response. Lock order: the server's lock, then this lock, then
 * libmicrohttpd's own (suspend and resume run under this lock, so that a
 * wake never meets a connection that is not, or no longer, suspended). */
struct http_stream {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const struct http_stream_ops *ops;
	void *ctx;
	pthread_mutex_t lock;		 /* guards suspended and woken */
	bool suspended;			 /* the reader suspended conn; nobody resumed it yet */
	bool woken;			 /* http_stream_wake() since the last read() began */
	struct http_stream *prev, *next; /* srv->streams, under srv->lock */
};

const char *http_request_query(const struct http_request *rq, const char *key)
{
	for (size_t i = 0; i < rq->n_query; i++)
		if (strcmp(rq->query[i].key, key) == 0)
			return rq->query[i].value[0] != '\0' ? rq->query[i].value : NULL;
	return NULL;
}

static void ctx_free(struct req_ctx *ctx)
{
	for (size_t i = 0; i < ctx->rq.n_query; i++) {
		free(ctx->rq.query[i].key);
		free(ctx->rq.query[i].value);
	}
	free(ctx->method);
	free(ctx->path);
	if (ctx->auth != NULL) {
		explicit_bzero(ctx->auth, strlen(ctx->auth));
		free(ctx->auth);
	}
	/* Bodies may carry passwords (accounts): wiped before the memory is reused. */
	if (ctx->body != NULL)
		explicit_bzero(ctx->body, ctx->body_cap);
	free(ctx->body);
	free(ctx->rs.body);
	/* A stream the connection never got to send (the client left while
	 * the worker ran): still closed, as the transport owns it. */
	if (ctx->rs.stream != NULL)
		ctx->rs.stream->close(ctx->rs.stream_ctx);
	free(ctx);
}

/* ---- worker pool ---- */

static void *worker_main(void *arg)
{
	struct http_server *s = arg;

	for (;;) {
		struct req_ctx *ctx;

		pthread_mutex_lock(&s->lock);
		while (s->head == NULL && !s->stopping)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->head == NULL) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		ctx = s->head;
		s->head = ctx->next;
		if (s->head == NULL)
			s->tail = NULL;
		/* Queued before shutdown, not started: answer without the work. */
		ctx->rq.shutting_down = s->draining;
		pthread_mutex_unlock(&s->lock);

		s->fn(s->app, &ctx->rq, &ctx->rs);
		/* After resume the polling thread may free ctx at any time. */
		struct MHD_Connection *conn = ctx->conn;
		atomic_store(&ctx->state, RQ_DONE);
		MHD_resume_connection(conn);

		pthread_mutex_lock(&s->lock);
		if (--s->busy == 0)
			pthread_cond_broadcast(&s->idle);
		pthread_mutex_unlock(&s->lock);
	}
}

/* Suspend the connection and queue the request for a worker. Returns false
 * when the server is draining: the caller answers it at once instead. The
 * suspension happens under the lock so that a worker cannot resume the
 * connection before it is suspended. */
static bool enqueue(struct http_server *s, struct req_ctx *ctx)
{
	pthread_mutex_lock(&s->lock);
	if (s->draining) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	atomic_store(&ctx->state, RQ_QUEUED);
	MHD_suspend_connection(ctx->conn);
	ctx->next = NULL;
	if (s->tail)
		s->tail->next = ctx;
	else
		s->head = ctx;
	s->tail = ctx;
	s->busy++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return true;
}

/* ---- TLS ---- */

static void slot_free(struct tls_slot *t)
{
	for (unsigned i = 0; i < t->n_pcert; i++)
		gnutls_pcert_deinit(&t->pcert[i]);
	if (t->key != NULL)
		gnutls_privkey_deinit(t->key);
	if (t->trust != NULL)
		gnutls_x509_trust_list_deinit(t->trust, 1);
	free(t);
}

static void slot_unref(struct tls_slot *t)
{
	if (t != NULL && atomic_fetch_sub(&t->refs, 1) == 1)
		slot_free(t);
}

/* The server's current slot, with a reference for the caller. */
static struct tls_slot *slot_get(struct http_server *s)
{
	struct tls_slot *t;

	pthread_mutex_lock(&s->tls_lock);
	t = s->slot;
	if (t != NULL)
		atomic_fetch_add(&t->refs, 1);
	pthread_mutex_unlock(&s->tls_lock);
	return t;
}

static gnutls_datum_t datum(const char *p, size_t len)
{
	return (gnutls_datum_t){.data = (unsigned char *)p, .size = (unsigned)len};
}

/* GnuTLS refuses a key that does not belong to the certificate when both
 * are loaded into a credential: a scratch one, for that check only. */
int http_tls_check_pair(const struct http_tls_material *m, struct err_info *ei)
{
	gnutls_datum_t c = datum(m->cert, m->cert_len), k = datum(m->key, m->key_len);
	gnutls_certificate_credentials_t cred;
	int g;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return err_set(ei, ERR_NOMEM, "out of memory");
	g = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_certificate_free_credentials(cred);
	if (g < 0)
		return err_set(ei, ERR_BAD_REQUEST, "certificate and key: %s", gnutls_strerror(g));
	return 0;
}

static int slot_load(struct tls_slot *t, const struct http_tls_material *m, struct err_info *ei)
{
	gnutls_datum_t c = datum(m->cert, m->cert_len), k = datum(m->key, m->key_len);
	int g;

	t->n_pcert = TLS_MAX_CHAIN;
	g = gnutls_pcert_list_import_x509_raw(t->pcert, &t->n_pcert, &c, GNUTLS_X509_FMT_PEM, 0);
	if (g < 0) {
		t->n_pcert = 0;
		return err_set(ei, ERR_BAD_REQUEST, "certificate: %s", gnutls_strerror(g));
	}
	if ((g = gnutls_privkey_init(&t->key)) < 0 ||
	    (g = gnutls_privkey_import_x509_raw(t->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
		return err_set(ei, ERR_BAD_REQUEST, "private key: %s", gnutls_strerror(g));
	if (m->client_ca == NULL)
		return 0;
	gnutls_datum_t ca = datum(m->client_ca, m->client_ca_len);
	if ((g = gnutls_x509_trust_list_init(&t->trust, 0)) < 0)
		return err_set(ei, ERR_NOMEM, "trust list: %s", gnutls_strerror(g));
	g = gnutls_x509_trust_list_add_trust_mem(t->trust, &ca, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
	if (g <= 0)
		return err_set(ei, ERR_BAD_REQUEST, "client CA: %s",
			       g < 0 ? gnutls_strerror(g) : "no certificate");
	return 0;
}

/* A slot with one reference, or NULL with the reason in ei. */
static struct tls_slot *slot_new(const struct http_tls_material *m, struct err_info *ei)
{
	struct tls_slot *t;

	if (m->cert == NULL || m->key == NULL) {
		err_set(ei, ERR_BAD_REQUEST, "no certificate or key");
		return NULL;
	}
	if (http_tls_check_pair(m, ei) < 0)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		err_set(ei, ERR_NOMEM, "out of memory");
		return NULL;
	}
	atomic_init(&t->refs, 1);
	if (slot_load(t, m, ei) < 0) {
		slot_free(t);
		return NULL;
	}
	return t;
}

/* The TLS state of the connection a GnuTLS session belongs to.
 * libmicrohttpd makes the connection the session's user pointer. */
static struct tls_conn *conn_of_session(gnutls_session_t session)
{
	struct MHD_Connection *c = gnutls_session_get_ptr(session);
	const union MHD_ConnectionInfo *ci;

	if (c == NULL)
		return NULL;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* GnuTLS asks for the server's certificate during each handshake: the
 * connection's slot, which stays alive (referenced) until it closes, as
 * GnuTLS keeps pointing at what this returns. */
static int tls_cert_cb(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
		       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
		       gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	struct tls_conn *tc = conn_of_session(session);

	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (tc == NULL || tc->slot == NULL)
		return -1; /* the handshake fails */
	*pcert = tc->slot->pcert;
	*pcert_length = tc->slot->n_pcert;
	*pkey = tc->slot->key;
	return 0;
}

static gnutls_session_t conn_session(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);

	return ci != NULL ? ci->tls_session : NULL;
}

/* The connection takes the current slot and, with a client CA, asks for a
 * certificate (GNUTLS_CERT_REQUEST: a client without one still connects;
 * authentication decides what that means). */
static void tls_conn_start(struct http_server *s, struct MHD_Connection *c, void **socket_context)
{
	struct tls_conn *tc = calloc(1, sizeof(*tc));
	gnutls_session_t session = conn_session(c);

	if (tc == NULL)
		return; /* no slot: tls_cert_cb fails the handshake */
	tc->slot = slot_get(s);
	if (session != NULL && tc->slot != NULL && tc->slot->trust != NULL)
		gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
	*socket_context = tc;
}

static void tls_conn_end(struct http_server *s, void **socket_context)
{
	struct tls_conn *tc = *socket_context;

	if (tc == NULL)
		return;
	/* Not the session: it is gone by now (libmicrohttpd frees it before
	 * this notification; valgrind saw the read). A TLS connection closed
	 * before it carried a request counts as a failed handshake. */
	if (!tc->served)
		atomic_fetch_add(&s->n_tls_failed, 1);
	slot_unref(tc->slot);
	free(tc);
	*socket_context = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;

	if (!s->tls)
		return;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		tls_conn_start(s, c, socket_context);
	else
		tls_conn_end(s, socket_context);
}

static void peer_pin(const gnutls_datum_t *der, char pin[72])
{
	unsigned char h[32];

	pin[0] = '\0';
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der->data, der->size, h) < 0)
		return;
	memcpy(pin, "sha256:", 7);
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(pin + 7 + 2 * i, 3, "%02x", h[i]);
}

/* The subject's CN, with control characters made '?' (it is logged). */
static void peer_cn(gnutls_x509_crt_t crt, char *cn, size_t len)
{
	size_t size = len;

	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &size) < 0 ||
	    size >= len) {
		cn[0] = '\0';
		return;
	}
	cn[size] = '\0';
	for (size_t i = 0; i < size; i++)
		if ((unsigned char)cn[i] < 0x20 || cn[i] == 0x7f)
			cn[i] = '?';
}

/* Chain to the CA, validity dates and the TLS WWW client purpose (a
 * certificate whose extended key usage lists only server authentication
 * fails); crts[0] is the client's own. */
static void peer_check_chain(gnutls_x509_trust_list_t trust, gnutls_x509_crt_t *crts, unsigned n,
			     struct http_peer_cert *p)
{
	gnutls_typed_vdata_st vd = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
				    .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT};
	gnutls_datum_t out = {0};
	unsigned status = 0;
	int g = gnutls_x509_trust_list_verify_crt2(trust, crts, n, &vd, 1, 0, &status, NULL);

	if (g < 0) {
		snprintf(p->problem, sizeof(p->problem), "%s", gnutls_strerror(g));
	} else if (status != 0) {
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out,
								 0) == 0)
			snprintf(p->problem, sizeof(p->problem), "%s", (const char *)out.data);
		else
			snprintf(p->problem, sizeof(p->problem), "verification status 0x%x",
				 status);
		gnutls_free(out.data);
	} else {
		p->verified = true;
	}
}

/* The verdict on the client certificate of a session, against trust. */
static void peer_verify(gnutls_session_t session, gnutls_x509_trust_list_t trust,
			struct http_peer_cert *p)
{
	gnutls_x509_crt_t crts[TLS_MAX_CHAIN];
	unsigned n = 0, ok = 0;
	const gnutls_datum_t *der = session ? gnutls_certificate_get_peers(session, &n) : NULL;

	memset(p, 0, sizeof(*p));
	if (der == NULL || n == 0) {
		snprintf(p->problem, sizeof(p->problem), "no client certificate");
		return;
	}
	p->present = true;
	peer_pin(&der[0], p->pin);
	if (n > TLS_MAX_CHAIN) {
		snprintf(p->problem, sizeof(p->problem), "chain of %u certificates", n);
		return;
	}
	for (; ok < n; ok++) {
		if (gnutls_x509_crt_init(&crts[ok]) < 0)
			break;
		if (gnutls_x509_crt_import(crts[ok], &der[ok], GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crts[ok]);
			break;
		}
	}
	if (ok < n) {
		snprintf(p->problem, sizeof(p->problem), "certificate %u does not parse", ok);
	} else {
		peer_cn(crts[0], p->cn, sizeof(p->cn));
		peer_check_chain(trust, crts, n, p);
	}
	for (unsigned i = 0; i < ok; i++)
		gnutls_x509_crt_deinit(crts[i]);
}

/* rq->tls and rq->peer: the client certificate is checked on the first
 * request of a connection, against the CA of the connection's slot. */
static void conn_tls(struct http_server *s, struct MHD_Connection *c, struct http_request *rq)
{
	const union MHD_ConnectionInfo *ci;
	struct tls_conn *tc;

	rq->tls = s->tls;
	if (!s->tls)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	tc = ci != NULL ? ci->socket_context : NULL;
	if (tc == NULL)
		return;
	tc->served = true;
	if (!tc->checked && tc->slot != NULL && tc->slot->trust != NULL)
		peer_verify(conn_session(c), tc->slot->trust, &tc->peer);
	tc->checked = true;
	rq->peer = tc->peer;
}

/* rq->client_ip: an IPv4-mapped IPv6 address is written as IPv4, so that
 * one client has one address whatever the socket. */
static void conn_ip(struct MHD_Connection *c, struct http_request *rq)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	rq->client_ip[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in4->sin_addr, rq->client_ip, sizeof(rq->client_ip));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], rq->client_ip,
				  sizeof(rq->client_ip));
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, rq->client_ip, sizeof(rq->client_ip));
	}
}

/* The priority string handed to GnuTLS: the operator's, with every version
 * before TLS 1.2 taken out. NULL with the reason when GnuTLS refuses it or
 * nothing of TLS 1.2 or later is left. */
static char *tls_priorities(const char *base, struct err_info *ei)
{
	gnutls_priority_t p;
	const char *where = NULL;
	const unsigned *list;
	size_t len;
	char *str;
	int g, n;
	bool ok = false;

	base = base != NULL ? base : CONFIG_TLS_PRIORITIES;
	len = strlen(base) + sizeof(TLS_MIN_VERSION_SUFFIX);
	if ((str = malloc(len)) == NULL) {
		err_set(ei, ERR_NOMEM, "out of memory");
		return NULL;
	}
	snprintf(str, len, "%s%s", base, TLS_MIN_VERSION_SUFFIX);
	g = gnutls_priority_init(&p, str, &where);
	if (g < 0) {
		err_set(ei, ERR_BAD_REQUEST,
			"AGENT_TLS_PRIORITIES '%s' is invalid near '%.40s': %s", base,
			where != NULL ? where : "", gnutls_strerror(g));
		free(str);
		return NULL;
	}
	n = gnutls_priority_protocol_list(p, &list); /* list lives in p */
	for (int i = 0; i < n && !ok; i++)
		ok = list[i] == GNUTLS_TLS1_2 || list[i] == GNUTLS_TLS1_3;
	gnutls_priority_deinit(p);
	if (ok)
		return str;
	err_set(ei, ERR_BAD_REQUEST, "AGENT_TLS_PRIORITIES '%s' enables neither TLS 1.2 nor 1.3",
		base);
	free(str);
	return NULL;
}

/* ---- request intake ---- */

static int append_body(struct req_ctx *ctx, const char *data, size_t len)
{
	size_t max = ctx->srv->max_body;

	if (ctx->rq.body_too_large || ctx->rq.body_len + len > max) {
		if (!ctx->rq.body_too_large)
			atomic_fetch_add(&ctx->srv->n_bodies_too_large, 1);
		ctx->rq.body_too_large = true;
		return 0;
	}
	if (ctx->rq.body_len + len + 1 > ctx->body_cap) {
		size_t cap = ctx->body_cap ? ctx->body_cap : 1024;
		while (cap < ctx->rq.body_len + len + 1)
			cap *= 2;
		/* Not realloc: the old buffer is wiped before it is freed. */
		char *p = malloc(cap);
		if (p == NULL)
			return ERR_NOMEM;
		if (ctx->body != NULL) {
			memcpy(p, ctx->body, ctx->rq.body_len);
			explicit_bzero(ctx->body, ctx->body_cap);
			free(ctx->body);
		}
		ctx->body = p;
		ctx->body_cap = cap;
	}
	memcpy(ctx->body + ctx->rq.body_len, data, len);
	ctx->rq.body_len += len;
	ctx->body[ctx->rq.body_len] = '\0';
	return 0;
}

/* Percent-decoding can produce NUL bytes ("%00"), which C strings would
 * silently cut: such a request is flagged, never truncated. */
/* libmicrohttpd decodes the path and the query arguments with this callback
 * (after turning '+' into ' ' in arguments). Decoding the path would make an
 * encoded '/' in a path parameter a separator: keep everything as sent and
 * decode query arguments in copy_query(), path parameters in the router. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static enum MHD_Result copy_query(void *cls, enum MHD_ValueKind kind, const char *key,
				  size_t key_size, const char *value, size_t value_size)
{
	struct http_request *rq = cls;
	char *k, *v;

	if (strlen(key) != key_size || (value != NULL && strlen(value) != value_size)) {
		rq->query_invalid = true;
		return MHD_YES;
	}
	if (rq->n_query == HTTP_MAX_QUERY_ARGS) {
		rq->query_invalid = true;
		return MHD_NO;
	}
	k = strdup(key);
	v = strdup(value ? value : "");
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return MHD_NO;
	}
	/* Decoded here, not by libmicrohttpd: see unescape_none(). */
	if (uri_pct_decode(k) != strlen(k) || uri_pct_decode(v) != strlen(v)) {
		free(k);
		free(v);
		rq->query_invalid = true;
		return MHD_YES;
	}
	if (http_request_query(rq, k) != NULL) {
		free(k);
		free(v);
		return MHD_YES;
	}
	rq->query[rq->n_query].key = k;
	rq->query[rq->n_query].value = v;
	rq->n_query++;
	return MHD_YES;
}

/* Copy what the worker needs out of MHD's connection memory. */
static int capture_request(struct req_ctx *ctx)
{
	const char *auth = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);

	if (auth != NULL && strlen(auth) <= MAX_HEADER_VALUE) {
		ctx->auth = strdup(auth);
		if (ctx->auth == NULL)
			return ERR_NOMEM;
	}
	ctx->rq.authorization = ctx->auth;
	const char *leid = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND, "Last-Event-ID");
	if (leid != NULL && strlen(leid) > HTTP_MAX_LAST_EVENT_ID) {
		ctx->rq.last_event_id_invalid = true;
	} else if (leid != NULL) {
		memcpy(ctx->last_event_id, leid, strlen(leid) + 1);
		ctx->rq.last_event_id = ctx->last_event_id;
	}
	const char *im =
		MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH);
	if (im != NULL && strlen(im) > HTTP_MAX_IF_MATCH) {
		ctx->rq.if_match_invalid = true;
	} else if (im != NULL) {
		memcpy(ctx->if_match, im, strlen(im) + 1);
		ctx->rq.if_match = ctx->if_match;
	}
	MHD_get_connection_values_n(ctx->conn, MHD_GET_ARGUMENT_KIND, copy_query, &ctx->rq);
	if (ctx->body == NULL && (ctx->body = strdup("")) == NULL)
		return ERR_NOMEM;
	ctx->rq.body = ctx->body;
	return 0;
}

static struct req_ctx *ctx_new(struct http_server *s, struct MHD_Connection *c, const char *url,
			       const char *method)
{
	struct req_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->srv = s;
	ctx->conn = c;
	ctx->method = strdup(method);
	ctx->path = strdup(url);
	if (ctx->method == NULL || ctx->path == NULL) {
		ctx_free(ctx);
		return NULL;
	}
	ctx->rq.method = ctx->method;
	ctx->rq.path = ctx->path;
	conn_ip(c, &ctx->rq);
	conn_tls(s, c, &ctx->rq);
	request_id_new(ctx->rq.id);
	clock_gettime(CLOCK_MONOTONIC, &ctx->start);
	return ctx;
}

static enum MHD_Result send_buffer(struct req_ctx *ctx)
{
	struct MHD_Response *resp;
	enum MHD_Result r;
	char retry[16];

	resp = MHD_create_response_from_buffer(ctx->rs.body_len, ctx->rs.body,
					       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		return MHD_NO;
	ctx->rs.body = NULL; /* now MHD's */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, "X-Request-Id", ctx->rq.id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (ctx->rs.allow[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, ctx->rs.allow);
	if (ctx->rs.retry_after > 0) {
		snprintf(retry, sizeof(retry), "%u", ctx->rs.retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	if (ctx->rs.etag[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, ctx->rs.etag);
	if (ctx->rq.shutting_down)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	r = MHD_queue_response(ctx->conn, ctx->rs.status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* Answer as during shutdown, on this (polling) thread: the application
 * returns at once then. A stream in that answer would break its contract. */
static enum MHD_Result send_shutting_down(struct req_ctx *ctx)
{
	struct http_server *s = ctx->srv;

	free(ctx->rs.body);
	memset(&ctx->rs, 0, sizeof(ctx->rs));
	ctx->rq.shutting_down = true;
	s->fn(s->app, &ctx->rq, &ctx->rs);
	if (ctx->rs.stream != NULL || ctx->rs.body == NULL)
		return MHD_NO; /* ctx_free() closes the stream */
	return send_buffer(ctx);
}

/* ---- streams ---- */

void http_stream_wake(struct http_stream *h)
{
	pthread_mutex_lock(&h->lock);
	h->woken = true;
	if (h->suspended) {
		h->suspended = false;
		MHD_resume_connection(h->conn);
	}
	pthread_mutex_unlock(&h->lock);
}

/* Suspend the connection until the next wake, unless one came in since
 * read() began (its data may have been missed by that read) or streams are
 * ending. Returns true when suspended. libmicrohttpd allows suspending from
 * a content reader, the only place this is called from. */
static bool stream_sleep(struct http_stream *h)
{
	bool slept = false;

	pthread_mutex_lock(&h->lock);
	if (!h->woken && !atomic_load(&h->srv->streams_ending)) {
		MHD_suspend_connection(h->conn);
		h->suspended = slept = true;
	}
	pthread_mutex_unlock(&h->lock);
	return slept;
}

/* libmicrohttpd's content reader (on the connection's polling thread).
 * Returning 0 without suspending would make that thread spin: nothing to
 * send means sleep. */
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *h = cls;

	(void)pos;
	for (unsigned i = 0; i < STREAM_REREADS; i++) {
		if (atomic_load(&h->srv->streams_ending))
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&h->lock);
		h->woken = false;
		pthread_mutex_unlock(&h->lock);
		ssize_t n = h->ops->read(h->ctx, buf, max);
		if (n > 0)
			return (size_t)n <= max ? n : MHD_CONTENT_READER_END_WITH_ERROR;
		if (n < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (stream_sleep(h))
			return 0;
	}
	return 0; /* woken again and again: let MHD call back */
}

static void stream_unlink(struct http_server *s, struct http_stream *h)
{
	pthread_mutex_lock(&s->lock);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		s->streams = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	if (--s->n_streams == 0)
		pthread_cond_broadcast(&s->streams_gone);
	pthread_mutex_unlock(&s->lock);
}

/* libmicrohttpd's free callback of the response: the stream is over (sent
 * to its end, client gone, or daemon stopped). No lock is held across
 * close(): a source wakes streams under its own lock. */
static void stream_free(void *cls)
{
	struct http_stream *h = cls;

	h->ops->close(h->ctx);
	stream_unlink(h->srv, h);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Put h on the server's list, unless streams are ending (then false). */
static bool stream_register(struct http_server *s, struct http_stream *h)
{
	bool ok;

	pthread_mutex_lock(&s->lock);
	ok = !atomic_load(&s->streams_ending);
	if (ok) {
		h->next = s->streams;
		if (s->streams != NULL)
			s->streams->prev = h;
		s->streams = h;
		s->n_streams++;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void stream_headers(struct MHD_Response *resp, const struct req_ctx *ctx)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctx->rs.stream->content_type);
	MHD_add_response_header(resp, "X-Request-Id", ctx->rq.id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	/* nginx would otherwise buffer the stream. */
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	/* A stream ends with its connection: nothing waits behind it. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

/* Start the stream the application answered with. From here on it is
 * closed exactly once: by stream_free() once the response exists, by hand
 * before. */
static enum MHD_Result send_stream(struct req_ctx *ctx)
{
	struct http_server *s = ctx->srv;
	const struct http_stream_ops *ops = ctx->rs.stream;
	struct http_stream *h = calloc(1, sizeof(*h));
	struct MHD_Response *resp;
	enum MHD_Result r;

	if (h == NULL)
		return MHD_NO; /* ctx_free() closes it */
	h->srv = s;
	h->conn = ctx->conn;
	h->ops = ops;
	h->ctx = ctx->rs.stream_ctx;
	pthread_mutex_init(&h->lock, NULL);
	if (!stream_register(s, h)) {
		pthread_mutex_destroy(&h->lock);
		free(h);
		ops->close(ctx->rs.stream_ctx);
		ctx->rs.stream = NULL;
		return send_shutting_down(ctx);
	}
	ctx->stream = true;
	ops->attach(h->ctx, h);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_reader, h,
						 stream_free);
	if (resp == NULL) {
		ctx->rs.stream = NULL;
		stream_free(h);
		return MHD_NO;
	}
	stream_headers(resp, ctx);
	ctx->rs.stream = NULL; /* stream_free() closes it, also if queueing fails */
	r = MHD_queue_response(ctx->conn, 200, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_response(struct req_ctx *ctx)
{
	return ctx->rs.stream != NULL ? send_stream(ctx) : send_buffer(ctx);
}

/* End every stream: readers return END from now on, sleeping ones are
 * woken to see it. */
static void end_streams(struct http_server *s)
{
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->streams_ending, true);
	for (struct http_stream *h = s->streams; h != NULL; h = h->next)
		http_stream_wake(h);
	pthread_mutex_unlock(&s->lock);
}

/* CLOCK_MONOTONIC now + ms, for pthread_cond_timedwait. */
static void deadline_in(unsigned ms, struct timespec *ret)
{
	clock_gettime(CLOCK_MONOTONIC, ret);
	ret->tv_sec += ms / 1000;
	ret->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ret->tv_nsec >= 1000000000L) {
		ret->tv_sec++;
		ret->tv_nsec -= 1000000000L;
	}
}

/* Give ended streams a moment to send their last chunk. */
static void wait_streams(struct http_server *s, unsigned ms)
{
	struct timespec deadline;

	deadline_in(ms, &deadline);
	pthread_mutex_lock(&s->lock);
	while (s->n_streams > 0 &&
	       pthread_cond_timedwait(&s->streams_gone, &s->lock, &deadline) == 0)
		;
	pthread_mutex_unlock(&s->lock);
}

static bool headers_too_large(struct http_server *s, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);

	return ci != NULL && ci->header_size > s->max_header_bytes;
}

/* 431 with the API's error envelope, answered by the transport at once (on
 * the first call: libmicrohttpd then closes the connection, as it should
 * with a client that sends such requests). */
static enum MHD_Result send_headers_too_large(struct req_ctx *ctx)
{
	char buf[256];
	int n = snprintf(
		buf, sizeof(buf),
		"{\"ok\":false,\"error\":{\"code\":\"HEADERS_TOO_LARGE\",\"message\":"
		"\"request line and headers larger than %zu bytes\",\"requestId\":\"%s\"}}",
		ctx->srv->max_header_bytes, ctx->rq.id);

	atomic_fetch_add(&ctx->srv->n_headers_too_large, 1);
	atomic_store(&ctx->state, RQ_ANSWERED);
	ctx->rs.status = 431;
	if (n < 0 || (size_t)n >= sizeof(buf) || (ctx->rs.body = strdup(buf)) == NULL)
		return MHD_NO;
	ctx->rs.body_len = (size_t)n;
	return send_buffer(ctx);
}

/* libmicrohttpd 0.9.75 closes the connection if a response is queued on the
 * first call for a request, so the first call only sets up the context. */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct req_ctx *ctx = *con_cls;

	if (ctx == NULL) {
		*con_cls = ctx = ctx_new(s, c, url, method);
		if (ctx != NULL && headers_too_large(s, c))
			return send_headers_too_large(ctx);
		return ctx ? MHD_YES : MHD_NO;
	}
	if (atomic_load(&ctx->state) == RQ_ANSWERED) {
		*upload_data_size = 0; /* discarded: the connection closes after the 431 */
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		int r = append_body(ctx, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return r < 0 ? MHD_NO : MHD_YES;
	}
	switch (atomic_load(&ctx->state)) {
	case RQ_RECEIVING:
		if (capture_request(ctx) < 0)
			return MHD_NO;
		if (enqueue(s, ctx))
			return MHD_YES;
		ctx->rq.shutting_down = true;
		s->fn(s->app, &ctx->rq, &ctx->rs);
		return send_response(ctx);
	case RQ_DONE:
		return send_response(ctx);
	default:
		return MHD_YES;
	}
}

/* Path as it may appear in a log line: bounded, printable. */
static void loggable(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i] != '\0'; i++)
		dst[i] = (src[i] > 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *ctx = *con_cls;
	struct timespec now;
	char path[MAX_LOGGED_PATH], method[16];

	if (ctx == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - ctx->start.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - ctx->start.tv_nsec) / 1e6;
	loggable(path, sizeof(path), ctx->path);
	loggable(method, sizeof(method), ctx->method);
	/* A stream's line comes when it ends: its duration is the stream's. */
	log_msg(LOG_INFO, ctx->rq.id, "request method=%s path=%s status=%u duration_ms=%.2f%s%s",
		method, path, ctx->rs.status, ms, ctx->stream ? " stream=1" : "",
		toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
	*con_cls = NULL;
	ctx_free(ctx);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	/* libmicrohttpd has no other way to tell that it turned a client
	 * away at its connection limits, or answered 431 itself (a header
	 * block too large for its memory pool; see daemon_options()). */
	if (strstr(buf, "connection limit") != NULL)
		atomic_fetch_add(&s->n_refused, 1);
	else if (strstr(buf, "response code is 431") != NULL)
		atomic_fetch_add(&s->n_headers_too_large, 1);
	log_msg(LOG_WARNING, NULL, "libmicrohttpd: %s", buf);
}

/* ---- lifecycle ---- */

static int bind_address(const char *host, unsigned port, struct sockaddr_storage *ss, bool *ipv6)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*ipv6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*ipv6 = true;
		return 0;
	}
	return ERR_BAD_REQUEST;
}

static void stop_workers(struct http_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i], NULL);
	s->n_workers = 0;
}

static void server_free(struct http_server *s)
{
	stop_workers(s);
	free(s->workers);
	slot_unref(s->slot);
	pthread_mutex_destroy(&s->tls_lock);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->streams_gone);
	free(s);
}

static int start_workers(struct http_server *s, unsigned n, struct err_info *ei)
{
	s->workers = calloc(n, sizeof(pthread_t));
	if (s->workers == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	for (; s->n_workers < n; s->n_workers++) {
		int r = pthread_create(&s->workers[s->n_workers], NULL, worker_main, s);
		if (r != 0)
			return err_set(ei, ERR_INTERNAL, "pthread_create: %s", strerror(r));
	}
	return 0;
}

static struct http_server *server_new(const struct http_server_options *o, http_handler_fn *fn,
				      void *app)
{
	struct http_server *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (s == NULL)
		return NULL;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->tls_lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_cond_init(&s->idle, &ca);
	pthread_cond_init(&s->streams_gone, &ca);
	pthread_condattr_destroy(&ca);
	s->fn = fn;
	s->app = app;
	s->max_body = o->max_body;
	s->max_header_bytes = o->max_header_bytes ? o->max_header_bytes : DEFAULT_MAX_HEADER_BYTES;
	return s;
}

/* The options that depend on o: where to listen, limits, TLS. items must
 * have room for 12. */
static int daemon_options(const struct http_server_options *o, struct http_server *s,
			  struct sockaddr_storage *ss, const char *priorities,
			  struct MHD_OptionItem *items, unsigned *flags, struct err_info *ei)
{
	/* libmicrohttpd parses the whole header block in this pool, besides
	 * its bookkeeping: room for twice the limit, so that the transport,
	 * not libmicrohttpd, answers a request just over it. */
	size_t pool = 2 * s->max_header_bytes + 16384;
	size_t n = 0;
	bool ipv6 = false;

	if (o->listen_fd >= 0) {
		items[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, o->listen_fd, NULL};
	} else {
		if (bind_address(o->host, o->port, ss, &ipv6) < 0)
			return err_set(ei, ERR_BAD_REQUEST, "cannot bind to '%s'", o->host);
		items[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, ss};
	}
	items[n++] = (struct MHD_OptionItem){
		MHD_OPTION_CONNECTION_LIMIT,
		o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS, NULL};
	items[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					     o->max_connections_per_ip, NULL};
	items[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					     (intptr_t)(pool < 32768 ? 32768 : pool), NULL};
	*flags = ipv6 ? MHD_USE_IPv6 : 0;
	if (s->tls) {
		items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
						     (void *)tls_cert_cb};
		items[n++] =
			(struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)priorities};
		*flags |= MHD_USE_TLS;
	}
	items[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	return 0;
}

/* TLS material and priorities, when o asks for HTTPS. */
static int tls_setup(struct http_server *s, const struct http_server_options *o, char **priorities,
		     struct err_info *ei)
{
	*priorities = NULL;
	if (o->tls == NULL)
		return 0;
	if ((*priorities = tls_priorities(o->tls_priorities, ei)) == NULL)
		return ERR_BAD_REQUEST;
	if ((s->slot = slot_new(o->tls, ei)) == NULL)
		return ERR_BAD_REQUEST;
	s->tls = true;
	return 0;
}

static struct MHD_Daemon *daemon_start(struct http_server *s, unsigned flags,
				       struct MHD_OptionItem *items)
{
	return MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			MHD_USE_ITC | MHD_USE_ERROR_LOG | flags,
		0, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
		MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
		on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
		MHD_OPTION_ARRAY, items, MHD_OPTION_END);
}

struct http_server *http_server_start(const struct http_server_options *o, http_handler_fn *fn,
				      void *app, struct err_info *ei)
{
	struct http_server *s = server_new(o, fn, app);
	struct MHD_OptionItem items[12];
	struct sockaddr_storage ss;
	char *priorities = NULL;
	unsigned flags = 0;

	if (s == NULL) {
		err_set(ei, ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (tls_setup(s, o, &priorities, ei) < 0 ||
	    daemon_options(o, s, &ss, priorities, items, &flags, ei) < 0 ||
	    start_workers(s, o->workers, ei) < 0) {
		free(priorities);
		server_free(s);
		return NULL;
	}
	s->d = daemon_start(s, flags, items);
	free(priorities); /* libmicrohttpd keeps its own parsed copy */
	if (s->d == NULL) {
		err_set(ei, ERR_INTERNAL, "cannot listen on %s port %u (address in use?)", o->host,
			o->port);
		server_free(s);
		return NULL;
	}
	return s;
}

void http_server_stop(struct http_server *s, unsigned grace_ms)
{
	struct timespec deadline;
	MHD_socket fd;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->draining = true;
	pthread_mutex_unlock(&s->lock);
	/* The listen socket stays open until MHD_stop_daemon: a polling thread
	 * that sees the quiesce removes it from its epoll set, and MHD aborts
	 * when it is closed already. */
	fd = MHD_quiesce_daemon(s->d);
	/* First, so that subscribers see the end at once, whatever the
	 * workers still do; no stream sleeps (suspended) from here on. */
	end_streams(s);

	deadline_in(grace_ms, &deadline);
	pthread_mutex_lock(&s->lock);
	while (s->busy > 0 && pthread_cond_timedwait(&s->idle, &s->lock, &deadline) == 0)
		;
	pthread_mutex_unlock(&s->lock);
	/* Past the grace a worker may still be in a (bounded) backend call: join
	 * it, because MHD_stop_daemon must not meet a suspended connection. */
	stop_workers(s);
	/* Streams whose client does not read are cut by MHD_stop_daemon, which
	 * calls their close() through stream_free(). */
	wait_streams(s, STREAM_END_WAIT_MS);
	MHD_stop_daemon(s->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	server_free(s);
}

int http_server_set_tls(struct http_server *s, const struct http_tls_material *m,
			struct err_info *ei)
{
	struct tls_slot *t, *old;

	if (!s->tls)
		return err_set(ei, ERR_NOT_SUPPORTED, "the server does not serve HTTPS");
	if ((t = slot_new(m, ei)) == NULL)
		return ERR_BAD_REQUEST;
	pthread_mutex_lock(&s->tls_lock);
	old = s->slot;
	s->slot = t;
	pthread_mutex_unlock(&s->tls_lock);
	slot_unref(old); /* freed here, or when its last connection closes */
	return 0;
}

void http_server_get_stats(struct http_server *s, struct http_server_stats *ret)
{
	ret->connections_refused = atomic_load(&s->n_refused);
	ret->headers_too_large = atomic_load(&s->n_headers_too_large);
	ret->bodies_too_large = atomic_load(&s->n_bodies_too_large);
	ret->tls_handshakes_failed = atomic_load(&s->n_tls_failed);
}
