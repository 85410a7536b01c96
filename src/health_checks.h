/* The deeper health checks behind GET /ocserv/health?tier=2 and tier=3.
 *
 * Each check is one JSON object {name, ok, detail, ...typed members}; detail
 * is a short human sentence meant for the API client (never a secret, never
 * a subprocess's raw output: that goes to the log). A check that does not
 * apply here says so with ok:true and skipped:true. The checks only read:
 * ocserv.conf, the certificate, /proc and filesystem sizes; the tier-3 login
 * runs openconnect --authenticate (no tunnel) against ocserv.
 *
 * /proc/net describes the network namespace of the *agent*: the port checks
 * see ocserv's sockets only when the agent runs in ocserv's namespace (the
 * normal install, and the test lab, which starts the agent inside it). Unix
 * sockets are listed per namespace too.
 *
 * The checks read /proc through in->proc ("/proc"; tests point it at a
 * fixture tree). Every function returning json_t * returns a new reference,
 * or NULL when out of memory. All are thread-safe; the login probe runs one
 * openconnect at a time for the whole process. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "ocserv_conf.h"

/* The certificate check fails this many days before notAfter. */
#define HEALTH_CERT_MIN_DAYS 7
/* A filesystem is low on space when *both* hold: less than this many bytes
 * and less than this percentage free (so neither a small /var/log tmpfs nor
 * a multi-terabyte disk is reported for no reason). */
#define HEALTH_DISK_MIN_BYTES	(100ull * 1024 * 1024)
#define HEALTH_DISK_MIN_PERCENT 5
/* The agent idles at a few MB and stays near 30 MB with 1000 event streams. */
#define HEALTH_RSS_MAX (256ll * 1024 * 1024)
/* The second filesystem whose free space is checked. */
#define HEALTH_LOG_DIR "/var/log"
/* The default of occtl-socket-file, which occtl also uses without -s. */
#define HEALTH_OCCTL_SOCKET_DEFAULT "/var/run/occtl.socket"

/* What every check may consult; borrowed, nothing here is freed by the
 * checks. health_run() fills conf and conf_error itself from
 * cfg->ocserv_conf_path; the single checks take them from here: conf NULL
 * means ocserv.conf could not be read, and conf_error then says why. */
struct health_input {
	const struct agent_config *cfg;
	const struct ocserv_conf *conf;
	const char *conf_error;
	const char *proc;	/* "/proc" */
	const char *request_id; /* for the log lines of the login probe */
	time_t now;
	/* The tier-1 `show status` result: status (normalised, see status.h)
	 * when status_err is 0, else the ERR_* value of the failure. */
	const json_t *status;
	int status_err;
};

/* Read ocserv.conf, then run the tier-2 checks (and with tier 3 the login
 * probe) in a fixed order. Returns the array of check objects (the caller
 * owns it) and sets *all_ok to whether every one is ok; NULL when out of
 * memory. Logs, under in->request_id, what the answer leaves out: why
 * ocserv.conf could not be read, why a login probe failed. */
json_t *health_run(const struct health_input *in, int tier, bool *all_ok);

/* The checks, one by one (names as they appear in the response). */
json_t *health_check_process(const struct health_input *in);	    /* ocservProcess */
json_t *health_check_conf(const struct health_input *in);	    /* ocservConf */
json_t *health_check_port(const struct health_input *in, bool tcp); /* tcpListen, udpListen */
json_t *health_check_occtl_socket(const struct health_input *in);   /* occtlSocket */
json_t *health_check_certificate(const struct health_input *in);    /* certificate */
json_t *health_check_disk(const char *name, const char *path);	    /* stateDirDisk, logDirDisk */
json_t *health_check_memory(const struct health_input *in);	    /* agentMemory */
json_t *health_check_login(const struct health_input *in);	    /* login */

/* Parsing helpers, exposed for the unit tests. */

/* Whether one line of /proc/net/{tcp,tcp6,udp,udp6} is a socket bound to
 * port: a listening one for TCP, any for UDP. Header lines never match. */
bool health_proc_net_line(const char *line, bool tcp, unsigned port);

/* Scan a /proc/net file: 1 when a matching socket is there, 0 when not. */
int health_proc_net_scan(FILE *f, bool tcp, unsigned port);

/* Whether a /proc/net/unix line is a listening stream socket bound to path. */
bool health_proc_unix_line(const char *line, const char *path);

/* VmRSS of a /proc/PID/status text in bytes, or -1 when it has none. */
int64_t health_parse_vmrss(const char *status);

/* A port number as ocserv.conf may give it: 1-65535, else 0. */
unsigned health_parse_port(const char *value);

/* The free-space rule above. */
bool health_disk_low(uint64_t free_bytes, uint64_t total_bytes);
