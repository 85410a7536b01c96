#include "health_checks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include "cert_info.h"
#include "log.h"
#include "subprocess.h"
#include "timefmt.h"
#include "utf8.h"

#define DETAIL_MAX	 160
#define STATUS_FILE_MAX	 (64 * 1024) /* /proc/self/status is ~1.5 KiB */
#define PROBE_MAX_OUT	 (64 * 1024) /* openconnect --authenticate prints ~1 KiB */
#define UNIX_ACCEPTCON	 0x00010000  /* __SO_ACCEPTCON in /proc/net/unix Flags */
#define UNIX_SOCK_STREAM 1
#define TCP_STATE_LISTEN 0x0A

/* ---- building check objects ------------------------------------------- */

/* Paths and values from ocserv.conf or the environment may hold any bytes,
 * and a detail cut at its size limit may end inside a character: strings go
 * through utf8_json_string(), which never fails on bytes. */

static json_t *check(const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static json_t *check(const char *name, bool ok, const char *fmt, ...)
{
	char detail[DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return json_pack("{s:s,s:b,s:o}", "name", name, "ok", ok, "detail",
			 utf8_json_string(detail));
}

/* Add a member; on failure drop the whole check (the caller sees NULL, as
 * for any allocation failure). v is always consumed. */
static json_t *with(json_t *o, const char *key, json_t *v)
{
	if (o == NULL || json_object_set_new(o, key, v) < 0) {
		if (o == NULL)
			json_decref(v);
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *skipped(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static json_t *skipped(const char *name, const char *fmt, ...)
{
	char detail[DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return with(check(name, true, "%s", detail), "skipped", json_true());
}

static json_t *iso_or_null(time_t t)
{
	char buf[32];

	return timefmt_epoch_iso8601((int64_t)t, buf, sizeof(buf)) ? json_string(buf) : json_null();
}

/* "12.3 MiB", for details only (the typed members carry exact bytes). */
static const char *human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f %s", v, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

/* ---- ocserv process ------------------------------------------------------ */

/* The state letter of a process from PROC/PID/stat, '?' when it exists but
 * /proc hides it, 0 when it is gone. The packaged unit sets
 * ProtectProc=invisible, which hides root's ocserv-main from the agent's
 * user; kill(pid, 0) still tells (EPERM: it exists, it is not ours). */
static char proc_state(const char *proc, int64_t pid)
{
	char path[128], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%" PRId64 "/stat", proc, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pid <= INT_MAX && (kill((pid_t)pid, 0) == 0 || errno == EPERM) ? '?' : 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: the state
	 * follows the last ')'. */
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != '\0' ? p[2] : 0;
}

json_t *health_check_process(const struct health_input *in)
{
	const json_t *jpid = json_object_get(in->status, "serverPid");
	int64_t pid = json_is_integer(jpid) ? json_integer_value(jpid) : 0;
	char st;

	if (in->status_err != 0)
		return with(check("ocservProcess", false, "no status from ocserv: %s",
				  err_message(in->status_err)),
			    "pid", json_null());
	if (pid <= 0)
		return with(check("ocservProcess", false, "ocserv reported no server pid"), "pid",
			    json_null());
	st = proc_state(in->proc, pid);
	if (st == 0)
		return with(check("ocservProcess", false,
				  "pid %" PRId64 " is not running here (another pid namespace?)",
				  pid),
			    "pid", json_integer(pid));
	if (st == 'Z' || st == 'X')
		return with(check("ocservProcess", false, "pid %" PRId64 " has exited", pid), "pid",
			    json_integer(pid));
	return with(check("ocservProcess", true, "pid %" PRId64 " is running", pid), "pid",
		    json_integer(pid));
}

/* ---- ocserv.conf ------------------------------------------------------- */

json_t *health_check_conf(const struct health_input *in)
{
	json_t *o;

	if (in->conf == NULL)
		o = check("ocservConf", false, "%s",
			  in->conf_error ? in->conf_error : "ocserv.conf was not read");
	else if (ocserv_conf_bad_lines(in->conf) > 0)
		o = check("ocservConf", false,
			  "line %u is neither `key = value` nor a section: ocserv refuses the file",
			  ocserv_conf_first_bad_line(in->conf));
	else
		o = check("ocservConf", true, "%zu settings", ocserv_conf_size(in->conf));
	return with(o, "path", utf8_json_string(in->cfg->ocserv_conf_path));
}

/* ---- listening ports ------------------------------------------------------ */

unsigned health_parse_port(const char *value)
{
	char *end;
	long v;

	if (value == NULL)
		return 0;
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < 1 || v > 65535)
		return 0;
	return (unsigned)v;
}

bool health_proc_net_line(const char *line, bool tcp, unsigned port)
{
	char addr[33];
	unsigned lport, state;

	/* "  0: 0100007F:115B 00000000:0000 0A ..." (the address is 32 hex
	 * digits in the *6 files); the header line does not scan. */
	if (sscanf(line, " %*[0-9]: %32[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", addr, &lport,
		   &state) != 3)
		return false;
	return lport == port && (!tcp || state == TCP_STATE_LISTEN);
}

int health_proc_net_scan(FILE *f, bool tcp, unsigned port)
{
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	while (!found && getline(&line, &cap, f) > 0)
		found = health_proc_net_line(line, tcp, port);
	free(line);
	return found;
}

/* 1 when bound, 0 when not, -1 when neither file could be read. */
static int port_bound(const char *proc, bool tcp, unsigned port)
{
	static const char *const files[2][2] = {{"net/udp", "net/udp6"}, {"net/tcp", "net/tcp6"}};
	int read_any = 0;

	for (int i = 0; i < 2; i++) {
		char path[256];
		FILE *f;
		int r;

		snprintf(path, sizeof(path), "%s/%s", proc, files[tcp][i]);
		f = fopen(path, "re");
		if (f == NULL)
			continue; /* no tcp6 without IPv6 */
		read_any = 1;
		r = health_proc_net_scan(f, tcp, port);
		fclose(f);
		if (r)
			return 1;
	}
	return read_any ? 0 : -1;
}

json_t *health_check_port(const struct health_input *in, bool tcp)
{
	const char *name = tcp ? "tcpListen" : "udpListen", *key = tcp ? "tcp-port" : "udp-port";
	const char *proto = tcp ? "tcp" : "udp";
	const char *value = in->conf ? ocserv_conf_get(in->conf, key) : NULL;
	unsigned port = health_parse_port(value);
	json_t *o;
	int r;

	if (in->conf == NULL)
		o = check(name, false, "ocserv.conf was not read");
	else if (value == NULL && !tcp)
		o = skipped(name, "udp-port is not set: DTLS is off");
	else if (value == NULL)
		o = check(name, false, "tcp-port is not set in ocserv.conf");
	else if (port == 0)
		o = check(name, false, "%s '%.40s' is not a port number", key, value);
	else if ((r = port_bound(in->proc, tcp, port)) < 0)
		o = check(name, false, "cannot read %s/net/%s", in->proc, proto);
	else if (r == 0)
		o = check(name, false, "nothing %s port %u/%s in this network namespace",
			  tcp ? "listens on" : "is bound to", port, proto);
	else
		o = check(name, true, "port %u/%s is %s", port, proto, tcp ? "listening" : "bound");
	o = with(o, "proto", utf8_json_string(proto));
	return with(o, "port", port ? json_integer(port) : json_null());
}

/* ---- occtl socket -------------------------------------------------------- */

bool health_proc_unix_line(const char *line, const char *path)
{
	unsigned flags, type, state;
	int off = 0;

	/* "Num: RefCount Protocol Flags Type St Inode Path" */
	if (sscanf(line, "%*x: %*x %*x %x %x %x %*u %n", &flags, &type, &state, &off) != 3 ||
	    off == 0)
		return false;
	line += off;
	return (flags & UNIX_ACCEPTCON) && type == UNIX_SOCK_STREAM &&
	       strncmp(line, path, strlen(path)) == 0 &&
	       (line[strlen(path)] == '\n' || line[strlen(path)] == '\0');
}

static bool unix_listening(const char *proc, const char *path)
{
	char file[256], *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	snprintf(file, sizeof(file), "%s/net/unix", proc);
	f = fopen(file, "re");
	if (f == NULL)
		return false;
	while (!found && getline(&line, &cap, f) > 0)
		found = health_proc_unix_line(line, path);
	free(line);
	fclose(f);
	return found;
}

/* 0 when something accepted the connection, else a negative errno. A
 * non-blocking connect never waits: a full backlog is EAGAIN. */
static int try_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The socket the agent's occtl talks to: OCCTL_SOCKET, else ocserv.conf's
 * occtl-socket-file, else the default both share. */
static const char *occtl_socket_path(const struct health_input *in)
{
	const char *p = in->conf ? ocserv_conf_get(in->conf, "occtl-socket-file") : NULL;

	if (in->cfg->occtl_socket != NULL)
		return in->cfg->occtl_socket;
	return p != NULL && *p != '\0' ? p : HEALTH_OCCTL_SOCKET_DEFAULT;
}

json_t *health_check_occtl_socket(const struct health_input *in)
{
	const char *path = occtl_socket_path(in);
	bool off = in->conf && !ocserv_conf_bool(ocserv_conf_get(in->conf, "use-occtl"), false);
	int r = try_connect(path);
	json_t *o;

	if (r == 0)
		o = check("occtlSocket", true, "accepts connections");
	else if ((r == -EACCES || r == -EPERM) && unix_listening(in->proc, path))
		/* Only root may connect (ocserv checks the peer too); an agent
		 * using sudo sees the socket listed instead. */
		o = check("occtlSocket", true, "listening (not connectable by the agent itself)");
	else if (r == -ENOENT)
		o = check("occtlSocket", false, "the socket does not exist%s",
			  off ? " (use-occtl is not true in ocserv.conf)" : "");
	else if (r == -ECONNREFUSED)
		o = check("occtlSocket", false, "nothing listens on it (a stale socket file)");
	else if (r == -EAGAIN)
		o = check("occtlSocket", false,
			  "ocserv does not accept connections (backlog full)");
	else
		o = check("occtlSocket", false, "cannot connect: %s", strerror(-r));
	return with(o, "path", utf8_json_string(path));
}

/* ---- server certificate ---------------------------------------------------- */

struct cert_eval {
	const char *path;
	struct cert_info ci;
	enum cert_state state;
	long days;
};

/* Whether a is the more urgent of two readable certificates. */
static bool worse(const struct cert_eval *a, const struct cert_eval *b)
{
	if ((a->state == CERT_VALID) != (b->state == CERT_VALID))
		return b->state == CERT_VALID;
	return a->days < b->days;
}

static const char *iso_text(time_t t, char *buf, size_t len)
{
	const char *s = timefmt_epoch_iso8601((int64_t)t, buf, len);

	return s != NULL ? s : "?";
}

static json_t *cert_result(const struct cert_eval *w)
{
	char at[32], from[32];
	const char *when = iso_text(w->ci.not_after, at, sizeof(at));
	json_t *o;

	switch (w->state) {
	case CERT_NOT_YET_VALID:
		o = check("certificate", false, "not valid before %s",
			  iso_text(w->ci.not_before, from, sizeof(from)));
		break;
	case CERT_EXPIRED:
		o = check("certificate", false, "expired on %s", when);
		break;
	case CERT_EXPIRING:
		o = check("certificate", false,
			  "expires in %ld day(s), on %s (fails under %d days)", w->days, when,
			  HEALTH_CERT_MIN_DAYS);
		break;
	default:
		o = check("certificate", true, "valid until %s (%ld days)", when, w->days);
	}
	o = with(o, "path", utf8_json_string(w->path));
	o = with(o, "notBefore", iso_or_null(w->ci.not_before));
	o = with(o, "notAfter", iso_or_null(w->ci.not_after));
	return with(o, "daysLeft", json_integer(w->days));
}

/* Every global server-cert (ocserv pairs several with as many keys: RSA and
 * ECDSA, say); the most urgent one is reported. PKCS #11 URLs are not files. */
json_t *health_check_certificate(const struct health_input *in)
{
	struct cert_eval w = {0}, c;
	bool have = false;

	if (in->conf == NULL)
		return check("certificate", false, "ocserv.conf was not read");
	for (const struct ocserv_conf_entry *e =
		     ocserv_conf_next(in->conf, NULL, "server-cert", NULL);
	     e != NULL; e = ocserv_conf_next(in->conf, NULL, "server-cert", e)) {
		struct err_info ei = {{0}};
		int r;

		if (strncmp(e->value, "pkcs11:", 7) == 0)
			continue;
		c = (struct cert_eval){.path = e->value};
		r = cert_info_read_file(e->value, &c.ci, &ei);
		if (r < 0)
			return with(check("certificate", false, "%.100s: %s", e->value,
					  r == ERR_NOT_FOUND	 ? "no such file"
					  : r == ERR_BAD_REQUEST ? "not a PEM certificate"
								 : "cannot be read"),
				    "path", utf8_json_string(e->value));
		c.state = cert_info_state(&c.ci, in->now, HEALTH_CERT_MIN_DAYS, &c.days);
		if (!have || worse(&c, &w))
			w = c;
		have = true;
	}
	if (!have)
		return ocserv_conf_get(in->conf, "server-cert") != NULL
			       ? skipped("certificate", "a PKCS #11 certificate is not checked")
			       : check("certificate", false,
				       "server-cert is not set in ocserv.conf");
	return cert_result(&w);
}

/* ---- disk space -------------------------------------------------------- */

bool health_disk_low(uint64_t free_bytes, uint64_t total_bytes)
{
	return free_bytes < HEALTH_DISK_MIN_BYTES &&
	       free_bytes * 100 < total_bytes * HEALTH_DISK_MIN_PERCENT;
}

json_t *health_check_disk(const char *name, const char *path)
{
	struct statvfs sv;
	uint64_t free_b, total_b;
	char f[32], t[32];
	json_t *o;

	if (statvfs(path, &sv) < 0) {
		o = check(name, false, "cannot examine: %s", strerror(errno));
		o = with(o, "freeBytes", json_null());
		o = with(o, "totalBytes", json_null());
		return with(o, "path", utf8_json_string(path));
	}
	/* f_bavail: what an unprivileged writer like the agent may still use. */
	free_b = (uint64_t)sv.f_bavail * sv.f_frsize;
	total_b = (uint64_t)sv.f_blocks * sv.f_frsize;
	human(free_b, f, sizeof(f));
	human(total_b, t, sizeof(t));
	if (health_disk_low(free_b, total_b))
		o = check(name, false, "only %s free of %s", f, t);
	else
		o = check(name, true, "%s free of %s", f, t);
	o = with(o, "path", utf8_json_string(path));
	o = with(o, "freeBytes", json_integer((json_int_t)free_b));
	return with(o, "totalBytes", json_integer((json_int_t)total_b));
}

/* ---- agent memory ------------------------------------------------------- */

int64_t health_parse_vmrss(const char *status)
{
	const char *p = status;
	long long kb;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, "VmRSS:", 6) == 0 && sscanf(p + 6, "%lld kB", &kb) == 1 && kb >= 0 &&
		    kb < INT64_MAX / 1024)
			return (int64_t)kb * 1024;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -1;
}

json_t *health_check_memory(const struct health_input *in)
{
	char path[256], buf[STATUS_FILE_MAX], h[32], m[32];
	int64_t rss = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/self/status", in->proc);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			rss = health_parse_vmrss(buf);
		}
	}
	if (rss < 0)
		return with(check("agentMemory", false, "no VmRSS in %s", path), "rssBytes",
			    json_null());
	human((uint64_t)rss, h, sizeof(h));
	human((uint64_t)HEALTH_RSS_MAX, m, sizeof(m));
	return with(rss > HEALTH_RSS_MAX
			    ? check("agentMemory", false, "resident memory %s is above %s", h, m)
			    : check("agentMemory", true, "resident memory %s", h),
		    "rssBytes", json_integer(rss));
}

/* ---- end-to-end login ---------------------------------------------------- */

/* One openconnect at a time: a request that arrives while a probe runs
 * waits for it and reports its result (which ended after the request came)
 * instead of starting another login. */
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t probe_done = PTHREAD_COND_INITIALIZER;
static bool probe_running; /* guarded by probe_lock */
static uint64_t probe_gen; /* guarded: probes started so far */
static json_t *probe_last; /* guarded: the result of the last probe to end */

/* The first server-cert's pin: ocserv presents that certificate unless the
 * client prefers the algorithm of another one. */
static int probe_pin(const struct health_input *in, char *pin, size_t len)
{
	const char *path = ocserv_conf_get(in->conf, "server-cert");
	struct cert_info ci;
	struct err_info ei = {{0}};

	if (path == NULL || cert_info_read_file(path, &ci, &ei) < 0)
		return -1;
	snprintf(pin, len, "%s", ci.pin);
	return 0;
}

/* A short reason for a failed login, from openconnect's messages. */
static const char *probe_reason(const struct spawn_result *sr)
{
	if (sr->outcome == SPAWN_NOT_FOUND)
		return "openconnect is not installed at OPENCONNECT_PATH";
	if (sr->outcome == SPAWN_TIMED_OUT)
		return "no answer within AGENT_PROBE_TIMEOUT_MS";
	if (sr->outcome == SPAWN_OUTPUT_TOO_LARGE)
		return "openconnect printed too much";
	if (strstr(sr->err, "Login failed") || strstr(sr->err, "Authentication failed"))
		return "ocserv refused the user name or password";
	if (strstr(sr->err, "certificate") || strstr(sr->err, "Certificate"))
		return "the server certificate did not match its pin";
	if (strstr(sr->err, "onnect") && strstr(sr->err, "refused"))
		return "the connection was refused";
	return "openconnect failed (see the agent log)";
}

/* The last line of openconnect's stderr, for the log. */
static void last_line(const char *err, char *out, size_t len)
{
	size_t n = strlen(err);

	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == '\r'))
		n--;
	size_t s = n;
	while (s > 0 && err[s - 1] != '\n')
		s--;
	snprintf(out, len, "%.*s", (int)(n - s), err + s);
	for (char *p = out; *p; p++)
		if (*p == '"' || (unsigned char)*p < 0x20)
			*p = '\'';
}

