/* The HTTP transport: libmicrohttpd polling threads accept and parse
 * requests; each complete request is handed to a bounded pool of worker
 * threads while its connection is suspended, so slow backend calls (occtl
 * runs for milliseconds, or seconds when ocserv hangs) never block the
 * polling threads or other requests. One log line per request at
 * completion: method, path, status, duration, request id.
 *
 * The transport knows nothing of JSON or authentication: it hands the
 * application a struct http_request and sends back its struct http_response. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "request_id.h"

#define HTTP_MAX_QUERY_ARGS    16
#define HTTP_MAX_LAST_EVENT_ID 64
#define HTTP_MAX_IF_MATCH      128
#define HTTP_MAX_ETAG	       96

/* The client certificate of a TLS connection, checked once per connection
 * against the client CA (chain, validity dates, TLS WWW client purpose). */
struct http_peer_cert {
	bool present;	   /* the client sent a certificate */
	bool verified;	   /* ... that chains to the CA, is in its validity period
			      and may be used for client authentication */
	char cn[256];	   /* the subject's CN ("" when none), printable */
	char pin[72];	   /* "sha256:" + 64 lowercase hex of the certificate (DER) */
	char problem[128]; /* why it is not verified, for the log */
};

struct http_request {
	char id[REQUEST_ID_LEN];    /* unique request id */
	char client_ip[64];	    /* the peer's address, text ("" when unknown) */
	bool tls;		    /* the request came over TLS */
	struct http_peer_cert peer; /* when tls and the server asks for certificates */
	const char *method;
	const char *path;	    /* without the query string, not percent-decoded */
	const char *authorization;  /* Authorization header or NULL */
	const char *last_event_id;  /* Last-Event-ID header (SSE reconnects) or NULL */
	bool last_event_id_invalid; /* it was longer than HTTP_MAX_LAST_EVENT_ID bytes
				     * (last_event_id is NULL): answer 400 */
	const char *if_match;	    /* If-Match header, or NULL (absent or longer than
				       HTTP_MAX_IF_MATCH bytes: if_match_invalid) */
	bool if_match_invalid;
	const char *body; /* NUL-terminated; "" when none */
	size_t body_len;
	bool body_too_large; /* more than max_body bytes were sent (and discarded) */
	bool query_invalid;  /* a query argument held a NUL byte, or too many were sent */
	bool shutting_down;  /* the server is draining: answer at once, touch nothing */
	size_t n_query;
	struct {
		char *key, *value;
	} query[HTTP_MAX_QUERY_ARGS]; /* percent-decoded, first occurrence kept */
};

/* The first value of query argument key, or NULL when it is absent or
 * empty: "?valid=" means the same as no valid at all, for every endpoint. */
const char *http_request_query(const struct http_request *rq, const char *key);

struct http_stream;

/* A response body produced over time (Server-Sent Events). The transport
 * sends it with Content-Type content_type, no caching (Cache-Control:
 * no-cache, X-Accel-Buffering: no for proxies), no length (chunked) and
 * Connection: close, on a polling thread, without a thread of its own:
 * read() is called whenever the client can take more; when it returns 0 the
 * connection sleeps (suspended) until the source calls http_stream_wake().
 * The request's log line is written when the stream ends, with its whole
 * duration. A client that vanished is only noticed when something is
 * written: the source should send a heartbeat now and then. */
struct http_stream_ops {
	const char *content_type;
	/* Called once, before the first read, with the handle to wake this
	 * response; http_stream_wake(h) may be called from any thread from
	 * then until close() returns. */
	void (*attach)(void *ctx, struct http_stream *h);
	/* Copy at most max bytes of the body into buf. Returns the count (> 0),
	 * 0 when nothing is ready now, or HTTP_STREAM_END to finish the
	 * response. Must not block. */
	ssize_t (*read)(void *ctx, char *buf, size_t max);
	/* Called once when the response ends for any reason (END, the client
	 * went away, the server stops); ctx is not used after. */
	void (*close)(void *ctx);
};

#define HTTP_STREAM_END ((ssize_t)-1)

/* Make a sleeping stream call read() again. Safe from any thread, at any
 * time between attach and close, and cheap when it is awake already. */
void http_stream_wake(struct http_stream *h);

struct http_response {
	unsigned status;
	char *body; /* malloc'd JSON text; the transport frees it */
	size_t body_len;
	char allow[64]; /* value of an Allow header, or "" */
	/* Instead of body: a stream (status must be 200). The transport owns
	 * stream_ctx from then on and ends it with stream->close(), also when
	 * the response cannot be sent at all. */
	const struct http_stream_ops *stream;
	void *stream_ctx;
	/* A Retry-After header in seconds (429, 503), or 0 for none. */
	unsigned retry_after;
	char etag[HTTP_MAX_ETAG]; /* an ETag header (quoted as it is sent), or "" */
};

