/* The configuration check that must pass before anything makes ocserv
 * re-read its configuration: `ocserv -t -c FILE`. A reload (SIGHUP, occtl
 * reload, systemctl reload) with a file ocserv cannot parse makes ocserv
 * exit and takes the whole VPN down (OCSERV-FACTS.md). The check misses bad
 * values (routes, ports, ...): it is necessary, not sufficient. */
#pragma once

#include "config.h"
#include "err.h"

#define CONF_CHECK_MAX_OUTPUT (64u * 1024)

struct conf_check_result {
	char *output;	 /* what the checker printed (stdout and stderr), NUL-terminated */
	int exit_status; /* 0 when the configuration passed */
};

/* Check the file at path with cfg's ocserv binary (through `sudo -n` when
 * cfg->occtl_use_sudo: it reads root-only keys and certificates), bounded
 * by cfg->ocserv_check_timeout_ms. Returns 0 when it passed,
 * ERR_CONFIG_INVALID when ocserv rejected it, ERR_CHECK_FAILED when the
 * checker could not give a verdict (missing, timed out, too much output);
 * detail in ei. res is filled in every case but
 * ERR_NOMEM; the caller frees it with conf_check_result_free(). */
int conf_check_file(const struct agent_config *cfg, const char *path, struct conf_check_result *res,
		    struct err_info *ei);

/* conf_check_file() of cfg->ocserv_conf_path. */
int conf_check_run(const struct agent_config *cfg, struct conf_check_result *res,
		   struct err_info *ei);

/* The checker's most telling line (the first one naming an error, else the
 * last non-empty line), copied into buf. */
const char *conf_check_summary(const struct conf_check_result *res, char *buf, size_t len);

void conf_check_result_free(struct conf_check_result *res);
