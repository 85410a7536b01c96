/* The one logging facility.
 *
 * Messages go to journald (with a REQUEST_ID= field when given) when the agent
 * runs under systemd with its stderr connected to the journal, else to stderr
 * as one line each: "<ISO time> <level> [<request id>] message". Message text
 * is formatted as key=value pairs by convention. Thread-safe.
 * Never pass tokens, passwords or RADIUS secrets. */
#pragma once

#include <stddef.h>
#include <syslog.h>

/* Choose the sink. Call once before starting threads; logging before it goes
 * to stderr. */
void log_init(void);

/* Log at syslog priority prio. request_id may be NULL. */
void log_msg(int prio, const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* s made safe to print inside "..." of a log line: '"' and '\\' escaped,
 * control bytes as \\xHH, cut to fit len (at least 1). Returns buf. Values a
 * client or a VPN user chose (user names) go through it, so that they
 * cannot forge fields of an audit line. */
char *log_quote(const char *s, char *buf, size_t len);

#define log_error(...)	 log_msg(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...)	 log_msg(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...)	 log_msg(LOG_INFO, NULL, __VA_ARGS__)
