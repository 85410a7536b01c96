#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "validate.h"

#define ENV_FILE_MAX (64 * 1024)
#define MAX_VARS     64

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
	V("AGENT_AUTH_TOKEN_CURRENT", K_TOKEN, NULL, true, token_current),
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
			fprintf(out, "%s=%u\n", vars[i].name, *(const unsigned *)field);
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
	memset(cfg, 0, sizeof(*cfg));
}