static json_t *probe_run(const struct health_input *in, unsigned port, const char *pin)
{
	const struct agent_config *cfg = in->cfg;
	char url[300], user[300], input[SPAWN_MAX_INPUT], line[200];
	bool v6 = strchr(cfg->probe_host, ':') != NULL;
	char *argv[] = {cfg->openconnect_path,
			"--authenticate",
			"--protocol=anyconnect",
			"--non-inter",
			"--passwd-on-stdin",
			user,
			"--servercert",
			(char *)pin,
			url,
			NULL};
	struct spawn_result sr;
	struct err_info ei = {{0}};
	size_t plen = strlen(cfg->probe_password);
	int64_t t0, ms;
	json_t *o;
	int r;

	if (plen + 1 > sizeof(input))
		return check("login", false, "AGENT_PROBE_PASSWORD is too long");
	snprintf(url, sizeof(url), v6 ? "https://[%s]:%u/" : "https://%s:%u/", cfg->probe_host,
		 port);
	snprintf(user, sizeof(user), "--user=%s", cfg->probe_user);
	memcpy(input, cfg->probe_password, plen);
	input[plen] = '\n';
	t0 = timefmt_mono_ms();
	r = spawn_run_input(argv, input, plen + 1, cfg->probe_timeout_ms, PROBE_MAX_OUT, &sr, &ei);
	ms = timefmt_mono_ms() - t0;
	explicit_bzero(input, sizeof(input));
	if (r < 0) {
		log_msg(LOG_WARNING, in->request_id, "health login probe: %s", ei.detail);
		return check("login", false, "the probe could not be run (see the agent log)");
	}
	/* stdout holds the session cookie: never kept, never logged. */
	if (sr.out != NULL)
		explicit_bzero(sr.out, sr.out_len);
	if (sr.outcome == SPAWN_EXITED && sr.exit_status == 0) {
		o = check("login", true, "%s logged in to %s", cfg->probe_user, url);
	} else {
		last_line(sr.err, line, sizeof(line));
		log_msg(LOG_WARNING, in->request_id,
			"health login probe failed user=%s outcome=%d exit=%d stderr=\"%s\"",
			cfg->probe_user, (int)sr.outcome, sr.exit_status, line);
		o = check("login", false, "%s", probe_reason(&sr));
	}
	spawn_result_free(&sr);
	o = with(o, "user", utf8_json_string(cfg->probe_user));
	return with(o, "latencyMs", json_integer(ms));
}

