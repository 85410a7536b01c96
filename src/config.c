#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "validate.h"

#define ENV_FILE_MAX (64 * 1024)
#define TOKEN_MAX    4096
#define MAX_VARS     96

enum kind {
	K_HOST,
	K_PORT,
	K_TOKEN,
	K_PATH,
	K_MS,
	K_MS0, /* milliseconds, 0 allowed (off) */
	K_COUNT,
	K_BOOL,
	K_UNIT,
	K_NAME,
	K_HASH,
	K_BACKEND,
	K_TEXT,	     /* printable text (a GnuTLS priority string) */
	K_ALLOWED,   /* AGENT_TLS_CLIENT_ALLOWED: struct strv */
	K_AUTH_MODE, /* enum auth_mode */
	K_PRIVSEP,   /* enum privsep_mode */
	K_USER,	     /* a system user name */
	K_BYTES,     /* a size in bytes, 1024-4194304 */
	K_DEPTH,     /* a nesting depth, 2-1000 */
};

static const struct var {
	const char *name;
	enum kind kind;
	const char *def; /* NULL: no default (optional or required) */
	bool required;
	size_t off;
} vars[] = {
#define V(n, k, d, r, m)                                     \
	{                                                    \
		n, k, d, r, offsetof(struct agent_config, m) \
	}
	V("AGENT_HOST", K_HOST, "0.0.0.0", false, host),
	V("AGENT_PORT", K_PORT, "8088", false, port),
	/* Required unless AGENT_AUTH_MODE=mtls, or given as a _FILE: checked
	 * after the table (see tokens()). */
	V("AGENT_AUTH_TOKEN_CURRENT", K_TOKEN, NULL, false, token_current),
	V("AGENT_AUTH_TOKEN_PREVIOUS", K_TOKEN, NULL, false, token_previous),
	V("OCCTL_PATH", K_PATH, "/usr/bin/occtl", false, occtl_path),
	V("OCCTL_TIMEOUT_MS", K_MS, "5000", false, occtl_timeout_ms),
	V("OCCTL_USE_SUDO", K_BOOL, "true", false, occtl_use_sudo),
	V("OCCTL_SOCKET", K_PATH, NULL, false, occtl_socket),
	V("RADIUSCLIENT_CONF_PATH", K_PATH, "/etc/radcli/radiusclient.conf", false,
	  radius_conf_path),
	V("RADIUS_SERVERS_PATH", K_PATH, NULL, false, radius_servers_path),
	V("AGENT_STATE_DIR", K_PATH, "/var/lib/ocserv-agent", false, state_dir),
	V("OCSERV_CONF_PATH", K_PATH, "/etc/ocserv/ocserv.conf", false, ocserv_conf_path),
	V("OCSERV_PATH", K_PATH, "/usr/sbin/ocserv", false, ocserv_path),
	V("OCSERV_CHECK_TIMEOUT_MS", K_MS, "10000", false, ocserv_check_timeout_ms),
	V("OCSERV_UNIT", K_UNIT, "ocserv.service", false, ocserv_unit),
	V("SYSTEMCTL_PATH", K_PATH, "/usr/bin/systemctl", false, systemctl_path),
	V("SYSTEMCTL_TIMEOUT_MS", K_MS, "30000", false, systemctl_timeout_ms),
	V("OPENCONNECT_PATH", K_PATH, "/usr/sbin/openconnect", false, openconnect_path),
	V("AGENT_PROBE_USER", K_NAME, NULL, false, probe_user),
	V("AGENT_PROBE_PASSWORD", K_TOKEN, NULL, false, probe_password),
	V("AGENT_PROBE_HOST", K_HOST, "127.0.0.1", false, probe_host),
	V("AGENT_PROBE_TIMEOUT_MS", K_MS, "10000", false, probe_timeout_ms),
	V("AGENT_HOOK_SOCKET", K_PATH, "/run/ocserv-agent/hook.sock", false, hook_socket),
	V("OCPASSWD_PATH", K_PATH, "/etc/ocserv/ocpasswd", false, ocpasswd_path),
	V("OCPASSWD_HASH", K_HASH, "sha512", false, ocpasswd_hash),
	V("OCSERV_BACKEND", K_BACKEND, "auto", false, backend),
	V("OCSERV_CACHE_MS", K_MS0, "0", false, cache_ms),
	V("OCSERV_EVENTS", K_BOOL, "true", false, events),
	V("EVENTS_BUFFER", K_COUNT, "1000", false, events_buffer),
	V("EVENTS_MAX_SUBSCRIBERS", K_COUNT, "64", false, events_max_subscribers),
	V("EVENTS_HEARTBEAT_MS", K_MS, "15000", false, events_heartbeat_ms),
	V("EVENTS_USAGE_WAIT_MS", K_MS, "2000", false, events_usage_wait_ms),
	V("OCSERV_CONF_BACKUP_DIR", K_PATH, "/var/lib/ocserv-agent/config-backups", false,
	  conf_backup_dir),
	V("OCSERV_CONF_BACKUP_KEEP", K_COUNT, "20", false, conf_backup_keep),
	V("OCSERV_CONF_VERIFY_TIMEOUT_MS", K_MS, "10000", false, conf_verify_timeout_ms),
	V("OCSERV_CONF_VERIFY_SETTLE_MS", K_MS0, "1000", false, conf_verify_settle_ms),
	V("OCSERV_CONF_VERIFY_COMMAND", K_PATH, NULL, false, conf_verify_command),
	V("AGENT_TLS_CERT", K_PATH, NULL, false, tls_cert),
	V("AGENT_TLS_KEY", K_PATH, NULL, false, tls_key),
	V("AGENT_TLS_CLIENT_CA", K_PATH, NULL, false, tls_client_ca),
	V("AGENT_TLS_CLIENT_ALLOWED", K_ALLOWED, NULL, false, tls_client_allowed),
	V("AGENT_TLS_PRIORITIES", K_TEXT, CONFIG_TLS_PRIORITIES, false, tls_priorities),
	V("AGENT_AUTH_MODE", K_AUTH_MODE, NULL, false, auth_mode),
	V("AGENT_PRIVSEP", K_PRIVSEP, "auto", false, privsep),
	V("AGENT_USER", K_USER, "ocservagent", false, agent_user),
	V("AGENT_SECCOMP", K_BOOL, "true", false, seccomp),
	V("AGENT_AUTH_FAIL_LIMIT", K_COUNT, "10", false, auth_fail_limit),
	V("AGENT_AUTH_FAIL_WINDOW_MS", K_MS, "60000", false, auth_fail_window_ms),
	V("AGENT_MAX_CONNECTIONS", K_COUNT, "256", false, max_connections),
	V("AGENT_MAX_CONNECTIONS_PER_IP", K_COUNT, "32", false, max_connections_per_ip),
	V("AGENT_MAX_HEADER_BYTES", K_BYTES, "16384", false, max_header_bytes),
	V("AGENT_MAX_BODY_BYTES", K_BYTES, "65536", false, max_body_bytes),
	V("AGENT_MAX_JSON_DEPTH", K_DEPTH, "32", false, max_json_depth),
#undef V
};

