#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "timefmt.h"

static bool use_journal;

/* True when stderr is the journal stream systemd announced: $JOURNAL_STREAM
 * is "DEV:INODE" of that stream, and is inherited by children whose stderr
 * may point elsewhere, so the variable alone proves nothing. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(void)
{
	/* sd_journal_send() drops messages silently without journald, so only
	 * use it when systemd connected our stderr to the journal. */
	use_journal = stderr_is_journal();
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

char *log_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[5];
		size_t n;

		if (c == '"' || c == '\\')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		else
			n = (size_t)snprintf(tmp, sizeof(tmp), "%c", c);
		if (o + n >= len)
			break;
		memcpy(buf + o, tmp, n);
		o += n;
	}
	buf[o] = '\0';
	return buf;
}
