/* ocserv-agent: a control-plane REST daemon beside the ocserv VPN server. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "priv_ops.h"
#include "request_id.h"
#include "revoke.h"
#include "secmem.h"
#include "timefmt.h"
#include "tls.h"

#define WORKER_THREADS 8u
/* In-flight requests may be waiting on occtl: give them its timeout. */
#define SHUTDOWN_GRACE_EXTRA_MS 2000u

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ocserv-agent [OPTIONS]\n"
		"       ocserv-agent hook [--socket PATH]   (ocserv's connect/disconnect-script)\n"
		"REST control-plane agent for the ocserv VPN server.\n\n"
		"  --env-file PATH   read KEY=VALUE settings from PATH (environment wins)\n"
		"  --check-config    validate the configuration, print it without secrets, exit\n"
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
		"EVENTS_MAX_SUBSCRIBERS, EVENTS_HEARTBEAT_MS, EVENTS_USAGE_WAIT_MS.\n"
		"See docs/operations.md.\n");
}

struct cli {
	const char *env_file;
	bool check_config;
};

/* Returns -1 to continue, else the exit code. */
static int parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{"env-file", required_argument, NULL, 'e'},
		{"check-config", no_argument, NULL, 'c'},
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
	if (!cfg->events)
		return 0;
	ag->ctl_events = ctl_events_start(cfg->occtl_socket, ag->events, &ei);
	if (ag->ctl_events == NULL)
		log_warning("ocserv events subscription not started: %s", ei.detail);
	return 0;
}

static struct priv_root priv_root;

static int agent_init(struct agent *ag, const struct agent_config *cfg)
{
	struct err_info ei = {{0}};

	memset(ag, 0, sizeof(*ag));
	ag->cfg = cfg;
	timefmt_now_iso8601(ag->started_at, sizeof(ag->started_at));
	if (gethostname(ag->hostname, sizeof(ag->hostname) - 1) < 0)
		strcpy(ag->hostname, "unknown");
	if (instance_id_load(cfg->state_dir, ag->instance_id, &ag->instance_persisted, &ei) < 0) {
		log_error("cannot generate an instance id: %s", ei.detail);
		return -1;
	}
	if (!ag->instance_persisted)
		log_warning("instance id not persisted (fresh id each start): %s", ei.detail);
	else if (ei.detail[0] != '\0')
		log_warning("instance id: %s", ei.detail);
	ag->oc = backend_new(cfg);
	ag->terminate.revoked = revoke_new();
	ag->auth_fails = ratelimit_new(cfg->auth_fail_limit, cfg->auth_fail_window_ms);
	if (ag->oc == NULL || ag->terminate.revoked == NULL || ag->auth_fails == NULL) {
		log_error("out of memory");
		return -1;
	}
	ocserv_set_cache(ag->oc, cfg->cache_ms);
	priv_root.cfg = cfg;
	priv_root.oc = ag->oc;
	priv_root.accounts.path = cfg->ocpasswd_path;
	priv_root.accounts.lock_wait_ms = ACCOUNTS_LOCK_WAIT_MS;
	ocpasswd_scheme_parse(cfg->ocpasswd_hash, &priv_root.accounts.scheme);
	ag->priv = priv_local_new(&priv_root);
	if (ag->priv == NULL) {
		log_error("out of memory");
		return -1;
	}
	ag->terminate.oc = ag->oc;
	ag->accounts.path = cfg->ocpasswd_path;
	ag->accounts.lock_wait_ms = ACCOUNTS_LOCK_WAIT_MS;
	ocpasswd_scheme_parse(cfg->ocpasswd_hash, &ag->accounts.scheme); /* validated by config */
	if (ag->instance_persisted &&
	    revoke_persist(ag->terminate.revoked, cfg->state_dir, (int64_t)time(NULL), &ei) < 0)
		log_warning("revoked sessions kept in memory only: %s", ei.detail);
	ag->terminate.conf_path = cfg->ocserv_conf_path;
	if (events_init(ag, cfg) < 0)
		return -1;
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
	ctl_events_stop(ag->ctl_events);
	event_hub_free(ag->events);
	revoke_free(ag->terminate.revoked);
	ocserv_free(ag->oc);
	priv_free(ag->priv);
	ratelimit_free(ag->auth_fails);
}

/* Block the signals we handle so every thread inherits the mask, and wait
 * for them synchronously in the main thread. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The transport's options from cfg; tls (loaded by the caller) may be zeroed:
 * plain HTTP. */
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

/* SIGHUP: read the certificate files again and give them to the server;
 * on any problem the old ones stay. */
static void reload_tls(struct http_server *srv, const struct agent_config *cfg)
{
	struct tls_files f;
	struct http_tls_material m;
	struct err_info ei = {{0}};

	if (cfg->tls_cert == NULL) {
		log_info("SIGHUP: no TLS configured; nothing to reload");
		return;
	}
	if (tls_files_load(cfg, &f, &ei) < 0) {
		log_error("SIGHUP: certificates not reloaded, the old ones stay: %s", ei.detail);
		return;
	}
	tls_files_material(&f, &m);
	if (http_server_set_tls(srv, &m, &ei) < 0)
		log_error("SIGHUP: certificates not reloaded, the old ones stay: %s", ei.detail);
	else
		log_notice("SIGHUP: certificate and key reloaded from %s", cfg->tls_cert);
	tls_files_free(&f);
}

static int serve(struct agent *ag, const struct agent_config *cfg, const sigset_t *set)
{
	struct http_server_options ho;
	struct http_tls_material m;
	struct tls_files f;
	struct err_info ei = {{0}};
	struct http_server *srv;
	int sig = 0;

	if (tls_files_load(cfg, &f, &ei) < 0) {
		log_error("%s", ei.detail);
		return 1;
	}
	tls_files_material(&f, &m);
	http_options(cfg, &m, -1, &ho);
	srv = http_server_start(&ho, api_handle, ag, &ei);
	tls_files_free(&f);
	if (srv == NULL) {
		log_error("%s", ei.detail);
		return 1;
	}
	ag->http = srv;
	log_notice("started version=%s host=%s port=%u tls=%s auth=%s instance_id=%s backend=%s",
		   AGENT_VERSION, cfg->host, cfg->port, cfg->tls_cert ? "on" : "off",
		   config_auth_mode_name(cfg->auth_mode), ag->instance_id,
		   ocserv_backend_name(ag->oc));
	sd_notify(0, "READY=1");
	while (sig != SIGTERM && sig != SIGINT) {
		if (sigwait(set, &sig) != 0)
			break;
		if (sig == SIGHUP)
			reload_tls(srv, cfg);
	}
	sd_notify(0, "STOPPING=1");
	log_notice("stopping signal=%d", sig);
	http_server_stop(srv, cfg->occtl_timeout_ms + SHUTDOWN_GRACE_EXTRA_MS);
	ag->http = NULL;
	log_notice("stopped");
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli = {0};
	struct agent_config cfg;
	struct agent ag;
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
	if (cli.check_config) {
		config_print(&cfg, stdout);
		config_free(&cfg);
		return 0;
	}
	if (request_id_init() < 0) {
		log_error("no randomness from the kernel");
		config_free(&cfg);
		return 1;
	}
	block_signals(&set);
	r = agent_init(&ag, &cfg) < 0 ? 1 : serve(&ag, &cfg, &set);
	agent_free(&ag);
	config_free(&cfg);
	return r;
}