/* KEY=VALUE pairs read from the env file; owned strings. */
struct env_file {
	char *key[MAX_VARS];
	char *value[MAX_VARS];
	size_t n;
};

static int fail(char *errbuf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *errbuf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, len, fmt, ap);
	va_end(ap);
	return ERR_BAD_REQUEST;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static void env_file_free(struct env_file *ef)
{
	for (size_t i = 0; i < ef->n; i++) {
		free(ef->key[i]);
		if (ef->value[i] != NULL) {
			explicit_bzero(ef->value[i], strlen(ef->value[i]));
			free(ef->value[i]);
		}
	}
	ef->n = 0;
}

/* One line of the env file: blank, "# comment", or [export ]KEY=VALUE with an
 * optional pair of quotes around VALUE. Later lines override earlier ones. */
static int env_file_line(struct env_file *ef, char *line, unsigned lineno, const char *path,
			 char *errbuf, size_t len)
{
	char *eq, *key, *val;
	size_t vl;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	if (strncmp(line, "export ", 7) == 0)
		line = trim(line + 7);
	eq = strchr(line, '=');
	if (eq == NULL)
		return fail(errbuf, len, "%s:%u: expected KEY=VALUE", path, lineno);
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	vl = strlen(val);
	if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
		val[vl - 1] = '\0';
		val++;
	}
	if (*key == '\0')
		return fail(errbuf, len, "%s:%u: empty variable name", path, lineno);
	for (size_t i = 0; i < ef->n; i++) {
		if (strcmp(ef->key[i], key) == 0) {
			char *v = strdup(val);
			if (v == NULL)
				return ERR_NOMEM;
			free(ef->value[i]);
			ef->value[i] = v;
			return 0;
		}
	}
	if (ef->n == MAX_VARS)
		return fail(errbuf, len, "%s:%u: too many variables", path, lineno);
	ef->key[ef->n] = strdup(key);
	ef->value[ef->n] = strdup(val);
	if (ef->key[ef->n] == NULL || ef->value[ef->n] == NULL) {
		free(ef->key[ef->n]);
		free(ef->value[ef->n]);
		return ERR_NOMEM;
	}
	ef->n++;
	return 0;
}