/* Called on a worker thread for every request; during shutdown also on a
 * polling thread, with rq->shutting_down set, and must then return at once.
 * Must fill rs->status and rs->body, or rs->stream. rq is valid only during
 * the call. */
typedef void http_handler_fn(void *app, const struct http_request *rq, struct http_response *rs);

/* Certificates for HTTPS, PEM text; the server copies what it needs. */
struct http_tls_material {
	const char *cert; /* the server's certificate chain */
	size_t cert_len;
	const char *key; /* its private key */
	size_t key_len;
	const char *client_ca; /* CA(s) for client certificates, or NULL: none asked */
	size_t client_ca_len;
};

struct http_server_options {
	const char *host; /* IPv4 or IPv6 literal */
	unsigned port;
	int listen_fd;			 /* >= 0: serve this bound, listening socket (host and
			     port only name it in logs), which the server then owns and
			     closes when it stops (not when start fails); -1: bind host:port */
	unsigned workers;		 /* request worker threads */
	size_t max_body;		 /* bytes; larger bodies are discarded and flagged */
	unsigned max_connections;	 /* concurrent connections in all (0: default); at
				    the limit no more are accepted (they wait in the
				    listen backlog: not refused, not counted) */
	unsigned max_connections_per_ip; /* concurrent connections per client address
					    (0: no limit); more are closed at once */
	size_t max_header_bytes;	 /* request line + headers; a request with more is
				    answered 431 by the transport with the error
				    envelope, code HEADERS_TOO_LARGE, and the
				    connection closed (0: default). One far larger
				    gets libmicrohttpd's own 431 (an HTML body). */
	/* HTTPS when tls is not NULL (TLS 1.2 and later only, tls_priorities:
	 * a GnuTLS priority string, NULL for CONFIG_TLS_PRIORITIES, from which
	 * versions before TLS 1.2 are always removed; invalid: start fails).
	 * With tls->client_ca the server asks for a client certificate but
	 * accepts the handshake without one: rq->peer says what came, and the
	 * application decides (auth_request). */
	const struct http_tls_material *tls;
	const char *tls_priorities;
};

/* Counters of what the transport refused, for metrics. */
struct http_server_stats {
	unsigned long long connections_refused;	  /* over max_connections(_per_ip) */
	unsigned long long headers_too_large;	  /* answered 431 */
	unsigned long long bodies_too_large;	  /* flagged body_too_large */
	unsigned long long tls_handshakes_failed; /* TLS connections closed before any
						    request: mostly failed handshakes */
};

struct http_server;

/* Bind and start serving. Returns NULL with ei->detail set on failure. */
struct http_server *http_server_start(const struct http_server_options *o, http_handler_fn *fn,
				      void *app, struct err_info *ei);

/* Replace the certificate, key and client CA: connections made after the
 * call use the new ones, open connections keep theirs. Fails (the old ones
 * stay) when m does not load; ERR_BAD_REQUEST with the reason in ei, or
 * ERR_NOT_SUPPORTED when s does not serve HTTPS. Thread-safe. */
int http_server_set_tls(struct http_server *s, const struct http_tls_material *m,
			struct err_info *ei);

void http_server_get_stats(struct http_server *s, struct http_server_stats *ret);

/* Whether m's certificate and key load and belong together (GnuTLS refuses
 * a key that is not the certificate's). 0, or ERR_BAD_REQUEST with
 * GnuTLS's reason in ei (ERR_NOMEM). */
int http_tls_check_pair(const struct http_tls_material *m, struct err_info *ei);

/* Streams (SSE) are ended first: each gets HTTP_STREAM_END semantics (its
 * connection is resumed, finished and its close() called); a stream response
 * that a worker produces after that is not started (its close() is called
 * and the request is answered with rq->shutting_down set). Streams whose
 * client does not read are cut when the daemon stops, up to a second later.
 * Stop accepting connections and stop starting work: requests that arrive
 * on open keep-alive connections, or wait in the queue, are answered with
 * rq->shutting_down set and the connection closed. Requests already running
 * get up to grace_ms; one still running then is waited for (the
 * application bounds each call, e.g. by the occtl deadline) so that it is
 * answered too. Then stop and free everything. NULL is fine. */
void http_server_stop(struct http_server *s, unsigned grace_ms);
