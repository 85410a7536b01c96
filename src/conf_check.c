#include "conf_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "subprocess.h"

int conf_check_file(const struct agent_config *cfg, const char *path, struct conf_check_result *res,
		    struct err_info *ei)
{
	const char *cmd[] = {cfg->ocserv_path, "-t", "-c", path, NULL};
	const char *argv[8];
	struct spawn_result sr;
	int r;

	memset(res, 0, sizeof(*res));
	res->exit_status = -1;
	if (spawn_build_argv(cfg->occtl_use_sudo ? SPAWN_SUDO_PATH : NULL, cmd, argv, 8) < 0)
		return err_set(ei, ERR_INTERNAL, "checker command line too long");
	r = spawn_run((char *const *)argv, cfg->ocserv_check_timeout_ms, CONF_CHECK_MAX_OUTPUT, &sr,
		      ei);
	if (r < 0)
		return r;
	/* ocserv prints its verdict on stderr and the parsed settings on stdout. */
	if (asprintf(&res->output, "%s%s%s", sr.err, sr.err[0] && sr.out_len ? "\n" : "",
		     sr.out ? sr.out : "") < 0) {
		res->output = NULL;
		spawn_result_free(&sr);
		return err_set(ei, ERR_NOMEM, "out of memory");
	}
	if (sr.outcome == SPAWN_EXITED)
		res->exit_status = sr.exit_status;
	switch (sr.outcome) {
	case SPAWN_EXITED:
		if (sr.exit_status == 0)
			r = 0;
		else if (cfg->occtl_use_sudo && strncmp(sr.err, "sudo:", 5) == 0)
			/* sudo refused (no rule for this file): no verdict on it. */
			r = err_set(ei, ERR_CHECK_FAILED, "%s", sr.err);
		else
			r = err_set(ei, ERR_CONFIG_INVALID, "%s -t -c %s exited %d",
				    cfg->ocserv_path, path, sr.exit_status);
		break;
	case SPAWN_NOT_FOUND:
		r = err_set(ei, ERR_CHECK_FAILED, "cannot execute %s", argv[0]);
		break;
	case SPAWN_TIMED_OUT:
		r = err_set(ei, ERR_CHECK_FAILED, "%s -t: no answer within %u ms", cfg->ocserv_path,
			    cfg->ocserv_check_timeout_ms);
		break;
	case SPAWN_OUTPUT_TOO_LARGE:
		r = err_set(ei, ERR_CHECK_FAILED, "%s -t: output larger than %u bytes",
			    cfg->ocserv_path, CONF_CHECK_MAX_OUTPUT);
		break;
	}
	spawn_result_free(&sr);
	return r;
}

int conf_check_run(const struct agent_config *cfg, struct conf_check_result *res,
		   struct err_info *ei)
{
	return conf_check_file(cfg, cfg->ocserv_conf_path, res, ei);
}

const char *conf_check_summary(const struct conf_check_result *res, char *buf, size_t len)
{
	const char *p = res->output ? res->output : "", *last = NULL, *err = NULL;
	size_t last_len = 0, err_len = 0;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		if (n > 0 && err == NULL &&
		    (strncasecmp(p, "error", 5) == 0 || memmem(p, n, "error", 5) != NULL)) {
			err = p;
			err_len = n;
		}
		if (n > 0) {
			last = p;
			last_len = n;
		}
		p += n + (p[n] == '\n');
	}
	if (err != NULL) {
		last = err;
		last_len = err_len;
	}
	snprintf(buf, len, "%.*s", last ? (int)last_len : 0, last ? last : "");
	return buf;
}

void conf_check_result_free(struct conf_check_result *res)
{
	free(res->output);
	res->output = NULL;
}
