/* The keys of ocserv.conf that the agent knows, for the running ocserv
 * version: each key's value type and bounds, whether it repeats, whether
 * ocserv reads it on reload or only at start (restart), whether a
 * [vhost:NAME] section may set it, whether its value is a secret. Facts
 * were taken from the real servers 1.1.6, 1.3.0 and 1.5.0 (`ocserv -t`
 * names unknown keys and keys a vhost may not set) and from ocserv's
 * sources (the keys read before the "permanent" configuration is done are
 * read at start only); tests/integration/test_config_schema.py checks the
 * table against the ocserv that runs the tests.
 *
 * Values in JSON: booleans for boolean keys, integers for numeric ones,
 * strings otherwise; a key that repeats takes an array of strings (or a
 * single string, meaning a one-element array). Validation is the agent's,
 * stricter than ocserv: `ocserv -t` passes bad routes, networks, ports and
 * numbers (OCSERV-FACTS.md), which a reload then applies to every new
 * session. Version: struct ocserv_version; an unknown one ("") allows the
 * keys of every supported version.
 *
 * Pure functions, except that path keys marked "must exist" (and the files
 * named in auth/acct options: passwd=, otp=, config=, keytab=) stat() the
 * path; thread-safe. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ocserv.h"

/* Bytes of one value: ocserv reads lines of at most 2047 bytes (inih's
 * INI_MAX_LINE) and takes the rest of a longer line for another line. */
#define CONF_SCHEMA_VALUE_MAX  1024
#define CONF_SCHEMA_VALUES_MAX 256 /* values of one repeated key */
#define CONF_SCHEMA_REDACTED   "<redacted>"

enum conf_schema_type {
	CONF_SCHEMA_BOOL,
	CONF_SCHEMA_INT,
	CONF_SCHEMA_STRING,
};

struct conf_schema_key {
	const char *name;
	enum conf_schema_type type;
	bool multi;	     /* repeats: one line per value */
	bool restart;	     /* ocserv reads it at start only: a reload leaves the old value */
	bool global_only;    /* refused in a [vhost:NAME] section */
	bool secret;	     /* the value is redacted when read */
	const char *kind;    /* the value's syntax for the schema: "boolean", "integer",
			     "route", "ipv4-network", "path", "auth-method", ... */
	long long min, max;  /* integers */
	const char *summary; /* one line for the schema */
	const char *const *values; /* an enum's values (NULL-terminated), else NULL */
	/* private to conf_schema.c */
	const char *(*check)(const struct conf_schema_key *k, const char *text);
	unsigned since, until; /* read from since, before until (VER()); 0: open */
	unsigned flags;
};

/* The key named name if the running ocserv (v) reads it, else NULL; why
 * (when not NULL) then says why: unknown, another version's, deprecated. */
const struct conf_schema_key *conf_schema_find(const char *name, const struct ocserv_version *v,
					       char *why, size_t why_len);

/* Whether the value of key (known or not) must not be shown: secret keys,
 * and any unknown key whose name says secret, password, pin or key but
 * not a file (…-file, server-key, …). */
bool conf_schema_is_secret(const char *key);

/* Whether key may only be changed on the host, never through the agent:
 * its value is a program ocserv runs as root (connect-script, route-add-cmd,
 * ...), a file ocserv writes or serves to clients as root (pid-file,
 * socket-file, user-profile, ...), the root it runs in (chroot-dir), or a
 * directory the agent itself writes per-user files into (config-per-user,
 * ...). With them, whoever may change ocserv.conf through the API — a stolen
 * token, a compromised api process — would be root on the host. */
bool conf_schema_host_only(const char *key);

/* GET /ocserv/config/schema: {"ocservVersion": "1.1.6"|null, "keys":
 * [{name, type: "boolean"|"integer"|"string", kind, multi, reload: bool,
 * restartRequired: bool, vhost: bool, secret: bool, hostOnly: bool, min?, max?, summary,
 * values? (enums)}]} sorted by name, one entry per name (for an unknown
 * version, a key whose rules differ between versions has its strictest).
 * New reference or NULL on ENOMEM. */
json_t *conf_schema_json(const struct ocserv_version *v);

/* A value from the file as JSON of the key's type (k NULL: a string):
 * "true"/"yes" (any case) → true, other booleans → false; integers as
 * ocserv's strtol reads them (junk → what strtol gives), strings as is;
 * net-priority's TOS form "0xNN" stays a string. New reference; NULL on
 * ENOMEM. */
json_t *conf_schema_typed(const struct conf_schema_key *k, const char *text);

/* Check one requested value (JSON) of key k in section vhost (NULL:
 * global; the NAME of [vhost:NAME]) and render it as the text to write:
 * values[0..*n-1] (malloc'd strings, the caller frees each; values has room
 * for CONF_SCHEMA_VALUES_MAX). Problems are appended to problems as {key,
 * vhost?, value?, message} objects (every problem of the value, not only
 * the first; never the value of a secret key). Returns 0 when the value is
 * good (*n >= 1), 1 when problems were added, ERR_NOMEM; on 1 and ERR_NOMEM
 * *n is 0 and nothing is left allocated.
 *
 * Text written is never one ocserv would read differently: no line break,
 * NUL or other control character; not empty; no blank or '"' at either end
 * (ocserv strips them); no '#' at the start or after a blank (ocserv 1.1.6
 * to 1.5.0 read " #" as the start of a comment, quotes or not). '=' and ':'
 * are safe: ocserv splits a line at the first of them, the one after the
 * key. */
int conf_schema_render(const struct conf_schema_key *k, const char *vhost, const json_t *value,
		       char **values, size_t *n, json_t *problems);

/* Checks of the whole candidate configuration (global keys and every
 * vhost) that no single value shows, and the agent's own needs: ocserv's
 * control socket must stay on (use-occtl true; ocserv's default is off),
 * ipv4-netmask must agree with the prefix of ipv4-network when a section
 * sets both, the global ipv4-network needs a prefix or an ipv4-netmask, and
 * on ocserv 1.1.x to 1.3.x (measured: 1.1.6, 1.3.0; 1.5.0 lets a vhost
 * inherit them) a vhost needs its own auth, server-cert, server-key and
 * ipv4-network or ipv6-network. get(ctx, section, key) returns a key's
 * first value or NULL; section is NULL (global) or vhosts[i] as given
 * (problems name it as their "vhost"). Problems appended as above. 0, 1
 * (problems), ERR_NOMEM. */
int conf_schema_check_whole(const char *(*get)(void *ctx, const char *section, const char *key),
			    void *ctx, const char *const *vhosts, size_t n_vhosts,
			    const struct ocserv_version *v, json_t *problems);
