/* OCSERV_BACKEND=auto: the native control socket when it answers, else
 * occtl exec (an agent that is not root cannot use the socket, which only
 * serves uid 0; sudo occtl still works).
 *
 * The choice is made by a probe (ctl_probe()) at the first call and
 * re-made: a call on ctl that fails with ERR_UNREACHABLE (the socket could
 * not be connected to, so nothing was sent: safe for writes too) is made
 * again on occtl, and ctl is probed again at most every AUTO_REPROBE_MS
 * while occtl is in use. Every other result of ctl (including timeouts and
 * NOT_SUPPORTED) is an answer and returned as it is. */
#pragma once

#include <stdbool.h>

#include "err.h"
#include "ocserv.h"

#define AUTO_REPROBE_MS 5000

/* Is the socket usable now? (ctl_probe() in the agent; a fake in tests.) */
typedef bool auto_probe_fn(void *arg, struct err_info *ei);

/* A struct ocserv that delegates to ctl or occtl; takes ownership of both
 * (freed with it). probe_arg must outlive it. NULL on ENOMEM, or when ctl
 * or occtl is NULL (so that two constructors' results can be passed
 * directly: the other one is freed). ocserv_backend_name() is "auto";
 * ocserv_backend_in_use() says which one serves calls now (before any
 * call it probes, as the first call would). The probe runs under the
 * backend's lock, so concurrent first calls probe once; each switch is
 * logged once, not each call. Coalescing applies to the struct returned
 * (ocserv_set_cache() on it); ctl and occtl keep their own defaults. */
struct ocserv *backend_auto_new(struct ocserv *ctl, struct ocserv *occtl, auto_probe_fn *probe,
				void *probe_arg);

/* The same with another re-probe interval (tests). */
struct ocserv *backend_auto_new_reprobe(struct ocserv *ctl, struct ocserv *occtl,
					auto_probe_fn *probe, void *probe_arg, unsigned reprobe_ms);
