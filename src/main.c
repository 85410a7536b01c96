/* ocserv-agent: a control-plane REST daemon beside the ocserv VPN server. */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "api.h"
#include "backend_auto.h"
#include "build_config.h"
#include "config.h"
#include "ctl_backend.h"
#include "ctl_events.h"
#include "events.h"
#include "hook.h"
#include "http_server.h"
#include "instance.h"
#include "log.h"
#include "occtl.h"
#include "priv_backend.h"
#include "priv_client.h"
#include "priv_events.h"
#include "priv_ops.h"
#include "priv_server.h"
#include "priv_wire.h"
#include "privsep.h"
#include "ratelimit.h"
#include "request_id.h"
#include "revoke.h"
#include "sandbox.h"
#include "secmem.h"
#include "timefmt.h"
#include "tls.h"

#define WORKER_THREADS 8u
/* In-flight requests may be waiting on occtl: give them its timeout. */
#define SHUTDOWN_GRACE_EXTRA_MS 2000u
/* The longest a root-side operation may take: a config change with its
 * check, restart, verification and rollback stays well within it. A root
 * process that does not answer by then is stuck: the api process exits. */
#define PRIV_CALL_TIMEOUT_MS 300000u
/* How long the root process waits for the api process to serve. */
#define API_START_TIMEOUT_MS 30000

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ocserv-agent [OPTIONS]\n"
		"       ocserv-agent hook [--socket PATH]   (ocserv's connect/disconnect-script)\n"
		"REST control-plane agent for the ocserv VPN server.\n\n"
		"  --env-file PATH   read KEY=VALUE settings from PATH (environment wins)\n"
		"  --check-config    validate the configuration, print it without secrets, exit\n"
		"  --priv-serve-fd N serve only the root side of the privilege boundary on the\n"
		"                    inherited socket N (for tests of that boundary)\n"
		"  --version         print the version and exit\n"
		"  --help            print this help and exit\n\n"
		"Settings (environment variables): AGENT_HOST, AGENT_PORT,\n"
		"AGENT_AUTH_TOKEN_CURRENT (required), AGENT_AUTH_TOKEN_PREVIOUS, OCCTL_PATH,\n"
		"OCCTL_TIMEOUT_MS, OCCTL_USE_SUDO, OCCTL_SOCKET, RADIUSCLIENT_CONF_PATH,\n"
		"RADIUS_SERVERS_PATH, AGENT_STATE_DIR, OCSERV_CONF_PATH, OCSERV_PATH,\n"
		"OCSERV_CHECK_TIMEOUT_MS, OCSERV_UNIT, SYSTEMCTL_PATH, SYSTEMCTL_TIMEOUT_MS,\n"
		"OPENCONNECT_PATH, AGENT_PROBE_USER, AGENT_PROBE_PASSWORD, AGENT_PROBE_HOST,\n"
		"AGENT_PROBE_TIMEOUT_MS, AGENT_HOOK_SOCKET, OCPASSWD_PATH, OCPASSWD_HASH,\n"
		"OCSERV_BACKEND, OCSERV_CACHE_MS, OCSERV_EVENTS, EVENTS_BUFFER,\n"
		"EVENTS_MAX_SUBSCRIBERS, EVENTS_HEARTBEAT_MS, EVENTS_USAGE_WAIT_MS,\n"
		"OCSERV_CONF_BACKUP_DIR, OCSERV_CONF_BACKUP_KEEP, OCSERV_CONF_VERIFY_TIMEOUT_MS,\n"
		"OCSERV_CONF_VERIFY_SETTLE_MS, OCSERV_CONF_VERIFY_COMMAND, AGENT_TLS_CERT,\n"
		"AGENT_TLS_KEY, AGENT_TLS_CLIENT_CA, AGENT_TLS_CLIENT_ALLOWED, "
		"AGENT_TLS_PRIORITIES,\n"
		"AGENT_AUTH_MODE, AGENT_AUTH_TOKEN_CURRENT_FILE, AGENT_AUTH_TOKEN_PREVIOUS_FILE,\n"
		"AGENT_PRIVSEP, AGENT_USER, AGENT_SECCOMP, AGENT_AUTH_FAIL_LIMIT,\n"
		"AGENT_AUTH_FAIL_WINDOW_MS, AGENT_MAX_CONNECTIONS, AGENT_MAX_CONNECTIONS_PER_IP,\n"
		"AGENT_MAX_HEADER_BYTES, AGENT_MAX_BODY_BYTES, AGENT_MAX_JSON_DEPTH.\n"
		"See docs/operations.md.\n");
}

