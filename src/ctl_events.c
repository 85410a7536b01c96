#include "ctl_events.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_backend.h"
#include "ctl.pb-c.h"
#include "log.h"
#include "priv_events.h"
#include "timefmt.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* A connection that lasted this long was a working subscription: the next
 * loss starts the backoff afresh. Shorter ones (ocserv accepts, then hangs
 * up) keep growing it, so a server that refuses us is not hammered. */
#define STABLE_MS     5000
#define IO_TIMEOUT_MS 2000 /* connect, send, and the rest of a frame once it began */

#define RESYNC_TEXT "ocserv events subscription re-established; events in between may be missing"

struct ctl_events {
	char *path;
	struct ctl_events_sink sink;
	int stop_fd; /* eventfd: readable once ctl_events_stop() began */
	pthread_t thread;
};

/* ---- decoding -------------------------------------------------------------------- */

/* A copy of a protobuf string; empty means unknown (ocserv sends "" for
 * what it does not have, e.g. an IPv6 address). */
static int dup_field(const char *s, char **ret)
{
	if (s == NULL || s[0] == '\0')
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : ERR_NOMEM;
}

static int user_fields(const CtlUserInfo *u, struct event *ev)
{
	if (u->has_id)
		ev->vpn_session_id = u->id;
	/* The user info names addresses from the server's side: "ip" is the
	 * client's real address and "local_ip" its VPN address. */
	if (dup_field(u->username, &ev->username) < 0 ||
	    dup_field(u->groupname, &ev->groupname) < 0 || dup_field(u->vhost, &ev->vhost) < 0 ||
	    dup_field(u->ip, &ev->client_ip) < 0 || dup_field(u->local_ip, &ev->ip) < 0 ||
	    (ev->ip == NULL && dup_field(u->local_ip6, &ev->ip) < 0) ||
	    dup_field(u->tun, &ev->device) < 0)
		return ERR_NOMEM;
	return 0;
}

static int update_event(const CtlTopUpdate *m, struct event **ret, struct err_info *ei)
{
	struct event *ev;

	if (!m->has_connected)
		return err_set(ei, ERR_CTL_PROTOCOL, "events update without the connected flag");
	if (m->user == NULL || m->user->n_user == 0)
		return err_set(ei, ERR_CTL_PROTOCOL, "events update names no user");
	ev = event_new(m->connected ? EVENT_CONNECT : EVENT_DISCONNECT);
	if (ev == NULL || user_fields(m->user->user[0], ev) < 0)
		goto nomem;
	if (!m->connected) {
		if (m->has_discon_reason)
			ev->reason_code = m->discon_reason;
		if (dup_field(m->discon_reason_txt, &ev->reason_text) < 0)
			goto nomem;
	}
	*ret = ev;
	return 0;
nomem:
	event_free(ev);
	return err_set(ei, ERR_NOMEM, "out of memory");
}

int ctl_events_decode(const uint8_t *payload, size_t len, struct event **ret, struct err_info *ei)
{
	CtlTopUpdate *m = ctl_top_update__unpack(NULL, len, payload);
	int r;

	if (m == NULL)
		return err_set(ei, ERR_CTL_PROTOCOL, "events update does not decode (%zu bytes)",
			       len);
	r = update_event(m, ret, ei);
	ctl_top_update__free_unpacked(m, NULL);
	return r;
}

/* ---- the thread ------------------------------------------------------------------ */

/* Wait for fd (may be -1) to be readable or ms to pass (-1: forever).
 * Returns 1 readable, 0 timeout, -1 when stopping. */
static int wait_fd(struct ctl_events *ce, int fd, int ms)
{
	struct pollfd p[2] = {{ce->stop_fd, POLLIN, 0}, {fd, POLLIN, 0}};

	for (;;) {
		int n = poll(p, fd >= 0 ? 2 : 1, ms);

		if (n < 0 && errno == EINTR)
			continue; /* rare; a slightly longer wait is harmless */
		if (n < 0 || p[0].revents)
			return -1;
		return n > 0 ? 1 : 0;
	}
}

/* Connect and subscribe: send TOP, read the initial user list (not
 * events: ignored). Returns the fd, ERR_SHUTTING_DOWN when stopping, or
 * another negative ERR_* with the detail in ei. */
