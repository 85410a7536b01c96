/* Control of ocserv's systemd unit through systemctl: the command lines,
 * running them, and reading `systemctl show`. Nothing HTTP.
 *
 * Actions run as `[sudo -n] SYSTEMCTL start|stop|restart|reload UNIT`,
 * exactly the lines dist/install.sh allows in its sudoers rule. systemctl
 * waits for the job, so on success the unit has reached its new state. The
 * state is read with `SYSTEMCTL show --property=... UNIT`, never through
 * sudo: anyone may read a unit's properties.
 *
 * Every call first checks that systemd is running (the test of
 * sd_booted(): the directory /run/systemd/system exists) and otherwise fails
 * with ERR_SYSTEMD_UNAVAILABLE before running anything. Every other failure
 * is ERR_SERVICE_FAILED: systemctl missing, exiting non-zero, killed at the
 * deadline (its process group, sudo included; systemd may still finish a
 * job it had queued), printing more than SERVICE_MAX_OUTPUT, or printing
 * what we cannot parse. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "err.h"

#define SERVICE_SYSTEMD_DIR "/run/systemd/system"
#define SERVICE_MAX_OUTPUT  (64u * 1024)
#define SERVICE_MAX_ARGV    8
#define SERVICE_STATE_MAX   48 /* bytes of one state word, with its NUL */

enum service_action {
	SERVICE_START,
	SERVICE_STOP,
	SERVICE_RESTART,
	SERVICE_RELOAD,
};

struct service_options {
	const char *systemctl;	 /* absolute path of systemctl */
	const char *unit;	 /* a unit name config.c validated: never starts with '-' */
	const char *sudo;	 /* actions run as `sudo -n systemctl ...` with this sudo;
				    NULL: systemctl directly */
	unsigned timeout_ms;	 /* deadline of each systemctl run */
	const char *systemd_dir; /* exists while systemd runs; NULL: SERVICE_SYSTEMD_DIR */
};

/* The unit as `systemctl status` would describe it. The state words are
 * systemd's own ("active", "running", "enabled", "loaded", ...); "" when
 * systemctl printed none. */
struct service_state {
	char load_state[SERVICE_STATE_MAX];
	char active_state[SERVICE_STATE_MAX];
	char sub_state[SERVICE_STATE_MAX];
	char unit_file_state[SERVICE_STATE_MAX];
	int64_t main_pid; /* 0: no main process */
	/* CLOCK_MONOTONIC µs when the unit entered its current active state
	 * (the time `systemctl status` prints after "since"); 0: unknown. */
	uint64_t since_mono_us;
	char since[32]; /* the same as ISO-8601 UTC, or "" (service_show fills it) */
};

/* Why a call failed: message is for the client (what was run and what
 * happened), ei->detail for the log only (with systemctl's own words). */
struct service_error {
	char message[160];
	struct err_info ei;
};

/* Options for the agent's configuration: pointers into cfg, which must
 * outlive o. sudo is SPAWN_SUDO_PATH when OCCTL_USE_SUDO is set ("use sudo
 * -n for privileged programs"). */
void service_options_from_config(const struct agent_config *cfg, struct service_options *o);

/* "start" → SERVICE_START etc. Returns 0, or ERR_NOT_FOUND for any other
 * text (the API answers an unknown action like an unknown path). */
int service_action_parse(const char *name, enum service_action *ret);
const char *service_action_name(enum service_action a);

/* Whether the action makes ocserv read its configuration (start, restart,
 * reload): a broken one stops it, so callers check the configuration first. */
bool service_action_reads_config(enum service_action a);

/* ERR_OK when systemd is running, else ERR_SYSTEMD_UNAVAILABLE with e filled. */
int service_check_systemd(const struct service_options *o, struct service_error *e);

/* Run the action and wait for systemd to finish its job. */
int service_run_action(const struct service_options *o, enum service_action a,
		       struct service_error *e);

/* Read the unit's state into *ret (untouched on failure). */
int service_show(const struct service_options *o, struct service_state *ret,
		 struct service_error *e);

/* Fill argv (at most max entries with the final NULL) with the command line
 * that runs systemctl with args (NULL-terminated), through sudo when
 * privileged and o->sudo is set. Pointers refer to o and args. Returns the
 * argument count or ERR_INTERNAL when it does not fit. */
int service_build_argv(const struct service_options *o, const char *const *args, bool privileged,
		       const char **argv, size_t max);

/* Parse the KEY=VALUE lines of `systemctl show` (len bytes, which may hold
 * NULs) into *ret, leaving ret->since empty. Unknown keys and empty lines
 * are skipped; a line without '=', a known key given twice, a value that is
 * not a plain word or number or longer than its field, and a missing
 * LoadState or ActiveState are errors (ERR_SERVICE_FAILED, detail in ei). */
int service_parse_show(const char *text, size_t len, struct service_state *ret,
		       struct err_info *ei);

/* ISO-8601 UTC of the CLOCK_MONOTONIC time mono_us, given the real and the
 * monotonic clock read at (nearly) the same moment. systemd records its
 * timestamps on both clocks but prints the real one only as local text; the
 * monotonic one is exact and does not depend on the time zone. Returns buf,
 * or NULL when mono_us is 0 or later than mono_now. */
char *service_mono_to_iso8601(uint64_t mono_us, const struct timespec *real_now,
			      const struct timespec *mono_now, char *buf, size_t len);