static int env_file_read(struct env_file *ef, const char *path, char *errbuf, size_t len)
{
	char *buf, *line, *save = NULL;
	size_t n;
	unsigned lineno = 0;
	int r = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return fail(errbuf, len, "cannot read env file %s: %s", path, strerror(errno));
	buf = calloc(1, ENV_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return ERR_NOMEM;
	}
	n = fread(buf, 1, ENV_FILE_MAX + 1, f);
	fclose(f);
	if (n > ENV_FILE_MAX)
		r = fail(errbuf, len, "env file %s is larger than %d bytes", path, ENV_FILE_MAX);
	else if (memchr(buf, '\0', n) != NULL)
		r = fail(errbuf, len, "env file %s contains a NUL byte", path);
	/* strtok_r would merge empty lines and break line numbers: split by hand. */
	for (line = buf; r == 0 && line != NULL && *line != '\0'; line = save) {
		save = strchr(line, '\n');
		if (save != NULL)
			*save++ = '\0';
		r = env_file_line(ef, line, ++lineno, path, errbuf, len);
	}
	explicit_bzero(buf, n);
	free(buf);
	return r;
}

static const char *lookup(const struct env_file *ef, const char *name)
{
	const char *v = getenv(name);

	/* An empty variable (VAR= in a unit or shell) counts as unset. */
	if (v != NULL && *v != '\0')
		return v;
	for (size_t i = 0; i < ef->n; i++)
		if (strcmp(ef->key[i], name) == 0)
			return ef->value[i];
	return NULL;
}

/* lookup(), with an empty value from the env file also counting as unset
 * (as load_var() treats every variable of the table). */
static const char *lookup_set(const struct env_file *ef, const char *name)
{
	const char *v = lookup(ef, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

int config_parse_bool(const char *s, bool *ret)
{
	static const char *yes[] = {"true", "1", "yes"}, *no[] = {"false", "0", "no"};

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return ERR_BAD_REQUEST;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned *ret)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return ERR_BAD_REQUEST;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return ERR_BAD_REQUEST;
	*ret = (unsigned)v;
	return 0;
}

static bool valid_host(const char *s)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* A unit name we may pass to systemctl: [A-Za-z0-9:_.@-], ending in
 * .service, not starting with '-' (it would read as an option). */
static bool valid_unit(const char *s)
{
	size_t n = strlen(s);

	if (n < 9 || n > 255 || s[0] == '-' || strcmp(s + n - 8, ".service") != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(":_.@-", s[i]) == NULL)
			return false;
	return true;
}

static const char *const privsep_names[] = {"auto", "on", "off"};

const char *config_auth_mode_name(enum auth_mode m)
{
	static const char *const names[] = {"token", "mtls", "both", "either"};

	return (unsigned)m < 4 ? names[m] : "?";
}

static bool printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return n > 0 && n <= max;
}