static json_t *login_now(const struct health_input *in)
{
	const struct agent_config *cfg = in->cfg;
	unsigned port = in->conf ? health_parse_port(ocserv_conf_get(in->conf, "tcp-port")) : 0;
	char pin[CERT_INFO_PIN_LEN];

	if (cfg->probe_password == NULL)
		return check("login", false, "AGENT_PROBE_PASSWORD is not set");
	if (in->conf == NULL)
		return check("login", false, "ocserv.conf was not read");
	if (port == 0)
		return check("login", false, "no usable tcp-port in ocserv.conf");
	if (probe_pin(in, pin, sizeof(pin)) < 0)
		return check("login", false, "the server certificate cannot be read to pin it");
	return probe_run(in, port, pin);
}

/* A probe that ended after we asked, or NULL when none did (or on ENOMEM,
 * which the caller then answers with a probe of its own). Called locked. */
static json_t *join_running_probe(void)
{
	uint64_t mine = probe_gen;

	if (!probe_running)
		return NULL;
	while (probe_running && probe_gen == mine)
		pthread_cond_wait(&probe_done, &probe_lock);
	return probe_last != NULL ? json_deep_copy(probe_last) : NULL;
}

json_t *health_check_login(const struct health_input *in)
{
	json_t *o;

	if (in->cfg->probe_user == NULL)
		return skipped("login", "AGENT_PROBE_USER is not set");
	pthread_mutex_lock(&probe_lock);
	o = join_running_probe();
	if (o != NULL) {
		pthread_mutex_unlock(&probe_lock);
		return o;
	}
	probe_running = true;
	probe_gen++;
	pthread_mutex_unlock(&probe_lock);

	o = login_now(in);

	pthread_mutex_lock(&probe_lock);
	json_decref(probe_last);
	probe_last = o != NULL ? json_deep_copy(o) : NULL;
	probe_running = false;
	pthread_cond_broadcast(&probe_done);
	pthread_mutex_unlock(&probe_lock);
	return o;
}

