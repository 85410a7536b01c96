#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>

#include "timefmt.h"

static bool use_journal;

void log_init(void)
{
	/* sd_journal_send() drops messages silently without journald, so only
	 * use it when systemd connected our stderr to the journal. */
	use_journal = getenv("JOURNAL_STREAM") != NULL;
}

static const char *level_name(int prio)
{
	static const char *names[] = {"emerg",	 "alert",  "crit", "error",
				      "warning", "notice", "info", "debug"};
	return prio >= 0 && prio <= LOG_DEBUG ? names[prio] : "info";
}

void log_msg(int prio, const char *request_id, const char *fmt, ...)
{
	char msg[2048], now[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (use_journal) {
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, "REQUEST_ID=%s",
				request_id ? request_id : "", "SYSLOG_IDENTIFIER=ocserv-agent",
				NULL);
		return;
	}
	timefmt_now_iso8601(now, sizeof(now));
	if (request_id != NULL)
		fprintf(stderr, "%s %s [%s] %s\n", now, level_name(prio), request_id, msg);
	else
		fprintf(stderr, "%s %s %s\n", now, level_name(prio), msg);
}