/* useradd's rule for system users: [a-z_][a-z0-9_-]*, at most 32. */
static bool valid_user(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || !(islower((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-')
			return false;
	return true;
}

/* "sha256:" then 64 hex digits, optionally in pairs separated by ':' (as
 * certtool and openssl print fingerprints): stored as "sha256:" + 64
 * lowercase hex. Returns false when entry is not a pin at all. */
static bool parse_pin(const char *entry, char out[72], bool *valid)
{
	size_t n = 0;

	*valid = false;
	if (strncasecmp(entry, "sha256:", 7) != 0)
		return false;
	memcpy(out, "sha256:", 7);
	for (const char *p = entry + 7; *p != '\0'; p++) {
		if (*p == ':' && n % 2 == 0 && n > 0 && p[1] != '\0')
			continue;
		if (!isxdigit((unsigned char)*p) || n == 64)
			return true;
		out[7 + n++] = (char)tolower((unsigned char)*p);
	}
	out[7 + n] = '\0';
	*valid = n == 64;
	return true;
}

/* Comma-separated subject CNs and SHA-256 pins; blanks around entries are
 * dropped. A CN is printable text without a comma. */
static int parse_allowed(const char *raw, struct strv *ret, const char *name, char *errbuf,
			 size_t len)
{
	char *copy = strdup(raw), *save = NULL;
	int r = copy == NULL ? ERR_NOMEM : 0;

	for (char *e = copy ? strtok_r(copy, ",", &save) : NULL; r == 0 && e != NULL;
	     e = strtok_r(NULL, ",", &save)) {
		char pin[72];
		bool valid;

		e = trim(e);
		if (*e == '\0')
			continue;
		if (parse_pin(e, pin, &valid)) {
			r = valid ? strv_add(ret, pin)
				  : fail(errbuf, len, "%s: '%s' is not sha256: and 64 hex digits",
					 name, e);
		} else if (!printable(e, 256)) {
			r = fail(errbuf, len,
				 "%s: a CN must be printable text of at most 256 bytes", name);
		} else {
			r = strv_add(ret, e);
		}
	}
	free(copy);
	if (r == 0 && ret->n == 0)
		r = fail(errbuf, len, "%s is set but lists nothing", name);
	return r;
}

/* Validate raw (already trimmed for tokens) and store it into cfg. */
static int set_var(struct agent_config *cfg, const struct var *v, const char *raw, char *errbuf,
		   size_t len)
{
	void *field = (char *)cfg + v->off;
	char *copy;

	switch (v->kind) {
	case K_PORT:
		if (parse_uint(raw, 1, 65535, field) < 0)
			return fail(errbuf, len, "%s must be a port number 1-65535, got '%s'",
				    v->name, raw);
		return 0;
	case K_MS:
		if (parse_uint(raw, 1, 3600000, field) < 0)
			return fail(errbuf, len,
				    "%s must be a number of milliseconds 1-3600000, got '%s'",
				    v->name, raw);
		return 0;
	case K_MS0:
		if (parse_uint(raw, 0, 3600000, field) < 0)
			return fail(errbuf, len,
				    "%s must be a number of milliseconds 0-3600000, got '%s'",
				    v->name, raw);
		return 0;
	case K_COUNT:
		if (parse_uint(raw, 1, 1000000, field) < 0)
			return fail(errbuf, len, "%s must be a number 1-1000000, got '%s'", v->name,
				    raw);
		return 0;
	case K_BOOL:
		if (config_parse_bool(raw, field) < 0)
			return fail(errbuf, len, "%s must be true/false, 1/0 or yes/no, got '%s'",
				    v->name, raw);
		return 0;
	case K_HOST:
		if (!valid_host(raw))
			return fail(errbuf, len, "%s must be an IPv4 or IPv6 address, got '%s'",
				    v->name, raw);
		break;
	case K_PATH:
		if (raw[0] != '/' || strlen(raw) >= 4096)
			return fail(errbuf, len, "%s must be an absolute path, got '%s'", v->name,
				    raw);
		break;
	case K_TOKEN:
		if (strlen(raw) > 4096)
			return fail(errbuf, len, "%s is longer than 4096 bytes", v->name);
		break;
	case K_UNIT:
		if (!valid_unit(raw))
			return fail(errbuf, len,
				    "%s must be a systemd unit name like ocserv.service, got '%s'",
				    v->name, raw);
		break;
	case K_NAME:
		if (validate_username(raw) != NULL)
			return fail(errbuf, len, "%s: %s", v->name, validate_username(raw));
		break;
	case K_HASH:
		if (strcmp(raw, "sha512") != 0 && strcmp(raw, "yescrypt") != 0)
			return fail(errbuf, len, "%s must be sha512 or yescrypt, got '%s'", v->name,
				    raw);
		break;
	case K_BACKEND:
		if (strcmp(raw, "auto") != 0 && strcmp(raw, "ctl") != 0 &&
		    strcmp(raw, "occtl") != 0)
			return fail(errbuf, len, "%s must be auto, ctl or occtl, got '%s'", v->name,
				    raw);
		break;
	case K_TEXT:
		if (!printable(raw, 1024))
			return fail(errbuf, len, "%s must be printable text of at most 1024 bytes",
				    v->name);
		break;
	case K_ALLOWED:
		return parse_allowed(raw, field, v->name, errbuf, len);
	case K_AUTH_MODE:
		for (int m = AUTH_MODE_TOKEN; m <= AUTH_MODE_EITHER; m++)
			if (strcmp(raw, config_auth_mode_name(m)) == 0) {
				*(enum auth_mode *)field = m;
				return 0;
			}
		return fail(errbuf, len, "%s must be token, mtls, both or either, got '%s'",
			    v->name, raw);
	case K_PRIVSEP:
		for (int m = PRIVSEP_AUTO; m <= PRIVSEP_OFF; m++)
			if (strcmp(raw, privsep_names[m]) == 0) {
				*(enum privsep_mode *)field = m;
				return 0;
			}
		return fail(errbuf, len, "%s must be auto, on or off, got '%s'", v->name, raw);
	case K_USER:
		if (!valid_user(raw))
			return fail(errbuf, len, "%s must be a system user name, got '%s'", v->name,
				    raw);
		break;
	case K_BYTES:
		if (parse_uint(raw, 1024, 4u << 20, field) < 0)
			return fail(errbuf, len,
				    "%s must be a number of bytes 1024-4194304, got '%s'", v->name,
				    raw);
		return 0;
	case K_DEPTH:
		if (parse_uint(raw, 2, 1000, field) < 0)
			return fail(errbuf, len, "%s must be a number 2-1000, got '%s'", v->name,
				    raw);
		return 0;
	}
	copy = strdup(raw);
	if (copy == NULL)
		return ERR_NOMEM;
	*(char **)field = copy;
	return 0;
}

static int load_var(struct agent_config *cfg, const struct env_file *ef, const struct var *v,
		    char *errbuf, size_t len)
{
	const char *raw = lookup(ef, v->name);
	char *tmp;
	int r;

	if (v->kind != K_TOKEN) {
		if (raw == NULL || *raw == '\0')
			raw = v->def;
		return raw == NULL ? 0 : set_var(cfg, v, raw, errbuf, len);
	}
	/* Tokens are trimmed: env files often carry stray spaces or CRs. */
	tmp = strdup(raw ? raw : "");
	if (tmp == NULL)
		return ERR_NOMEM;
	char *t = trim(tmp);
	if (*t == '\0')
		r = v->required ? fail(errbuf, len, "%s is required and must not be empty", v->name)
				: 0;
	else
		r = set_var(cfg, v, t, errbuf, len);
	explicit_bzero(tmp, strlen(raw ? raw : ""));
	free(tmp);
	return r;
}

/* The token in file `path` (absolute, or a bare name of a systemd
 * credential in $CREDENTIALS_DIRECTORY): one line, trimmed, not empty, not
 * readable or writable by others. */
static int token_file(const char *name, const char *path, char **ret, char *errbuf, size_t len)
{
	/* Room for the token and the blanks around it that are trimmed, as
	 * from the variable. */
	char full[4096], buf[TOKEN_MAX + 64];
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	if (path[0] != '/' && (creds == NULL || strchr(path, '/') != NULL))
		return fail(errbuf, len,
			    "%s must be an absolute path, or a credential name with "
			    "$CREDENTIALS_DIRECTORY set",
			    name);
	if ((size_t)snprintf(full, sizeof(full), "%s%s%s", path[0] == '/' ? "" : creds,
			     path[0] == '/' ? "" : "/", path) >= sizeof(full))
		return fail(errbuf, len, "%s is too long", name);
	/* O_NONBLOCK: a FIFO (or a device) must be refused, not wait for a
	 * writer forever at start. */
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fail(errbuf, len, "%s: cannot read %s: %s", name, full, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		r = fail(errbuf, len, "%s: %s is not a regular file", name, full);
	else if ((st.st_mode & 0007) != 0)
		r = fail(errbuf, len, "%s: %s is accessible by others (mode %04o): chmod o-rwx it",
			 name, full, (unsigned)(st.st_mode & 07777));
	n = r == 0 ? read(fd, buf, sizeof(buf) - 1) : 0;
	close(fd);
	if (r == 0 && (n < 0 || (size_t)n == sizeof(buf) - 1))
		r = fail(errbuf, len, "%s: %s is unreadable or longer than %d bytes", name, full,
			 TOKEN_MAX);
	if (r == 0) {
		char *t;

		buf[n] = '\0';
		t = trim(buf);
		if (*t == '\0' || strlen(t) != strcspn(t, "\r\n"))
			r = fail(errbuf, len, "%s: %s must hold one non-empty line", name, full);
		else if (strlen(t) > TOKEN_MAX)
			r = fail(errbuf, len, "%s: %s holds a token longer than %d bytes", name,
				 full, TOKEN_MAX);
		else if ((*ret = strdup(t)) == NULL)
			r = ERR_NOMEM;
	}
	explicit_bzero(buf, sizeof(buf));
	return r;
}

/* AGENT_AUTH_TOKEN_{CURRENT,PREVIOUS}_FILE instead of the variables. */
static int tokens(struct agent_config *cfg, const struct env_file *ef, char *errbuf, size_t len)
{
	static const struct {
		const char *var, *file;
		size_t off;
	} t[] = {
		{"AGENT_AUTH_TOKEN_CURRENT", "AGENT_AUTH_TOKEN_CURRENT_FILE",
		 offsetof(struct agent_config, token_current)},
		{"AGENT_AUTH_TOKEN_PREVIOUS", "AGENT_AUTH_TOKEN_PREVIOUS_FILE",
		 offsetof(struct agent_config, token_previous)},
	};

	for (size_t i = 0; i < 2; i++) {
		char **tok = (char **)((char *)cfg + t[i].off);
		const char *path = lookup_set(ef, t[i].file);
		int r;

		if (path == NULL)
			continue;
		if (*tok != NULL)
			return fail(errbuf, len, "set %s or %s, not both", t[i].var, t[i].file);
		if ((r = token_file(t[i].file, path, tok, errbuf, len)) < 0)
			return r;
	}
	return 0;
}

/* What the variables mean together. */
static int cross_check(struct agent_config *cfg, bool mode_set, char *errbuf, size_t len)
{
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
		return fail(errbuf, len, "AGENT_TLS_CERT and AGENT_TLS_KEY go together");
	if (cfg->tls_client_ca != NULL && cfg->tls_cert == NULL)
		return fail(errbuf, len,
			    "AGENT_TLS_CLIENT_CA needs AGENT_TLS_CERT and AGENT_TLS_KEY");
	if (cfg->tls_client_allowed.n > 0 && cfg->tls_client_ca == NULL)
		return fail(errbuf, len, "AGENT_TLS_CLIENT_ALLOWED needs AGENT_TLS_CLIENT_CA");
	if (!mode_set)
		cfg->auth_mode = cfg->tls_client_ca ? AUTH_MODE_EITHER : AUTH_MODE_TOKEN;
	if (cfg->auth_mode != AUTH_MODE_TOKEN && cfg->tls_client_ca == NULL)
		return fail(errbuf, len, "AGENT_AUTH_MODE=%s needs AGENT_TLS_CLIENT_CA",
			    config_auth_mode_name(cfg->auth_mode));
	if (cfg->auth_mode != AUTH_MODE_MTLS && cfg->token_current == NULL)
		return fail(
			errbuf, len,
			"AGENT_AUTH_TOKEN_CURRENT (or AGENT_AUTH_TOKEN_CURRENT_FILE) is required "
			"and must not be empty");
	if (cfg->token_current == NULL && cfg->token_previous != NULL)
		return fail(errbuf, len,
			    "AGENT_AUTH_TOKEN_PREVIOUS needs AGENT_AUTH_TOKEN_CURRENT");
	return 0;
}

int config_load(struct agent_config *cfg, const char *env_file, char *errbuf, size_t errlen)
{
	struct env_file ef = {0};
	int r = 0;

	memset(cfg, 0, sizeof(*cfg));
	errbuf[0] = '\0';
	if (env_file != NULL)
		r = env_file_read(&ef, env_file, errbuf, errlen);
	for (size_t i = 0; r == 0 && i < sizeof(vars) / sizeof(vars[0]); i++)
		r = load_var(cfg, &ef, &vars[i], errbuf, errlen);
	if (r == 0)
		r = tokens(cfg, &ef, errbuf, errlen);
	if (r == 0)
		r = cross_check(cfg, lookup_set(&ef, "AGENT_AUTH_MODE") != NULL, errbuf, errlen);
	env_file_free(&ef);
	if (r == ERR_NOMEM)
		snprintf(errbuf, errlen, "out of memory");
	if (r < 0)
		config_free(cfg);
	return r;
}

void config_print(const struct agent_config *cfg, FILE *out)
{
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const void *field = (const char *)cfg + vars[i].off;
		const char *s;

		switch (vars[i].kind) {
		case K_PORT:
		case K_MS:
		case K_MS0:
		case K_COUNT:
		case K_BYTES:
		case K_DEPTH:
			fprintf(out, "%s=%u\n", vars[i].name, *(const unsigned *)field);
			continue;
		case K_AUTH_MODE:
			fprintf(out, "%s=%s\n", vars[i].name,
				config_auth_mode_name(*(const enum auth_mode *)field));
			continue;
		case K_PRIVSEP:
			fprintf(out, "%s=%s\n", vars[i].name,
				privsep_names[*(const enum privsep_mode *)field]);
			continue;
		case K_ALLOWED:
			fprintf(out, "%s=", vars[i].name);
			for (size_t j = 0; j < cfg->tls_client_allowed.n; j++)
				fprintf(out, "%s%s", j ? "," : "", cfg->tls_client_allowed.v[j]);
			fputc('\n', out);
			continue;
		case K_BOOL:
			fprintf(out, "%s=%s\n", vars[i].name,
				*(const bool *)field ? "true" : "false");
			continue;
		case K_TOKEN:
			fprintf(out, "%s=%s\n", vars[i].name,
				*(char *const *)field ? "(set)" : "(unset)");
			continue;
		default:
			s = *(char *const *)field;
			if (s == NULL && field == (const void *)&cfg->radius_servers_path)
				s = "(unset: the servers line of RADIUSCLIENT_CONF_PATH, else "
				    "/etc/radcli/servers)";
			fprintf(out, "%s=%s\n", vars[i].name, s ? s : "");
		}
	}
}

static void free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
	}
}

void config_free(struct agent_config *cfg)
{
	if (cfg == NULL)
		return;
	free_secret(&cfg->token_current);
	free_secret(&cfg->token_previous);
	free(cfg->host);
	free(cfg->occtl_path);
	free(cfg->occtl_socket);
	free(cfg->radius_conf_path);
	free(cfg->radius_servers_path);
	free(cfg->state_dir);
	free(cfg->ocserv_conf_path);
	free(cfg->ocserv_path);
	free(cfg->ocserv_unit);
	free(cfg->systemctl_path);
	free(cfg->openconnect_path);
	free(cfg->probe_user);
	free_secret(&cfg->probe_password);
	free(cfg->probe_host);
	free(cfg->hook_socket);
	free(cfg->ocpasswd_path);
	free(cfg->ocpasswd_hash);
	free(cfg->backend);
	free(cfg->conf_backup_dir);
	free(cfg->conf_verify_command);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_client_ca);
	strv_free(&cfg->tls_client_allowed);
	free(cfg->tls_priorities);
	free(cfg->agent_user);
	memset(cfg, 0, sizeof(*cfg));
}