struct cli {
	const char *env_file;
	bool check_config;
	int priv_fd; /* --priv-serve-fd, or -1 */
};

/* Returns -1 to continue, else the exit code. */
static int parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{"env-file", required_argument, NULL, 'e'},
		{"check-config", no_argument, NULL, 'c'},
		{"priv-serve-fd", required_argument, NULL, 'P'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			cli->env_file = optarg;
			break;
		case 'c':
			cli->check_config = true;
			break;
		case 'P': {
			char *end;
			long fd = strtol(optarg, &end, 10);

			if (*end != '\0' || fd < 3 || fd > 1023) {
				fprintf(stderr, "ocserv-agent: --priv-serve-fd needs a descriptor "
						"3-1023\n");
				return 2;
			}
			cli->priv_fd = (int)fd;
			break;
		}
		case 'V':
			printf("ocserv-agent %s (API %s)\n", AGENT_VERSION, AGENT_API_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ocserv-agent: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1;
}

/* How long OCSERV_BACKEND=auto waits for the control socket to answer. */
#define CTL_PROBE_TIMEOUT_MS 1000u

static bool probe_ctl(void *arg, struct err_info *ei)
{
	const struct agent_config *cfg = arg;

	return ctl_probe(cfg->occtl_socket, CTL_PROBE_TIMEOUT_MS, ei);
}

/* The backend OCSERV_BACKEND names (validated by config). The control
 * socket is the one occtl would use: OCCTL_SOCKET, else occtl's default. */
static struct ocserv *backend_new(const struct agent_config *cfg)
{
	struct occtl_options oo = {cfg->occtl_path, cfg->occtl_socket, cfg->occtl_use_sudo,
				   cfg->occtl_timeout_ms};
	struct ctl_options co = {cfg->occtl_socket, cfg->ocserv_path, cfg->occtl_timeout_ms};
	struct ocserv *ctl, *occtl;

	if (strcmp(cfg->backend, "occtl") == 0)
		return occtl_backend_new(&oo);
	if (strcmp(cfg->backend, "ctl") == 0)
		return ctl_backend_new(&co);
	ctl = ctl_backend_new(&co);
	occtl = occtl_backend_new(&oo);
	if (ctl == NULL || occtl == NULL) {
		ocserv_free(ctl);
		ocserv_free(occtl);
		return NULL;
	}
	return backend_auto_new(ctl, occtl, probe_ctl, (void *)cfg);
}

/* The hook thread's handler: terminate's verdict on connects, and every
 * allowed connect and every disconnect as an event (the hub decides what
 * to publish: see event_hub_ingest). */
static bool on_hook(void *app, const struct hook_event *he, char *why, size_t len)
{
	struct agent *ag = app;
	bool allow = terminate_hook_decide(&ag->terminate, he, why, len);
	struct event *ev;

	if (allow && event_from_hook(he, &ev) == 0)
		event_hub_ingest(ag->events, EVENT_FROM_HOOK, ev);
	return allow;
}

/* ---- the api side: the application and its HTTP server ---- */

static int events_init(struct agent *ag, const struct agent_config *cfg)
{
	struct event_hub_options eo = {cfg->events_buffer, cfg->events_max_subscribers,
				       cfg->events_heartbeat_ms, cfg->events_usage_wait_ms};
	struct err_info ei = {{0}};

	ag->events = event_hub_new(&eo, &ei);
	if (ag->events == NULL) {
		log_error("event hub: %s", ei.detail);
		return -1;
	}
	return 0;
}

/* Everything the handlers use, over priv (taken over). revoke_dir: where
 * revoked sessions are kept (NULL: in memory only). */
static int agent_init(struct agent *ag, const struct agent_config *cfg, struct priv *priv,
		      const char *revoke_dir)
{
	struct err_info ei = {{0}};

	ag->cfg = cfg;
	ag->priv = priv;
	if (ag->events == NULL && events_init(ag, cfg) < 0)
		return -1;
	timefmt_now_iso8601(ag->started_at, sizeof(ag->started_at));
	if (gethostname(ag->hostname, sizeof(ag->hostname) - 1) < 0)
		strcpy(ag->hostname, "unknown");
	ag->oc = priv_backend_new(priv);
	ag->terminate.revoked = revoke_new();
	ag->auth_fails = ratelimit_new(cfg->auth_fail_limit, cfg->auth_fail_window_ms);
	if (ag->priv == NULL || ag->oc == NULL || ag->terminate.revoked == NULL ||
	    ag->auth_fails == NULL) {
		log_error("out of memory");
		return -1;
	}
	ocserv_set_cache(ag->oc, cfg->cache_ms);
	ag->terminate.oc = ag->oc;
	ag->terminate.priv = ag->priv;
	if (revoke_dir != NULL &&
	    revoke_persist(ag->terminate.revoked, revoke_dir, (int64_t)time(NULL), &ei) < 0)
		log_warning("revoked sessions kept in memory only: %s", ei.detail);
	/* Without the hook socket the agent still serves; only terminate on
	 * ocserv < 1.4.2 is unavailable (and says so). */
	ag->hooks = hook_server_start(cfg->hook_socket, on_hook, ag, &ei);
	if (ag->hooks == NULL)
		log_warning("hook socket unavailable: %s", ei.detail);
	ag->terminate.hook_running = ag->hooks != NULL;
	return 0;
}

/* After the HTTP server stopped (it ended every event stream). */
static void agent_free(struct agent *ag)
{
	hook_server_stop(ag->hooks);
	priv_events_renewer_stop(ag->renewer);
	revoke_free(ag->terminate.revoked);
	ocserv_free(ag->oc);
	ratelimit_free(ag->auth_fails);
	/* joins the reader thread, which delivers events into the hub */
	priv_free(ag->priv);
	event_hub_free(ag->events);
	memset(ag, 0, sizeof(*ag));
}

/* Block the signals we handle so every thread inherits the mask, and wait
 * for them synchronously in the main thread. SIGCHLD and SIGUSR1 matter to
 * the root process only (its api process ended; its server ended). */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The transport's options from cfg; tls may be zeroed: plain HTTP. */
static void http_options(const struct agent_config *cfg, const struct http_tls_material *tls,
			 int listen_fd, struct http_server_options *ho)
{
	memset(ho, 0, sizeof(*ho));
	ho->host = cfg->host;
	ho->port = cfg->port;
	ho->listen_fd = listen_fd;
	ho->workers = WORKER_THREADS;
	ho->max_body = cfg->max_body_bytes;
	ho->max_connections = cfg->max_connections;
	ho->max_connections_per_ip = cfg->max_connections_per_ip;
	ho->max_header_bytes = cfg->max_header_bytes;
	ho->tls = tls->cert != NULL ? tls : NULL;
	ho->tls_priorities = cfg->tls_priorities;
}

static struct http_server *http_start(struct agent *ag, const struct tls_files *f, int listen_fd)
{
	struct http_server_options ho;
	struct http_tls_material m;
	struct err_info ei = {{0}};
	struct http_server *srv;

	tls_files_material(f, &m);
	http_options(ag->cfg, &m, listen_fd, &ho);
	srv = http_server_start(&ho, api_handle, ag, &ei);
	if (srv == NULL)
		log_error("%s", ei.detail);
	ag->http = srv;
	return srv;
}

static void http_stop(struct agent *ag, int sig)
{
	sd_notify(0, "STOPPING=1");
	log_notice("stopping signal=%d", sig);
	http_server_stop(ag->http, ag->cfg->occtl_timeout_ms + SHUTDOWN_GRACE_EXTRA_MS);
	ag->http = NULL;
	log_notice("stopped");
}

static void log_started(const struct agent *ag, const char *mode)
{
	const struct agent_config *cfg = ag->cfg;

	log_notice("started version=%s host=%s port=%u tls=%s auth=%s mode=%s instance_id=%s",
		   AGENT_VERSION, cfg->host, cfg->port, cfg->tls_cert ? "on" : "off",
		   config_auth_mode_name(cfg->auth_mode), mode, ag->instance_id);
}

/* ---- the root side ---- */

static int root_init(struct priv_root *r, const struct agent_config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->oc = backend_new(cfg);
	r->accounts.path = cfg->ocpasswd_path;
	r->accounts.lock_wait_ms = ACCOUNTS_LOCK_WAIT_MS;
	ocpasswd_scheme_parse(cfg->ocpasswd_hash, &r->accounts.scheme); /* validated by config */
	if (r->oc == NULL) {
		log_error("out of memory");
		return -1;
	}
	return 0;
}

static void root_free(struct priv_root *r)
{
	ocserv_free(r->oc);
	memset(r, 0, sizeof(*r));
}

static int instance_init(struct agent *ag, const struct agent_config *cfg)
{
	struct err_info ei = {{0}};

	if (instance_id_load(cfg->state_dir, ag->instance_id, &ag->instance_persisted, &ei) < 0) {
		log_error("cannot generate an instance id: %s", ei.detail);
		return -1;
	}
	if (!ag->instance_persisted)
		log_warning("instance id not persisted (fresh id each start): %s", ei.detail);
	else if (ei.detail[0] != '\0')
		log_warning("instance id: %s", ei.detail);
	return 0;
}

/* ---- one process (not root, or AGENT_PRIVSEP=off) ---- */

/* SIGHUP: read the certificate files again; false (logged) when TLS is
 * off or they do not load: the old ones stay. */
static bool reload_files(const struct agent_config *cfg, struct tls_files *f)
{
	struct err_info ei = {{0}};

	if (cfg->tls_cert == NULL) {
		log_info("SIGHUP: no TLS configured; nothing to reload");
		return false;
	}
	if (tls_files_load(cfg, f, &ei) < 0) {
		log_error("SIGHUP: certificates not reloaded, the old ones stay: %s", ei.detail);
		return false;
	}
	return true;
}

/* SIGHUP in one process: give the new files to the server. */
static void reload_tls_here(struct http_server *srv, const struct agent_config *cfg)
{
	struct tls_files f;
	struct http_tls_material m;
	struct err_info ei = {{0}};

	if (!reload_files(cfg, &f))
		return;
	tls_files_material(&f, &m);
	if (http_server_set_tls(srv, &m, &ei) < 0)
		log_error("SIGHUP: certificates not reloaded, the old ones stay: %s", ei.detail);
	else
		log_notice("SIGHUP: certificate and key reloaded from %s", cfg->tls_cert);
	tls_files_free(&f);
}

static int run_one_process(const struct agent_config *cfg, const sigset_t *set)
{
	struct priv_root root;
	struct agent ag = {0};
	struct tls_files f = {0};
	struct err_info ei = {{0}};
	struct ctl_events *ce = NULL;
	int sig = 0, r = 1;

	if (tls_files_load(cfg, &f, &ei) < 0) {
		log_error("%s", ei.detail);
		return 1;
	}
	if (root_init(&root, cfg) < 0 || instance_init(&ag, cfg) < 0 ||
	    agent_init(&ag, cfg, priv_local_new(&root),
		       ag.instance_persisted ? cfg->state_dir : NULL) < 0)
		goto out;
	if (cfg->events && (ce = ctl_events_start(cfg->occtl_socket, ag.events, &ei)) == NULL)
		log_warning("ocserv events subscription not started: %s", ei.detail);
	if (http_start(&ag, &f, -1) == NULL)
		goto out;
	tls_files_free(&f);
	log_started(&ag, "one-process");
	sd_notify(0, "READY=1");
	while (sig != SIGTERM && sig != SIGINT) {
		if (sigwait(set, &sig) != 0)
			break;
		if (sig == SIGHUP)
			reload_tls_here(ag.http, cfg);
	}
	http_stop(&ag, sig);
	r = 0;
out:
	ctl_events_stop(ce);
	tls_files_free(&f);
	agent_free(&ag);
	root_free(&root);
	return r;
}

/* ---- two processes ---- */

/* The api process's end: the root side told it something. */
static void api_on_event(void *arg, const json_t *payload)
{
	struct agent *ag = arg;

	priv_events_deliver(ag->events, payload);
}

static void api_on_tls(void *arg, const json_t *payload)
{
	struct agent *ag = arg;
	struct http_tls_material m = {0};
	struct err_info ei = {{0}};
	const char *ca = json_string_value(json_object_get(payload, "clientCa"));

	m.cert = json_string_value(json_object_get(payload, "cert"));
	m.key = json_string_value(json_object_get(payload, "key"));
	m.cert_len = m.cert ? strlen(m.cert) : 0;
	m.key_len = m.key ? strlen(m.key) : 0;
	m.client_ca = ca;
	m.client_ca_len = ca ? strlen(ca) : 0;
	if (ag->http == NULL || m.cert == NULL || m.key == NULL ||
	    http_server_set_tls(ag->http, &m, &ei) < 0)
		log_error("new certificates not taken, the old ones stay: %s", ei.detail);
	else
		log_notice("certificate and key reloaded");
}

/* The root process is gone or broke the protocol: nothing this process
 * does can reach ocserv any more. Exit at once and non-zero; systemd
 * restarts the service (never a half-alive agent). */
static void api_on_lost(void *arg, const char *reason)
{
	(void)arg;
	log_error("the root process is gone (%s): exiting", reason);
	_exit(1);
}

static int api_main(const struct agent_config *cfg, struct agent *ag, int fd, pid_t root_pid,
		    const struct privsep_user *u, const char *api_dir, struct tls_files *f,
		    int ready_fd, const sigset_t *set)
{
	struct priv_client_hooks h = {api_on_event, api_on_tls, api_on_lost, ag};
	struct err_info ei = {{0}};
	struct priv *priv;
	int sig = 0, listen_fd, dir_fd, r;

	prctl(PR_SET_NAME, PRIVSEP_API_COMM, 0, 0, 0);
	/* The hub first: the root side's events may arrive at once. */
	if (events_init(ag, cfg) < 0)
		return 1;
	priv = priv_client_new(fd, &h, PRIV_CALL_TIMEOUT_MS, &ei);
	if (priv == NULL) {
		log_error("api process: %s", ei.detail);
		return 1;
	}
	/* Bind as root (a port below 1024 works), then drop for good. */
	if (agent_init(ag, cfg, priv, api_dir) < 0)
		return 1;
	/* Its own directory is opened as root: the user may not be able to
	 * walk the path to it (a parent of mode 0700). */
	dir_fd = api_dir ? open(api_dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	if ((listen_fd = privsep_listen(cfg->host, cfg->port, &ei)) < 0 ||
	    privsep_drop(u, root_pid, &ei) < 0) {
		log_error("api process: %s", ei.detail);
		return 1;
	}
	/* Writes only in its own directory, whatever its user may write. */
	r = sandbox_restrict_writes(dir_fd, &ei);
	if (dir_fd >= 0)
		close(dir_fd);
	if (r == ERR_NOT_SUPPORTED) {
		log_notice("api process: %s; file permissions and seccomp still apply", ei.detail);
	} else if (r < 0) {
		log_error("api process: %s", ei.detail);
		return 1;
	}
	/* The subscription is the root side's: tell it when the hub finds it deaf. */
	if ((ag->renewer = priv_events_renewer_start(priv, &ei)) == NULL) {
		log_error("api process: %s", ei.detail);
		return 1;
	}
	event_hub_on_deaf(ag->events, priv_events_renewer_notify, ag->renewer);
	if (http_start(ag, f, listen_fd) == NULL)
		return 1;
	tls_files_free(f);
	if (cfg->seccomp && sandbox_apply(&ei) < 0) {
		log_error("api process: %s", ei.detail);
		return 1;
	}
	log_started(ag, "api");
	if (write(ready_fd, "R", 1) != 1)
		return 1;
	close(ready_fd);
	while (sig != SIGTERM && sig != SIGINT)
		if (sigwait(set, &sig) != 0)
			break;
	http_stop(ag, sig);
	return 0;
}

struct root_server {
	struct priv_server *srv;
	pthread_t thread;
	int result;
	struct err_info ei;
};

static void *root_server_thread(void *arg)
{
	struct root_server *rs = arg;

	rs->result = priv_server_run(rs->srv, &rs->ei);
	kill(getpid(), SIGUSR1);
	return NULL;
}

/* SIGHUP in the root process: read the files (the api process may not)
 * and send them over. */
static void reload_tls_there(struct priv_server *srv, const struct agent_config *cfg)
{
	struct tls_files f;
	struct err_info ei = {{0}};
	json_t *p;

	if (!reload_files(cfg, &f))
		return;
	p = json_pack("{s:s%,s:s%}", "cert", f.cert, f.cert_len, "key", f.key, f.key_len);
	if (p != NULL && f.client_ca != NULL)
		json_object_set_new(p, "clientCa", json_stringn(f.client_ca, f.client_ca_len));
	if (p == NULL || priv_server_send(srv, PRIV_KIND_TLS, p, &ei) < 0)
		log_error("SIGHUP: certificates not sent to the api process: %s", ei.detail);
	json_decref(p);
	tls_files_free(&f);
}

/* Wait for the api process to say it serves (or to fail). */
static bool wait_ready(int ready_fd)
{
	struct pollfd p = {ready_fd, POLLIN, 0};
	char c;

	return poll(&p, 1, API_START_TIMEOUT_MS) == 1 && read(ready_fd, &c, 1) == 1;
}

/* Wait up to ms for the api process to exit; SIGKILL it after that.
 * Returns its wait status. */
static int reap(pid_t pid, unsigned ms)
{
	int status = 0;

	for (unsigned waited = 0; waited < ms; waited += 50) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(50 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return status;
}

static int root_loop(const struct agent_config *cfg, struct root_server *rs, pid_t api,
		     const sigset_t *set)
{
	int sig, status;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			return 1;
		if (sig == SIGHUP) {
			reload_tls_there(rs->srv, cfg);
		} else if (sig == SIGCHLD) {
			if (waitpid(api, &status, WNOHANG) != api)
				continue; /* one of the programs the root side runs */
			log_error("the api process ended (%s %d): exiting",
				  WIFEXITED(status) ? "exit" : "signal",
				  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			return 1;
		} else if (sig == SIGUSR1) {
			log_error("the api process %s: ending it",
				  rs->result == 0 ? "closed its channel" : rs->ei.detail);
			kill(api, SIGKILL);
			reap(api, 0);
			return 1;
		} else {
			sd_notify(0, "STOPPING=1");
			log_notice("stopping signal=%d", sig);
			kill(api, SIGTERM);
			status = reap(api, cfg->occtl_timeout_ms + SHUTDOWN_GRACE_EXTRA_MS + 5000);
			log_notice("stopped");
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
		}
	}
}

static int root_main(const struct agent_config *cfg, int fd, pid_t api, int ready_fd,
		     const sigset_t *set)
{
	struct priv_root root;
	struct root_server rs = {0};
	struct ctl_events_sink sink;
	struct err_info ei = {{0}};
	struct ctl_events *ce = NULL;
	int r = 1;

	if (root_init(&root, cfg) < 0 || (rs.srv = priv_server_new(fd, &root)) == NULL ||
	    (root.events = priv_events_root_new(priv_events_server_send, rs.srv)) == NULL ||
	    pthread_create(&rs.thread, NULL, root_server_thread, &rs) != 0) {
		log_error("root process: cannot start");
		kill(api, SIGKILL);
		reap(api, 0);
		priv_server_free(rs.srv);
		priv_events_root_free(root.events);
		root_free(&root);
		return 1;
	}
	priv_events_root_sink(root.events, &sink);
	if (cfg->events && (ce = ctl_events_start_sink(cfg->occtl_socket, &sink, &ei)) == NULL)
		log_warning("ocserv events subscription not started: %s", ei.detail);
	if (!wait_ready(ready_fd)) {
		int status = reap(api, 2000);

		log_error("the api process did not start (%s %d)",
			  WIFEXITED(status) ? "exit" : "signal",
			  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	} else {
		log_notice("api process pid=%d serves as %s", (int)api, cfg->agent_user);
		sd_notify(0, "READY=1");
		r = root_loop(cfg, &rs, api, set);
	}
	ctl_events_stop(ce);
	/* The api process is gone: its end is closed, the server returns. */
	shutdown(fd, SHUT_RDWR);
	pthread_join(rs.thread, NULL);
	priv_server_free(rs.srv);
	priv_events_root_free(root.events);
	close(fd);
	root_free(&root);
	unlink(cfg->hook_socket);
	return r;
}

static int run_privsep(const struct agent_config *cfg, const sigset_t *set)
{
	struct privsep_user u;
	struct tls_files f = {0};
	struct agent ag = {0};
	struct err_info ei = {{0}};
	char api_dir[4096];
	int fd, ready[2], r;
	pid_t root_pid = getpid(), pid;

	if (privsep_lookup(cfg->agent_user, &u, &ei) < 0 || tls_files_load(cfg, &f, &ei) < 0) {
		log_error("%s", ei.detail);
		return 1;
	}
	if (instance_init(&ag, cfg) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
		tls_files_free(&f);
		return 1;
	}
	if (privsep_state_dir(cfg->state_dir, &u, api_dir, sizeof(api_dir), &ei) < 0) {
		log_warning("revoked sessions kept in memory only: %s", ei.detail);
		api_dir[0] = '\0';
	}
	if ((pid = privsep_fork(&fd, &ei)) < 0) {
		log_error("%s", ei.detail);
		tls_files_free(&f);
		return 1;
	}
	if (pid == 0) {
		close(ready[0]);
		r = api_main(cfg, &ag, fd, root_pid, &u, api_dir[0] ? api_dir : NULL, &f, ready[1],
			     set);
		agent_free(&ag);
		tls_files_free(&f);
		return r;
	}
	close(ready[1]);
	tls_files_free(&f);
	r = root_main(cfg, fd, pid, ready[0], set);
	close(ready[0]);
	return r;
}

/* --priv-serve-fd N: only the root side, on an inherited socket (tests
 * speak the protocol to it directly). */
static int run_priv_serve(const struct agent_config *cfg, int fd)
{
	struct priv_root root;
	struct priv_server *srv;
	struct err_info ei = {{0}};
	int r;

	if (root_init(&root, cfg) < 0 || (srv = priv_server_new(fd, &root)) == NULL)
		return 1;
	r = priv_server_run(srv, &ei);
	if (r < 0)
		log_error("priv-serve: %s", ei.detail);
	priv_server_free(srv);
	root_free(&root);
	return r < 0 ? 1 : 0;
}

/* --check-config: the settings, and the certificate files they name (a
 * key others may read is refused here too, not only at start). */
static int check_config(struct agent_config *cfg)
{
	struct tls_files f;
	struct err_info ei = {{0}};
	int r = tls_files_load(cfg, &f, &ei);

	tls_files_free(&f);
	if (r < 0)
		fprintf(stderr, "ocserv-agent: configuration error: %s\n", ei.detail);
	else
		config_print(cfg, stdout);
	config_free(cfg);
	return r < 0 ? 1 : 0;
}

static bool want_privsep(const struct agent_config *cfg)
{
	if (cfg->privsep == PRIVSEP_OFF)
		return false;
	return cfg->privsep == PRIVSEP_ON || geteuid() == 0;
}

int main(int argc, char **argv)
{
	struct cli cli = {.priv_fd = -1};
	struct agent_config cfg;
	char err[512];
	sigset_t set;
	int r;

	/* ocserv's connect/disconnect-script: no configuration, no daemon. */
	if (argc >= 2 && strcmp(argv[1], "hook") == 0)
		return hook_main(argc - 1, argv + 1);
	r = parse_cli(argc, argv, &cli);
	if (r >= 0)
		return r;
	log_init();
	secmem_init_json();
	if (config_load(&cfg, cli.env_file, err, sizeof(err)) < 0) {
		fprintf(stderr, "ocserv-agent: configuration error: %s\n", err);
		return 1;
	}
	if (cli.check_config)
		return check_config(&cfg);
	if (request_id_init() < 0) {
		log_error("no randomness from the kernel");
		config_free(&cfg);
		return 1;
	}
	block_signals(&set);
	if (cli.priv_fd >= 0)
		r = run_priv_serve(&cfg, cli.priv_fd);
	else if (cfg.privsep == PRIVSEP_ON && geteuid() != 0)
		r = (log_error("AGENT_PRIVSEP=on needs the agent to start as root"), 1);
	else if (want_privsep(&cfg)) {
		/* The root process runs occtl, ocserv -t and systemctl itself. */
		if (cfg.occtl_use_sudo)
			log_notice("OCCTL_USE_SUDO ignored: the root process needs no sudo");
		cfg.occtl_use_sudo = false;
		r = run_privsep(&cfg, &set);
	} else
		r = run_one_process(&cfg, &set);
	config_free(&cfg);
	return r;
}