static int subscribe(struct ctl_events *ce, struct err_info *ei)
{
	struct ctl_msg m = {0};
	int fd, r;

	fd = ctl_connect(ce->path, ctl_deadline(IO_TIMEOUT_MS), ei);
	if (fd < 0)
		return fd;
	if ((r = ctl_send(fd, CTL_CMD_TOP, NULL, 0, ctl_deadline(IO_TIMEOUT_MS), ei)) < 0)
		goto fail;
	if ((r = wait_fd(ce, fd, IO_TIMEOUT_MS)) <= 0) {
		r = r < 0 ? ERR_SHUTTING_DOWN
			  : err_set(ei, ERR_OCCTL_TIMEOUT, "no user list after subscribing");
		goto fail;
	}
	if ((r = ctl_recv(fd, CTL_MAX_REPLY, ctl_deadline(IO_TIMEOUT_MS), &m, ei)) < 0)
		goto fail;
	if (m.cmd != CTL_REP_USER_LIST)
		r = err_set(ei, ERR_CTL_PROTOCOL, "reply %u to the events command", m.cmd);
	ctl_msg_free(&m);
	if (r < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return r;
}

/* Read one frame and hand its event to the sink. Returns 0, or a negative
 * ERR_* that ends the connection (detail in ei). */
static int read_update(struct ctl_events *ce, int fd, struct err_info *ei)
{
	struct ctl_msg m = {0};
	struct event *ev;
	int r;

	if ((r = ctl_recv(fd, CTL_MAX_REPLY, ctl_deadline(IO_TIMEOUT_MS), &m, ei)) < 0) {
		if (r == ERR_NOT_SUPPORTED) /* closed between frames */
			err_set(ei, r, "ocserv closed the connection");
		return r;
	}
	if (m.cmd != CTL_REP_TOP_UPDATE) {
		log_msg(LOG_DEBUG, NULL, "events: ignored a frame with command %u", m.cmd);
		ctl_msg_free(&m);
		return 0;
	}
	r = ctl_events_decode(m.payload, m.len, &ev, ei);
	ctl_msg_free(&m);
	if (r < 0)
		return r;
	/* A lost event makes the stream incomplete: reconnect, then resync. */
	if ((r = ce->sink.ingest(ce->sink.arg, ev)) < 0)
		return err_set(ei, r, "the event could not be passed on");
	return 0;
}

/* How often a quiet subscription checks whether the sink found it deaf. */
#define DEAF_CHECK_MS 1000

/* Serve one subscription until it ends, or until the sink finds it deaf
 * (then it is renewed). Returns -1 when stopping, else 0 with the reason
 * in ei. */
static int serve(struct ctl_events *ce, int fd, struct err_info *ei)
{
	for (;;) {
		int r = wait_fd(ce, fd, DEAF_CHECK_MS);

		if (r < 0)
			return -1;
		if (r == 0 && ce->sink.deaf(ce->sink.arg)) {
			err_set(ei, ERR_OCCTL_FAILED,
				"ocserv sends nothing to this subscription (another subscriber, "
				"such as occtl show events, holds ocserv's only one)");
			return 0;
		}
		if (r > 0 && read_update(ce, fd, ei) < 0)
			return 0;
	}
}

static void publish_resync(struct ctl_events *ce)
{
	struct event *ev = event_new(EVENT_RESYNC);

	if (ev != NULL && (ev->reason_text = strdup(RESYNC_TEXT)) == NULL) {
		event_free(ev);
		ev = NULL;
	}
	if (ev == NULL || ce->sink.ingest(ce->sink.arg, ev) < 0)
		log_error("events: the resync event could not be passed on");
}

/* The connection state across reconnects. */
struct conn_state {
	bool ever_live; /* a subscription worked before: the next one needs a resync */
	bool outage_logged;
	unsigned backoff_ms;
};

static void on_live(struct ctl_events *ce, struct conn_state *cs)
{
	ce->sink.set_live(ce->sink.arg, true);
	if (cs->ever_live) {
		log_notice("events: subscription to ocserv re-established");
		publish_resync(ce);
	} else {
		log_info("events: subscribed to ocserv's events");
	}
	cs->ever_live = true;
	cs->outage_logged = false;
}

/* Log a failure to (re)subscribe or the loss of the subscription, once per
 * outage. */
static void on_down(struct conn_state *cs, const char *what, const struct err_info *ei)
{
	if (cs->outage_logged)
		return;
	log_warning("events: %s: %s; retrying every %u-%u ms", what, ei->detail, BACKOFF_MIN_MS,
		    BACKOFF_MAX_MS);
	cs->outage_logged = true;
}

static void *events_main(void *arg)
{
	struct ctl_events *ce = arg;
	struct conn_state cs = {.backoff_ms = BACKOFF_MIN_MS};

	for (;;) {
		struct err_info ei = {""};
		int fd = subscribe(ce, &ei);
		int64_t began;
		int r;

		if (fd == ERR_SHUTTING_DOWN)
			break;
		if (fd >= 0) {
			on_live(ce, &cs);
			began = timefmt_mono_ms();
			r = serve(ce, fd, &ei);
			close(fd);
			ce->sink.set_live(ce->sink.arg, false);
			if (r < 0)
				break;
			if (timefmt_mono_ms() - began >= STABLE_MS)
				cs.backoff_ms = BACKOFF_MIN_MS;
			on_down(&cs, "lost the subscription to ocserv", &ei);
		} else {
			on_down(&cs, "cannot subscribe to ocserv's events", &ei);
		}
		if (wait_fd(ce, -1, (int)cs.backoff_ms) < 0)
			break;
		cs.backoff_ms =
			cs.backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : cs.backoff_ms * 2;
	}
	return NULL;
}

struct ctl_events *ctl_events_start_sink(const char *socket, const struct ctl_events_sink *sink,
					 struct err_info *ei)
{
	struct ctl_events *ce = calloc(1, sizeof(*ce));
	int r;

	if (ce == NULL || (ce->path = strdup(socket ? socket : CTL_SOCKET_DEFAULT)) == NULL) {
		free(ce);
		err_set(ei, ERR_NOMEM, "out of memory");
		return NULL;
	}
	ce->sink = *sink;
	if ((ce->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		err_set(ei, ERR_INTERNAL, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((r = pthread_create(&ce->thread, NULL, events_main, ce)) != 0) {
		err_set(ei, ERR_INTERNAL, "cannot start the events thread: %s", strerror(r));
		close(ce->stop_fd);
		goto fail;
	}
	return ce;
fail:
	free(ce->path);
	free(ce);
	return NULL;
}

struct ctl_events *ctl_events_start(const char *socket, struct event_hub *hub, struct err_info *ei)
{
	struct ctl_events_sink sink;

	priv_events_hub_sink(hub, &sink);
	return ctl_events_start_sink(socket, &sink, ei);
}

void ctl_events_stop(struct ctl_events *ce)
{
	uint64_t one = 1;

	if (ce == NULL)
		return;
	if (write(ce->stop_fd, &one, sizeof(one)) < 0)
		log_error("events: cannot signal the events thread: %s", strerror(errno));
	pthread_join(ce->thread, NULL);
	close(ce->stop_fd);
	free(ce->path);
	free(ce);
}
