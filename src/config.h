/* The agent's configuration: environment variables, optionally backed by an
 * env file of KEY=VALUE lines (real environment variables win).
 *
 * Names are those of the original agent's /etc/ocserv-agent.env so an
 * existing file keeps working. Every value is validated at load time; an
 * invalid one is a startup error naming the variable. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "strv.h"

/* How bearer tokens and client certificates combine (AGENT_AUTH_MODE). */
enum auth_mode {
	AUTH_MODE_TOKEN,  /* a bearer token; certificates are not asked for */
	AUTH_MODE_MTLS,	  /* a valid, allowed client certificate; no token needed */
	AUTH_MODE_BOTH,	  /* both */
	AUTH_MODE_EITHER, /* one of them (the default with AGENT_TLS_CLIENT_CA) */
};

/* Whether the agent splits into a root and an unprivileged api process. */
enum privsep_mode {
	PRIVSEP_AUTO, /* on when started as root */
	PRIVSEP_ON,   /* required: refuse to start unless root */
	PRIVSEP_OFF,  /* one process, whatever its user (the sudo mode of the runbook) */
};

struct agent_config {
	char *host;			  /* AGENT_HOST: IPv4/IPv6 literal to bind */
	unsigned port;			  /* AGENT_PORT */
	char *token_current;		  /* AGENT_AUTH_TOKEN_CURRENT or the content of
					     AGENT_AUTH_TOKEN_CURRENT_FILE, trimmed; required
					     unless auth_mode is mtls (then may be NULL) */
	char *token_previous;		  /* AGENT_AUTH_TOKEN_PREVIOUS(_FILE) or NULL */
	char *occtl_path;		  /* OCCTL_PATH, absolute */
	unsigned occtl_timeout_ms;	  /* OCCTL_TIMEOUT_MS */
	bool occtl_use_sudo;		  /* OCCTL_USE_SUDO */
	char *occtl_socket;		  /* OCCTL_SOCKET or NULL: passed as occtl -s */
	char *radius_conf_path;		  /* RADIUSCLIENT_CONF_PATH */
	char *radius_servers_path;	  /* RADIUS_SERVERS_PATH or NULL when not set */
	char *state_dir;		  /* AGENT_STATE_DIR */
	char *ocserv_conf_path;		  /* OCSERV_CONF_PATH */
	char *ocserv_path;		  /* OCSERV_PATH: the ocserv binary, for `ocserv -t` */
	unsigned ocserv_check_timeout_ms; /* OCSERV_CHECK_TIMEOUT_MS */
	char *ocserv_unit;		  /* OCSERV_UNIT: systemd unit name */
	char *systemctl_path;		  /* SYSTEMCTL_PATH */
	unsigned systemctl_timeout_ms;	  /* SYSTEMCTL_TIMEOUT_MS */
	char *openconnect_path;		  /* OPENCONNECT_PATH, for the tier-3 login probe */
	char *probe_user;		  /* AGENT_PROBE_USER or NULL: no tier-3 probe */
	char *probe_password;		  /* AGENT_PROBE_PASSWORD (secret) */
	char *probe_host;		  /* AGENT_PROBE_HOST: where the probe connects */
	unsigned probe_timeout_ms;	  /* AGENT_PROBE_TIMEOUT_MS */
	char *hook_socket;		  /* AGENT_HOOK_SOCKET: unix socket of the ocserv hook */
	char *ocpasswd_path;		  /* OCPASSWD_PATH: the plain-auth password file */
	char *ocpasswd_hash;		  /* OCPASSWD_HASH: "sha512" or "yescrypt" */
	char *backend;			  /* OCSERV_BACKEND: "auto", "ctl" or "occtl" */
	unsigned cache_ms;		  /* OCSERV_CACHE_MS: read cache, 0 = off */
	bool events;			  /* OCSERV_EVENTS: subscribe to ocserv's events */
	unsigned events_buffer;		  /* EVENTS_BUFFER: events kept for replay */
	unsigned events_max_subscribers;  /* EVENTS_MAX_SUBSCRIBERS */
	unsigned events_heartbeat_ms;	  /* EVENTS_HEARTBEAT_MS */
	unsigned events_usage_wait_ms;	  /* EVENTS_USAGE_WAIT_MS */
	char *conf_backup_dir;		  /* OCSERV_CONF_BACKUP_DIR: backups of ocserv.conf */
	unsigned conf_backup_keep;	  /* OCSERV_CONF_BACKUP_KEEP: backups kept */
	unsigned conf_verify_timeout_ms;  /* OCSERV_CONF_VERIFY_TIMEOUT_MS: ocserv answers */
	unsigned conf_verify_settle_ms;	  /* OCSERV_CONF_VERIFY_SETTLE_MS: and stays up */
	char *conf_verify_command;	  /* OCSERV_CONF_VERIFY_COMMAND or NULL: the
					     operator's own check after a change */
	/* HTTPS and client certificates. The files are read by the root
	 * process (tls.h), at start and on SIGHUP. */
	char *tls_cert;			/* AGENT_TLS_CERT (PEM) or NULL: plain HTTP */
	char *tls_key;			/* AGENT_TLS_KEY (PEM); set exactly when tls_cert is */
	char *tls_client_ca;		/* AGENT_TLS_CLIENT_CA (PEM) or NULL: no client certs */
	struct strv tls_client_allowed; /* AGENT_TLS_CLIENT_ALLOWED: subject CNs and
					   "sha256:" + 64 lowercase hex pins of the
					   certificate (DER); empty: any cert of the CA */
	char *tls_priorities;		/* AGENT_TLS_PRIORITIES: GnuTLS priority string */
	enum auth_mode auth_mode;	/* AGENT_AUTH_MODE (default: either with a client CA,
				      else token) */
	/* Privilege separation (privsep.h). */
	enum privsep_mode privsep; /* AGENT_PRIVSEP */
	char *agent_user;	   /* AGENT_USER: the api process's user */
	bool seccomp;		   /* AGENT_SECCOMP: the api process's syscall filter */
	/* Abuse limits (ratelimit.h, http_server.h). */
	unsigned auth_fail_limit;	 /* AGENT_AUTH_FAIL_LIMIT: failed authentications
					    per client address per window */
	unsigned auth_fail_window_ms;	 /* AGENT_AUTH_FAIL_WINDOW_MS */
	unsigned max_connections;	 /* AGENT_MAX_CONNECTIONS */
	unsigned max_connections_per_ip; /* AGENT_MAX_CONNECTIONS_PER_IP */
	unsigned max_header_bytes;	 /* AGENT_MAX_HEADER_BYTES: request line and headers */
	unsigned max_body_bytes;	 /* AGENT_MAX_BODY_BYTES */
	unsigned max_json_depth;	 /* AGENT_MAX_JSON_DEPTH */
};

/* GnuTLS priorities by default: TLS 1.3 and 1.2 only, AEAD ciphers, the
 * server's order. */
#define CONFIG_TLS_PRIORITIES                                                     \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:" \
	"+AES-128-GCM:+CHACHA20-POLY1305:%SERVER_PRECEDENCE"

/* Load and validate. env_file may be NULL. On failure returns a negative
 * ERR_* value, writes a one-line reason naming the variable (or the env file
 * line) into errbuf and leaves cfg empty. On success the caller owns cfg and
 * releases it with config_free(). */
int config_load(struct agent_config *cfg, const char *env_file, char *errbuf, size_t errlen);

/* Print the effective configuration as KEY=VALUE lines; secrets are replaced
 * by "(set)"/"(unset)". */
void config_print(const struct agent_config *cfg, FILE *out);

/* The name of an auth mode ("token", ...). */
const char *config_auth_mode_name(enum auth_mode m);

/* Free every member (tokens are wiped first) and zero cfg. NULL is fine. */
void config_free(struct agent_config *cfg);

/* Parse a boolean as the agent accepts it: true/false, 1/0, yes/no, any
 * case. Returns 0 and sets *ret, or ERR_BAD_REQUEST. */
int config_parse_bool(const char *s, bool *ret);