/* ---- all of them ----------------------------------------------------------- */

static void read_conf(struct health_input *in, struct ocserv_conf **conf, char *err, size_t len)
{
	struct err_info ei = {{0}};
	int r = ocserv_conf_load(in->cfg->ocserv_conf_path, conf, &ei);

	if (r == 0) {
		in->conf = *conf;
		return;
	}
	log_msg(LOG_WARNING, in->request_id, "health ocserv.conf: %s", ei.detail);
	snprintf(err, len, "%s",
		 r == ERR_NOT_FOUND ? "the file does not exist"
		 : r == ERR_NOMEM   ? "out of memory"
				    : "the file cannot be read (see the agent log)");
	in->conf = NULL;
	in->conf_error = err;
}

json_t *health_run(const struct health_input *base, int tier, bool *all_ok)
{
	struct health_input in = *base;
	struct ocserv_conf *conf = NULL;
	char conf_err[DETAIL_MAX];
	json_t *arr = json_array(), *c[10];
	size_t n = 0;
	bool ok = true, nomem = arr == NULL;

	read_conf(&in, &conf, conf_err, sizeof(conf_err));
	c[n++] = health_check_process(&in);
	c[n++] = health_check_conf(&in);
	c[n++] = health_check_port(&in, true);
	c[n++] = health_check_port(&in, false);
	c[n++] = health_check_occtl_socket(&in);
	c[n++] = health_check_certificate(&in);
	c[n++] = health_check_disk("stateDirDisk", in.cfg->state_dir);
	c[n++] = health_check_disk("logDirDisk", HEALTH_LOG_DIR);
	c[n++] = health_check_memory(&in);
	if (tier >= 3)
		c[n++] = health_check_login(&in);
	ocserv_conf_free(conf);
	for (size_t i = 0; i < n; i++) {
		nomem = nomem || c[i] == NULL;
		ok = ok && json_is_true(json_object_get(c[i], "ok"));
		if (nomem || json_array_append_new(arr, c[i]) < 0) {
			nomem = true;
			json_decref(c[i]);
		}
	}
	if (nomem) {
		json_decref(arr);
		return NULL;
	}
	*all_ok = ok;
	return arr;
}
