#include "conf_schema.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conf_value.h"
#include "err.h"
#include "log.h"
#include "ocserv_conf.h"
#include "utf8.h"

#define VER(a, b, c) ((a)*10000u + (b)*100u + (c))
#define DAY	     86400LL
#define YEAR	     (365 * DAY)
#define MANY	     1000000LL /* clients, scores: far above any real server */

enum {
	F_MULTI = 1u << 0,
	F_RESTART = 1u << 1,
	F_GLOBAL = 1u << 2,
	F_SECRET = 1u << 3,
	F_EXISTS = 1u << 4, /* path: an existing file */
	F_DIR = 1u << 5,    /* path: an existing directory */
	F_PARENT = 1u << 6, /* path: created by ocserv, in an existing directory */
	F_URL = 1u << 7,    /* path: or a pkcs11:/tpmkey: URL, taken as is */
	F_TOS = 1u << 8,    /* integer: or a TOS string "0xNN" */
};

/* ---- value checks: NULL when s is good, else a reason (static) ---- */

static const char *check_none(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	(void)s;
	return NULL;
}

/* A path as k's flags want it. stat() follows links: ocserv opens the
 * target. The agent runs as root, so "cannot be read" is rare. */
static const char *check_path(const struct conf_schema_key *k, const char *s)
{
	struct stat st;
	const char *r;

	if ((k->flags & F_URL) && (strncmp(s, "pkcs11:", 7) == 0 || strncmp(s, "tpmkey:", 7) == 0))
		return NULL;
	if ((r = conf_value_abs_path(s)) != NULL)
		return r;
	if (k->flags & F_DIR) {
		if (stat(s, &st) != 0)
			return "no such directory";
		return S_ISDIR(st.st_mode) ? NULL : "not a directory";
	}
	if (k->flags & F_EXISTS) {
		if (stat(s, &st) != 0)
			return "no such file";
		return S_ISDIR(st.st_mode) ? "a directory, not a file" : NULL;
	}
	if (k->flags & F_PARENT) {
		char dir[CONF_SCHEMA_VALUE_MAX + 1];
		size_t n = (size_t)(strrchr(s, '/') - s);

		if (s[strlen(s) - 1] == '/' || strlen(s) >= sizeof(dir))
			return "must name a file, not end with '/'";
		memcpy(dir, s, n);
		dir[n] = '\0';
		if (stat(n == 0 ? "/" : dir, &st) != 0 || !S_ISDIR(st.st_mode))
			return "its directory does not exist";
	}
	return NULL;
}

static const char *check_route(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_route(s);
}

static const char *check_subnet(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_subnet(s);
}

static const char *check_ip(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_ip(s);
}

static const char *check_ipv4(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_ipv4(s);
}

static const char *check_ipv6(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_ipv6(s);
}

static const char *check_ipv4_network(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_ipv4_network(s);
}

static const char *check_ipv6_network(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_ipv6_network(s);
}

static const char *check_netmask(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_netmask(s);
}

static const char *check_domain(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_domain(s);
}

static const char *check_host(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_host(s);
}

static const char *check_ports(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_ports(s);
}

static const char *check_cgroup(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return conf_value_cgroup(s);
}

/* default-domain: one or more domains separated by single spaces. */
static const char *check_domains(const struct conf_schema_key *k, const char *s)
{
	char buf[CONF_SCHEMA_VALUE_MAX + 1], *save = NULL;
	const char *r = NULL;

	(void)k;
	if (strlen(s) >= sizeof(buf) || strstr(s, "  ") != NULL)
		return "domains are separated by one space";
	strcpy(buf, s);
	for (char *d = strtok_r(buf, " ", &save); d != NULL && r == NULL;
	     d = strtok_r(NULL, " ", &save))
		r = conf_value_domain(d);
	return r;
}

static const char *check_enum(const struct conf_schema_key *k, const char *s)
{
	for (const char *const *v = k->values; *v != NULL; v++)
		if (strcmp(*v, s) == 0)
			return NULL;
	return "not one of the allowed values";
}

/* ocserv's banner limit (MAX_BANNER_SIZE): a longer one stops ocserv. */
static const char *check_banner(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return strlen(s) > 256 ? "a banner is at most 256 bytes" : NULL;
}

/* A network interface name prefix (ocserv adds a number): IFNAMSIZ. */
static const char *check_ifname(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	if (strlen(s) > 12 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789_-.") != strlen(s))
		return "1 to 12 letters, digits, '_', '-' or '.'";
	return NULL;
}

/* A user, group or network namespace name. */
static const char *check_name(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	if (strlen(s) > 64 || s[0] == '-' || s[0] == '.' ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.") !=
		    strlen(s))
		return "1 to 64 letters, digits, '_', '-' or '.', not starting with '-' or '.'";
	return NULL;
}

/* ALGORITHM:PRIORITY, e.g. lzs:10 (ocserv's switch_comp_priority). */
static const char *check_comp(const struct conf_schema_key *k, const char *s)
{
	unsigned long long n;
	const char *colon = strchr(s, ':');

	(void)k;
	if (colon == NULL || !((colon - s == 3 && strncasecmp(s, "lzs", 3) == 0) ||
			       (colon - s == 6 && strncasecmp(s, "oc-lz4", 6) == 0)))
		return "must be ALGORITHM:PRIORITY with ALGORITHM lzs or oc-lz4";
	if (!conf_value_uint(colon + 1, 1000, &n) || n == 0)
		return "the priority must be 1 to 1000";
	return NULL;
}

/* NAME or NAME[Friendly name] (ocserv's READ_MULTI_BRACKET_LINE). */
static const char *check_select_group(const struct conf_schema_key *k, const char *s)
{
	const char *br = strchr(s, '[');

	(void)k;
	if (br == s)
		return "the group name comes before '['";
	if (br != NULL && (s[strlen(s) - 1] != ']' || strchr(br + 1, '[') != NULL ||
			   strchr(br, ']') != s + strlen(s) - 1))
		return "must be NAME or NAME[Friendly name]";
	if (br == NULL && strchr(s, ']') != NULL)
		return "must be NAME or NAME[Friendly name]";
	return NULL;
}

/* "/PATH REALM PROTO@HOST:PORT", e.g. /KdcProxy KERBEROS.REALM udp@127.0.0.1:88. */
static const char *check_kkdcp(const struct conf_schema_key *k, const char *s)
{
	const char *sp1 = strchr(s, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

	(void)k;
	if (s[0] != '/' || sp1 == NULL || sp2 == NULL || sp2 == sp1 + 1 ||
	    strchr(sp2 + 1, ' ') != NULL ||
	    (strncmp(sp2 + 1, "udp@", 4) != 0 && strncmp(sp2 + 1, "tcp@", 4) != 0))
		return "must be \"/PATH REALM udp@HOST:PORT\" (or tcp@)";
	return NULL;
}

/* Bytes per second; ocserv divides by 1000 (kB/s). */
static const char *check_rate(const struct conf_schema_key *k, const char *s)
{
	unsigned long long n;

	if (!conf_value_uint(s, (unsigned long long)k->max, &n))
		return "must be 0 (no limit) to 2147483647 bytes per second";
	return n > 0 && n < 1000 ? "ocserv counts in kB/s: 1 to 999 would be read as 0 (no limit)"
				 : NULL;
}

/* 0..6 (SO_PRIORITY) or a TOS byte "0xNN". */
static const char *check_prio(const struct conf_schema_key *k, const char *s)
{
	unsigned long long n;

	(void)k;
	if (strncmp(s, "0x", 2) == 0)
		return conf_value_is_tos(s) ? NULL
					    : "a TOS value is \"0x\" and 1 or 2 hexadecimal digits";
	return conf_value_uint(s, 6, &n) ? NULL : "must be a priority 0 to 6 or a TOS \"0xNN\"";
}

/* The agent talks to ocserv over its control socket. */
static const char *check_occtl(const struct conf_schema_key *k, const char *s)
{
	(void)k;
	return strcmp(s, "true") == 0 ? NULL
				      : "must be true: the agent needs ocserv's control socket";
}

/* ---- auth and acct methods ---- */

enum opt_type { O_PATH, O_UINT, O_BOOL, O_TEXT };

struct method_opt {
	const char *name;
	enum opt_type type;
};

struct method {
	const char *name;
	const struct method_opt *opts; /* NULL: no brackets */
	const char *need;	       /* an option that must be given ("passwd|otp") */
	bool legacy;		       /* METHOD[/path,...] is the old syntax */
};

static const struct method_opt plain_opts[] = {{"passwd", O_PATH}, {"otp", O_PATH}, {NULL, 0}};
static const struct method_opt pam_opts[] = {{"gid-min", O_UINT}, {NULL, 0}};
static const struct method_opt radius_opts[] = {
	{"config", O_PATH}, {"nas-identifier", O_TEXT}, {"groupconfig", O_BOOL}, {NULL, 0}};
static const struct method_opt gssapi_opts[] = {{"keytab", O_PATH},
						{"require-local-user-map", O_BOOL},
						{"tgt-freshness-time", O_UINT},
						{"gid-min", O_UINT},
						{NULL, 0}};
static const struct method_opt oidc_opts[] = {{"config", O_PATH}, {NULL, 0}};

static const struct method auth_methods[] = {
	{"plain", plain_opts, "passwd|otp", true},
	{"pam", pam_opts, NULL, false},
	{"radius", radius_opts, "config", true},
	{"gssapi", gssapi_opts, NULL, false},
	{"certificate", NULL, NULL, false},
	{"oidc", oidc_opts, "config", false},
	{NULL, NULL, NULL, false},
};
static const struct method acct_methods[] = {
	{"radius", radius_opts, "config", true},
	{"pam", NULL, NULL, false},
	{NULL, NULL, NULL, false},
};

static const char *check_opt_value(enum opt_type t, const char *v)
{
	unsigned long long n;
	struct stat st;

	switch (t) {
	case O_PATH:
		if (v[0] != '/')
			return "a file named in the options must be an absolute path";
		if (stat(v, &st) != 0 || S_ISDIR(st.st_mode))
			return "a file named in the options does not exist";
		return NULL;
	case O_UINT:
		return conf_value_uint(v, INT_MAX, &n) ? NULL
						       : "a numeric option must be a whole number";
	case O_BOOL:
		return strcmp(v, "true") == 0 || strcmp(v, "false") == 0
			       ? NULL
			       : "a boolean option must be true or false";
	case O_TEXT:
		return *v != '\0' ? NULL : "an option's value must not be empty";
	}
	return "invalid option";
}

/* One "name=value" of m's options (blanks around either are ocserv's to
 * skip; the agent wants none). *found gets the bit of a needed option. */
static const char *check_opt(const struct method *m, char *item, unsigned *found)
{
	char *eq = strchr(item, '=');

	if (eq == NULL || eq == item || eq[1] == '\0')
		return "each option is NAME=VALUE";
	*eq = '\0';
	for (size_t i = 0; m->opts[i].name != NULL; i++) {
		if (strcmp(m->opts[i].name, item) != 0)
			continue;
		if (m->need != NULL && strstr(m->need, item) != NULL)
			*found = 1;
		return check_opt_value(m->opts[i].type, eq + 1);
	}
	return "an option this method does not know";
}

/* The inside of METHOD[...] (len bytes at s). */
static const char *check_opts(const struct method *m, const char *s, size_t len)
{
	char buf[CONF_SCHEMA_VALUE_MAX + 1], *save = NULL;
	unsigned found = 0;
	const char *r = NULL;

	memcpy(buf, s, len);
	buf[len] = '\0';
	if (len == 0 || buf[len - 1] == ',' || strstr(buf, ",,") != NULL ||
	    strpbrk(buf, " []") != NULL)
		return "options are NAME=VALUE separated by ',' (no blanks)";
	if (m->legacy && buf[0] == '/') {
		/* METHOD[/path] or radius[/path,groupconfig] */
		char *comma = strchr(buf, ',');
		if (comma != NULL &&
		    (strcmp(m->name, "radius") != 0 || strcmp(comma + 1, "groupconfig") != 0))
			return "the old form takes only a path (radius: and \",groupconfig\")";
		if (comma != NULL)
			*comma = '\0';
		return check_opt_value(O_PATH, buf);
	}
	for (char *it = strtok_r(buf, ",", &save); it != NULL && r == NULL;
	     it = strtok_r(NULL, ",", &save))
		r = check_opt(m, it, &found);
	if (r == NULL && m->need != NULL && !found)
		return strcmp(m->need, "config") == 0 ? "the config= option is required"
						      : "the passwd= (or otp=) option is required";
	return r;
}

/* METHOD or METHOD[OPTIONS]; acct has its own methods. */
static const char *check_auth(const struct conf_schema_key *k, const char *s)
{
	bool acct = strcmp(k->name, "acct") == 0;
	const struct method *m = acct ? acct_methods : auth_methods;
	size_t n = strcspn(s, "["), len = strlen(s);

	for (; m->name != NULL; m++)
		if (strlen(m->name) == n && strncmp(m->name, s, n) == 0)
			break;
	if (m->name == NULL)
		return acct ? "the accounting method must be radius or pam"
			    : "the method must be plain, pam, radius, gssapi, certificate or oidc";
	if (n == len)
		return strcmp(m->name, "plain") == 0 ? "plain needs [passwd=FILE]"
		       : strcmp(m->name, "radius") == 0 || strcmp(m->name, "oidc") == 0
			       ? "this method needs [config=FILE]"
			       : NULL;
	if (m->opts == NULL)
		return "this method takes no options";
	if (s[len - 1] != ']')
		return "the options must end with ']'";
	return check_opts(m, s + n + 1, len - n - 2);
}

/* ---- the table ---- */

static const char *const rekey_methods[] = {"ssl", "new-tunnel", NULL};
static const char *const facilities[] = {"daemon", "user",   "auth",   "authpriv", "local0",
					 "local1", "local2", "local3", "local4",   "local5",
					 "local6", "local7", NULL};

#define M F_MULTI
#define R F_RESTART
#define G F_GLOBAL
#define X F_SECRET

/* clang-format off */
#define KEY(n, t, kd, fl, lo, hi, f, vals, s0, s1, sum) \
	{.name = n, .type = t, .kind = kd, .multi = ((fl) & F_MULTI) != 0, \
	 .restart = ((fl) & F_RESTART) != 0, .global_only = ((fl) & F_GLOBAL) != 0, \
	 .secret = ((fl) & F_SECRET) != 0, .min = lo, .max = hi, .summary = sum, \
	 .values = vals, .check = f, .since = s0, .until = s1, .flags = fl}
#define BOOL(n, fl, sum) \
	KEY(n, CONF_SCHEMA_BOOL, "boolean", fl, 0, 0, check_none, NULL, 0, 0, sum)
#define INT(n, kd, fl, lo, hi, sum) \
	KEY(n, CONF_SCHEMA_INT, kd, fl, lo, hi, check_none, NULL, 0, 0, sum)
#define STR(n, kd, fl, f, sum) \
	KEY(n, CONF_SCHEMA_STRING, kd, fl, 0, 0, f, NULL, 0, 0, sum)
#define PATH(n, fl, sum)		STR(n, "path", fl, check_path, sum)
/* clang-format on */

/* Sorted by name; a key whose rules change with the version has one row
 * per range, the newest (strictest) first: for an unknown version,
 * conf_schema_find() takes the first row. Bounds are the agent's: wide
 * enough for any real setting, narrow enough to catch a typo. */
static const struct conf_schema_key keys[] = {
	STR("acct", "acct-method", R, check_auth, "accounting method: radius[config=FILE] or pam"),
	BOOL("append-routes", 0,
	     "append the routes of a user's group/user files to the global ones"),
	STR("auth", "auth-method", M | R, check_auth,
	    "authentication method, e.g. plain[passwd=FILE], pam, radius[config=FILE], "
	    "certificate"),
	INT("auth-timeout", "seconds", G, 0, YEAR, "seconds a client may take to authenticate"),
	BOOL("auto-select-group", 0, "offer the groups of the auth method for selection"),
	INT("ban-points-connection", "integer", G, 0, MANY, "ban points for each connection"),
	INT("ban-points-kkdcp", "integer", G, 0, MANY, "ban points for each KKDCP request"),
	INT("ban-points-wrong-password", "integer", G, 0, MANY,
	    "ban points for each wrong password"),
	INT("ban-reset-time", "seconds", G, 0, YEAR, "seconds after which ban points are reset"),
	KEY("ban-time", CONF_SCHEMA_INT, "seconds", G, 0, YEAR, check_none, NULL, VER(1, 4, 1), 0,
	    "seconds an IP stays banned"),
	STR("banner", "text", 0, check_banner, "text shown to clients after they connect"),
	PATH("ca-cert", R | F_EXISTS, "CA certificate that verifies client certificates"),
	KEY("camouflage", CONF_SCHEMA_BOOL, "boolean", 0, 0, 0, check_none, NULL, VER(1, 2, 0), 0,
	    "answer only clients that know the camouflage secret"),
	KEY("camouflage_realm", CONF_SCHEMA_STRING, "text", 0, 0, 0, check_none, NULL, VER(1, 2, 0),
	    0, "realm shown to browsers when camouflage is on"),
	KEY("camouflage_secret", CONF_SCHEMA_STRING, "text", X, 0, 0, check_none, NULL,
	    VER(1, 2, 0), 0, "the secret URL parameter of camouflage"),
	STR("cert-group-oid", "oid", 0, check_none, "certificate field that holds the group"),
	STR("cert-user-oid", "oid", 0, check_none, "certificate field that holds the user name"),
	KEY("cgroup", CONF_SCHEMA_STRING, "cgroup", 0, 0, 0, check_cgroup, NULL, 0, VER(1, 5, 0),
	    "cgroup of the users' worker processes (CONTROLLER:PATH)"),
	STR("chroot-dir", "path", G | R | F_PARENT, check_path,
	    "directory the worker processes chroot to"),
	BOOL("cisco-client-compat", 0, "accept Cisco AnyConnect clients"),
	KEY("cisco-svc-client-compat", CONF_SCHEMA_BOOL, "boolean", 0, 0, 0, check_none, NULL,
	    VER(1, 2, 0), 0, "accept Cisco Secure Client (SVC) clients"),
	BOOL("client-bypass-protocol", 0, "let clients bypass the VPN for the IP family it lacks"),
	BOOL("compression", 0, "negotiate compression (LZS, LZ4)"),
	STR("compression-algo-priority", "compression-priority", G, check_comp,
	    "a compression algorithm's priority: lzs:N or oc-lz4:N"),
	STR("config-per-group", "directory", F_DIR, check_path, "directory of per-group files"),
	STR("config-per-user", "directory", F_DIR, check_path, "directory of per-user files"),
	PATH("connect-script", G | F_EXISTS, "script run when a user connects"),
	INT("cookie-timeout", "seconds", 0, 0, YEAR, "seconds a session cookie stays valid"),
	PATH("crl", F_EXISTS, "certificate revocation list"),
	STR("custom-header", "http-header", M, check_none, "an HTTP header sent to clients"),
	BOOL("debug-no-secmod-stats", R, "do not print security module statistics"),
	STR("default-domain", "domains", 0, check_domains,
	    "DNS domain(s) of the clients, separated by spaces"),
	PATH("default-group-config", F_EXISTS, "per-group file of groups without their own"),
	STR("default-select-group", "text", 0, check_none,
	    "name of the group offered by default (auto-select-group)"),
	PATH("default-user-config", F_EXISTS, "per-user file of users without their own"),
	BOOL("deny-roaming", 0, "refuse a cookie from an IP other than the session's"),
	STR("device", "interface", G, check_ifname, "name prefix of the tun devices"),
	PATH("dh-params", R | F_EXISTS, "Diffie-Hellman parameters file"),
	PATH("disconnect-script", G | F_EXISTS, "script run when a user disconnects"),
	STR("dns", "ip", M, check_ip, "DNS server given to clients"),
	INT("dpd", "seconds", 0, 0, DAY, "dead peer detection interval"),
	BOOL("dtls-legacy", 0, "accept the legacy DTLS protocol of old clients"),
	BOOL("dtls-psk", G, "offer DTLS with a pre-shared key (openconnect 8+)"),
	STR("enable-auth", "auth-method", M | R, check_auth,
	    "an alternative authentication method"),
	BOOL("expose-iroutes", 0, "give each client the iroutes of the others as routes"),
	PATH("host-update-script", G | F_EXISTS, "script run when a client sends its host name"),
	INT("idle-timeout", "seconds", 0, 0, YEAR, "seconds without traffic before a disconnect"),
	STR("included-http-headers", "http-header", M, check_none,
	    "an HTTP header sent on connection"),
	STR("ipv4-dns", "ipv4", M, check_ipv4, "IPv4 DNS server given to clients"),
	STR("ipv4-nbns", "ipv4", M, check_ipv4, "IPv4 NetBIOS name server"),
	STR("ipv4-netmask", "netmask", 0, check_netmask, "netmask of ipv4-network"),
	STR("ipv4-network", "ipv4-network", 0, check_ipv4_network,
	    "pool of client IPv4 addresses (ADDRESS/PREFIX, or with ipv4-netmask)"),
	STR("ipv6-dns", "ipv6", M, check_ipv6, "IPv6 DNS server given to clients"),
	STR("ipv6-nbns", "ipv6", M, check_ipv6, "IPv6 NetBIOS name server"),
	STR("ipv6-network", "ipv6-network", 0, check_ipv6_network,
	    "pool of client IPv6 addresses (ADDRESS/PREFIX)"),
	INT("ipv6-prefix", "integer", 0, 1, 128, "prefix length of ipv6-network"),
	INT("ipv6-subnet-prefix", "integer", 0, 1, 128, "prefix length given to each client"),
	BOOL("isolate-workers", G, "confine worker processes with seccomp"),
	INT("keepalive", "seconds", 0, 0, DAY, "keepalive interval"),
	STR("key-pin", "text", R | X, check_none, "PIN of the server key"),
	STR("kkdcp", "kkdcp", M, check_kkdcp, "a Kerberos KDC proxy: /PATH REALM udp@HOST:PORT"),
	KEY("limit-worker-memory", CONF_SCHEMA_BOOL, "boolean", G, 0, 0, check_none, NULL,
	    VER(1, 5, 0), 0, "cap the heap of worker processes"),
	KEY("listen-host", CONF_SCHEMA_STRING, "host", G | R, 0, 0, check_host, NULL, VER(1, 5, 0),
	    0, "address or host name to listen on"),
	KEY("listen-host", CONF_SCHEMA_STRING, "host", R, 0, 0, check_host, NULL, 0, VER(1, 5, 0),
	    "address or host name to listen on"),
	BOOL("listen-host-is-dyndns", 0, "re-resolve listen-host (a dynamic DNS name)"),
	STR("listen-netns", "netns", R, check_name, "network namespace to listen in"),
	BOOL("listen-proxy-proto", G, "expect the PROXY protocol from a load balancer"),
	INT("log-level", "integer", G | R, 0, 9, "log level: 0 default to 9 TLS"),
	BOOL("match-tls-dtls-ciphers", 0, "use the TLS cipher for DTLS"),
	INT("max-ban-score", "integer", G, 0, MANY, "ban points that ban an IP (0: no bans)"),
	INT("max-clients", "integer", G, 0, MANY, "most clients at once (0: no limit)"),
	INT("max-same-clients", "integer", 0, 0, MANY,
	    "most sessions of one user at once (0: no limit)"),
	INT("min-reauth-time", "seconds", G, 0, YEAR,
	    "seconds before a failed client may try again"),
	INT("mobile-dpd", "seconds", 0, 0, DAY, "dead peer detection interval of mobile clients"),
	INT("mobile-idle-timeout", "seconds", 0, 0, YEAR,
	    "seconds without traffic before a mobile client is disconnected"),
	INT("mtu", "integer", 0, 576, 9000, "MTU of the tunnels"),
	STR("nbns", "ip", M, check_ip, "NetBIOS name server"),
	KEY("net-priority", CONF_SCHEMA_INT, "priority", F_TOS, 0, 6, check_prio, NULL, 0, 0,
	    "packet priority 0 to 6, or a TOS byte \"0xNN\""),
	INT("no-compress-limit", "integer", 0, 0, 65535, "packets smaller are not compressed"),
	STR("no-route", "network", M, check_subnet, "a network that bypasses the VPN"),
	STR("occtl-socket-file", "path", G | R | F_PARENT, check_path,
	    "occtl's control socket (the agent's too)"),
	PATH("ocsp-response", F_EXISTS, "OCSP response stapled to the server certificate"),
	INT("output-buffer", "integer", 0, 0, 65535, "packets in the output buffer"),
	BOOL("persistent-cookies", 0, "keep session cookies across reconnections"),
	STR("pid-file", "path", G | R | F_PARENT, check_path, "file of ocserv's process id"),
	PATH("pin-file", R | F_EXISTS, "file with the PIN of the server key"),
	BOOL("ping-leases", G, "ping an IP before leasing it"),
	STR("pre-login-banner", "text", 0, check_none, "text shown to clients before login"),
	BOOL("predictable-ips", 0, "give a user the same IP each time"),
	STR("proxy-url", "url", 0, check_none, "proxy URL sent to clients"),
	INT("rate-limit-ms", "milliseconds", G, 0, 60000, "delay between accepted connections"),
	KEY("rekey-method", CONF_SCHEMA_STRING, "enum", 0, 0, 0, check_enum, rekey_methods, 0, 0,
	    "how keys are renewed"),
	INT("rekey-time", "seconds", 0, 0, YEAR, "seconds between key renewals"),
	STR("restrict-user-to-ports", "ports", 0, check_ports,
	    "ports users may reach: tcp(443), udp(53) or !(tcp(25))"),
	BOOL("restrict-user-to-routes", 0, "let users reach only their routes"),
	STR("route", "route", M, check_route, "a route given to clients (default: all traffic)"),
	STR("route-add-cmd", "command", G, check_none, "command that adds an iroute"),
	STR("route-del-cmd", "command", G, check_none, "command that removes an iroute"),
	STR("run-as-group", "group", G | R, check_name, "group of the worker processes"),
	STR("run-as-user", "user", G | R, check_name, "user of the worker processes"),
	KEY("rx-data-per-sec", CONF_SCHEMA_INT, "rate", 0, 0, 2147483647, check_rate, NULL, 0, 0,
	    "bytes per second a client may send (0: no limit)"),
	INT("sec-mod-scale", "integer", G | R, 0, 1024, "processes of the security module"),
	STR("select-group", "group", M, check_select_group,
	    "a group users may select: NAME or NAME[Friendly name]"),
	KEY("select-group-by-url", CONF_SCHEMA_BOOL, "boolean", 0, 0, 0, check_none, NULL,
	    VER(1, 3, 0), 0, "select the group by the URL path"),
	STR("server-cert", "path", M | R | F_EXISTS | F_URL, check_path,
	    "server certificate (file or PKCS#11 URL)"),
	INT("server-drain-ms", "milliseconds", G, 0, 600000,
	    "delay before closing listening sockets on shutdown"),
	STR("server-key", "path", M | R | F_EXISTS | F_URL, check_path,
	    "server key (file or PKCS#11 URL)"),
	INT("server-stats-reset-time", "seconds", G | R, 0, YEAR,
	    "seconds between statistics resets"),
	INT("session-timeout", "seconds", 0, 0, YEAR, "seconds a session may last (0: no limit)"),
	STR("socket-file", "path", G | R | F_PARENT, check_path,
	    "prefix of the sockets to the security module"),
	STR("split-dns", "domain", M, check_domain, "a domain resolved through the VPN's DNS"),
	STR("srk-pin", "text", R | X, check_none, "PIN of the TPM storage root key"),
	PATH("srk-pin-file", R | F_EXISTS, "file with the PIN of the TPM storage root key"),
	INT("stats-report-time", "seconds", 0, 0, YEAR, "seconds between statistics reports"),
	INT("switch-to-tcp-timeout", "seconds", 0, 0, DAY,
	    "seconds without UDP traffic before switching to TCP"),
	KEY("syslog-facility", CONF_SCHEMA_STRING, "enum", G | R, 0, 0, check_enum, facilities,
	    VER(1, 5, 0), 0, "syslog facility of ocserv's messages"),
	INT("tcp-port", "port", G | R, 1, 65535, "TCP port to listen on"),
	STR("tls-priorities", "text", 0, check_none, "GnuTLS priority string"),
	BOOL("try-mtu-discovery", G, "discover the path MTU"),
	BOOL("tunnel-all-dns", 0, "send all DNS queries through the VPN"),
	KEY("tx-data-per-sec", CONF_SCHEMA_INT, "rate", 0, 0, 2147483647, check_rate, NULL, 0, 0,
	    "bytes per second a client may receive (0: no limit)"),
	KEY("udp-listen-host", CONF_SCHEMA_STRING, "host", G | R, 0, 0, check_host, NULL,
	    VER(1, 5, 0), 0, "address or host name to listen on for UDP"),
	KEY("udp-listen-host", CONF_SCHEMA_STRING, "host", R, 0, 0, check_host, NULL, 0,
	    VER(1, 5, 0), "address or host name to listen on for UDP"),
	INT("udp-port", "port", G | R, 1, 65535, "UDP port to listen on"),
	KEY("use-occtl", CONF_SCHEMA_BOOL, "boolean", G, 0, 0, check_occtl, NULL, 0, 0,
	    "ocserv's control socket: must be true for the agent"),
	BOOL("use-utmp", G, "record sessions in utmp"),
	PATH("user-profile", F_EXISTS, "AnyConnect profile (XML) sent to clients"),
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Keys ocserv still knows (or knew) that the agent will not write. */
static const struct {
	const char *name, *why;
} deprecated[] = {
	{"always-require-cert", "always-require-cert is deprecated: use cisco-client-compat"},
	{"use-dbus", "use-dbus is deprecated: use use-occtl"},
	{"use-seccomp", "use-seccomp is deprecated: use isolate-workers"},
	{"session-control", "session-control is deprecated and ignored by ocserv (no replacement)"},
	{"listen-clear-file",
	 "listen-clear-file was removed in ocserv 1.1.2 (ocserv refuses a file that sets it): "
	 "use listen-proxy-proto behind a TLS proxy"},
	{"tunnel_all_dns", "ocserv.conf spells it tunnel-all-dns"},
};

static bool version_known(const struct ocserv_version *v)
{
	return v != NULL && v->text[0] != '\0';
}

static bool in_version(const struct conf_schema_key *k, const struct ocserv_version *v)
{
	unsigned n;

	if (!version_known(v))
		return true;
	n = VER(v->major, v->minor, v->patch);
	return (k->since == 0 || n >= k->since) && (k->until == 0 || n < k->until);
}

static void ver_text(unsigned n, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u", n / 10000, n / 100 % 100, n % 100);
}

const struct conf_schema_key *conf_schema_find(const char *name, const struct ocserv_version *v,
					       char *why, size_t why_len)
{
	const struct conf_schema_key *other = NULL;
	char q[80], at[16];

	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		if (in_version(&keys[i], v))
			return &keys[i];
		other = &keys[i];
	}
	if (why == NULL || why_len == 0)
		return NULL;
	if (other != NULL && other->since != 0 &&
	    VER(v->major, v->minor, v->patch) < other->since) {
		ver_text(other->since, at, sizeof(at));
		snprintf(why, why_len, "ocserv %s does not read %s (it is read from %s on)",
			 v->text, name, at);
		return NULL;
	}
	if (other != NULL) {
		ver_text(other->until, at, sizeof(at));
		snprintf(why, why_len, "ocserv %s no longer reads %s (removed in %s)", v->text,
			 name, at);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(deprecated) / sizeof(deprecated[0]); i++)
		if (strcmp(deprecated[i].name, name) == 0) {
			snprintf(why, why_len, "%s", deprecated[i].why);
			return NULL;
		}
	log_quote(name, q, sizeof(q));
	snprintf(why, why_len, "unknown key \"%s\": ocserv%s%s does not read it", q,
		 version_known(v) ? " " : "", version_known(v) ? v->text : "");
	return NULL;
}

/* Whether one of name's words (separated by '-' or '_') is w, ignoring
 * case: "key-pin" has "pin", "ping-leases" has not. */
static bool has_word(const char *name, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = name; *p != '\0'; p += strcspn(p, "-_"), p += *p != '\0') {
		size_t len = strcspn(p, "-_");
		if (len == n && strncasecmp(p, w, n) == 0)
			return true;
	}
	return false;
}

bool conf_schema_is_secret(const char *key)
{
	static const char *const words[] = {"secret", "password", "passwd", "pin",
					    "key",    "psk",	  "token"};
	size_t len = strlen(key);

	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, key) == 0)
			return keys[i].secret;
	/* A file's name is not its content. */
	if (len >= 5 &&
	    (strcmp(key + len - 5, "-file") == 0 || strcmp(key + len - 5, "_file") == 0))
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (has_word(key, words[i]))
			return true;
	return false;
}

/* ---- schema ---- */

static const char *type_name(enum conf_schema_type t)
{
	return t == CONF_SCHEMA_BOOL ? "boolean" : t == CONF_SCHEMA_INT ? "integer" : "string";
}

bool conf_schema_host_only(const char *key)
{
	static const char *const host_only[] = {
		"connect-script",      "disconnect-script",    "host-update-script",
		"route-add-cmd",       "route-del-cmd",	       "pid-file",
		"socket-file",	       "occtl-socket-file",    "chroot-dir",
		"user-profile",	       "config-per-user",      "config-per-group",
		"default-user-config", "default-group-config",
	};

	for (size_t i = 0; i < sizeof(host_only) / sizeof(host_only[0]); i++)
		if (strcmp(key, host_only[i]) == 0)
			return true;
	return false;
}

static json_t *key_json(const struct conf_schema_key *k)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:s}", "name", k->name,
			      "type", type_name(k->type), "kind", k->kind, "multi", k->multi,
			      "reload", !k->restart, "restartRequired", k->restart, "vhost",
			      !k->global_only, "secret", k->secret, "hostOnly",
			      conf_schema_host_only(k->name), "summary", k->summary);
	json_t *vals;

	if (o == NULL)
		return NULL;
	if (k->type == CONF_SCHEMA_INT &&
	    (json_object_set_new(o, "min", json_integer(k->min)) < 0 ||
	     json_object_set_new(o, "max", json_integer(k->max)) < 0))
		goto fail;
	if (k->values != NULL) {
		if ((vals = json_array()) == NULL || json_object_set_new(o, "values", vals) < 0)
			goto fail;
		for (const char *const *v = k->values; *v != NULL; v++)
			if (json_array_append_new(vals, json_string(*v)) < 0)
				goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *conf_schema_json(const struct ocserv_version *v)
{
	json_t *arr = json_array(), *o;
	const char *last = "";

	o = json_pack("{s:o, s:o}", "ocservVersion",
		      version_known(v) ? json_string(v->text) : json_null(), "keys", arr);
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (!in_version(&keys[i], v) || strcmp(keys[i].name, last) == 0)
			continue;
		last = keys[i].name;
		if (json_array_append_new(arr, key_json(&keys[i])) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *conf_schema_typed(const struct conf_schema_key *k, const char *text)
{
	if (k == NULL || k->type == CONF_SCHEMA_STRING ||
	    ((k->flags & F_TOS) && strncmp(text, "0x", 2) == 0))
		return utf8_json_string(text);
	if (k->type == CONF_SCHEMA_BOOL)
		return json_boolean(ocserv_conf_bool(text, false));
	return json_integer((json_int_t)strtol(text, NULL, 10));
}

/* ---- render ---- */

struct render {
	const struct conf_schema_key *k;
	const char *vhost;
	json_t *problems;
	char **values;
	size_t *n;
	unsigned bad; /* problems added */
	int err;      /* ERR_NOMEM once an allocation failed */
};

/* Append {key, vhost?, value?, message} to problems. */
static int add_problem(json_t *problems, const char *key, const char *vhost, const char *value,
		       const char *msg)
{
	json_t *p = json_object();

	if (p == NULL || json_object_set_new(p, "key", utf8_json_string(key)) < 0 ||
	    (vhost != NULL && json_object_set_new(p, "vhost", utf8_json_string(vhost)) < 0) ||
	    (value != NULL && json_object_set_new(p, "value", utf8_json_string(value)) < 0) ||
	    json_object_set_new(p, "message", json_string(msg)) < 0) {
		json_decref(p);
		return ERR_NOMEM;
	}
	/* json_array_append_new() releases p when it fails. */
	return json_array_append_new(problems, p) < 0 ? ERR_NOMEM : 0;
}

/* A problem of the value text (NULL: of the key or of the whole value). */
static void problem(struct render *r, const char *text, const char *msg)
{
	r->bad++;
	if (r->err == 0 &&
	    add_problem(r->problems, r->k->name, r->vhost, r->k->secret ? NULL : text, msg) < 0)
		r->err = ERR_NOMEM;
}

/* Rules for any text written: the file must read back as this value. */
static void check_text(struct render *r, const char *s)
{
	size_t len = strlen(s);
	bool ctl = false, nl = false;

	if (len == 0) {
		problem(r, s, "must not be empty");
		return;
	}
	for (const char *p = s; *p; p++) {
		if (*p == '\n' || *p == '\r')
			nl = true;
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			ctl = true;
	}
	if (nl)
		problem(r, s, "must not contain a line break");
	if (ctl)
		problem(r, s, "must not contain control characters");
	if (!utf8_valid((const unsigned char *)s, len))
		problem(r, s, "must be valid UTF-8");
	if (isspace((unsigned char)s[0]) || s[0] == '"' || isspace((unsigned char)s[len - 1]) ||
	    s[len - 1] == '"')
		problem(r, s, "must not start or end with a blank or '\"' (ocserv strips them)");
	if (s[0] == '#' || strstr(s, " #") != NULL || strstr(s, "\t#") != NULL)
		problem(r, s,
			"'#' at the start or after a blank begins a comment for ocserv: the rest "
			"of the value would be lost");
}

/* A JSON scalar as text for k (malloc'd), or NULL with a problem added. */
static char *scalar_text(struct render *r, const json_t *j)
{
	const struct conf_schema_key *k = r->k;
	char buf[96];

	switch (k->type) {
	case CONF_SCHEMA_BOOL:
		if (json_is_boolean(j))
			return strdup(json_is_true(j) ? "true" : "false");
		problem(r, NULL, "must be true or false (a JSON boolean)");
		return NULL;
	case CONF_SCHEMA_INT:
		if (json_is_integer(j)) {
			json_int_t n = json_integer_value(j);
			snprintf(buf, sizeof(buf), "%lld", (long long)n);
			if (n >= k->min && n <= k->max)
				return strdup(buf);
			snprintf(buf, sizeof(buf), "must be an integer from %lld to %lld", k->min,
				 k->max);
			problem(r, NULL, buf);
			return NULL;
		}
		if ((k->flags & F_TOS) && json_is_string(j))
			break;
		problem(r, NULL, "must be an integer (a JSON number)");
		return NULL;
	case CONF_SCHEMA_STRING:
		if (json_is_string(j))
			break;
		problem(r, NULL, "must be a string");
		return NULL;
	}
	if (strlen(json_string_value(j)) != json_string_length(j)) {
		problem(r, NULL, "must not contain a NUL character");
		return NULL;
	}
	if (json_string_length(j) > CONF_SCHEMA_VALUE_MAX) {
		problem(r, NULL, "longer than 1024 bytes");
		return NULL;
	}
	return strdup(json_string_value(j));
}

/* One value: typed, checked as text and as k's syntax, no repeat. */
static void one_value(struct render *r, const json_t *j)
{
	unsigned before = r->bad;
	const char *why;
	char *s = scalar_text(r, j);

	if (s == NULL) {
		if (r->bad == before)
			r->err = ERR_NOMEM;
		return;
	}
	if (json_is_string(j))
		check_text(r, s);
	if (*s != '\0' && (why = r->k->check(r->k, s)) != NULL)
		problem(r, s, why);
	for (size_t i = 0; i < *r->n; i++)
		if (strcmp(r->values[i], s) == 0) {
			problem(r, s, "listed twice");
			break;
		}
	if (r->bad != before) {
		free(s);
		return;
	}
	r->values[(*r->n)++] = s;
}

static void list_values(struct render *r, const json_t *value)
{
	size_t n = json_array_size(value);

	if (!r->k->multi)
		problem(r, NULL, "takes one value, not a list");
	else if (n == 0)
		problem(r, NULL, "an empty list: unset removes the key");
	else if (n > CONF_SCHEMA_VALUES_MAX)
		problem(r, NULL, "at most 256 values");
	else
		for (size_t i = 0; i < n && r->err == 0; i++)
			one_value(r, json_array_get(value, i));
}

int conf_schema_render(const struct conf_schema_key *k, const char *vhost, const json_t *value,
		       char **values, size_t *n, json_t *problems)
{
	struct render r = {.k = k, .vhost = vhost, .problems = problems, .values = values, .n = n};

	*n = 0;
	if (vhost != NULL && k->global_only)
		problem(&r, NULL,
			"global only: ocserv ignores or refuses it in a [vhost:NAME] section");
	if (value == NULL || json_is_null(value))
		problem(&r, NULL, "null is not a value (unset removes a key)");
	else if (json_is_array(value))
		list_values(&r, value);
	else
		one_value(&r, value);
	if (r.bad == 0 && r.err == 0)
		return 0;
	for (size_t i = 0; i < *n; i++)
		free(values[i]);
	*n = 0;
	return r.err != 0 ? r.err : 1;
}

/* ---- the whole configuration ---- */

typedef const char *(*get_fn)(void *ctx, const char *section, const char *key);

/* The network's prefix length ("10.0.0.0/24": 24), or -1 without one. */
static int network_prefix(const char *net)
{
	const char *slash = strchr(net, '/');
	unsigned long long n;

	return slash && conf_value_uint(slash + 1, 32, &n) ? (int)n : -1;
}

static int check_netmask_agrees(get_fn get, void *ctx, const char *section, json_t *problems,
				unsigned *bad)
{
	const char *net = get(ctx, section, "ipv4-network"),
		   *mask = get(ctx, section, "ipv4-netmask");
	int plen = net ? network_prefix(net) : -1, mlen = mask ? conf_value_netmask_len(mask) : -1;

	if (net == NULL)
		return 0;
	if (plen >= 0 && mask != NULL && mlen >= 0 && mlen != plen) {
		(*bad)++;
		return add_problem(problems, "ipv4-netmask", section, mask,
				   "does not agree with the prefix length of ipv4-network");
	}
	if (plen < 0 && mask == NULL && section == NULL) {
		(*bad)++;
		return add_problem(problems, "ipv4-network", section, net,
				   "has no /prefix and there is no ipv4-netmask");
	}
	return 0;
}

/* What ocserv 1.1.x-1.3.x demand of a vhost (check_cfg: no inheritance). */
static int check_vhost_needs(get_fn get, void *ctx, const char *vhost,
			     const struct ocserv_version *v, json_t *problems, unsigned *bad)
{
	static const char *const need[] = {"auth", "server-cert", "server-key"};
	int e = 0;

	if (!version_known(v) || VER(v->major, v->minor, v->patch) >= VER(1, 4, 0))
		return 0;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]) && e == 0; i++)
		if (get(ctx, vhost, need[i]) == NULL) {
			(*bad)++;
			e = add_problem(
				problems, need[i], vhost, NULL,
				"ocserv before 1.5 requires it in each vhost (not inherited)");
		}
	if (e == 0 && get(ctx, vhost, "ipv4-network") == NULL &&
	    get(ctx, vhost, "ipv6-network") == NULL) {
		(*bad)++;
		e = add_problem(problems, "ipv4-network", vhost, NULL,
				"ocserv before 1.5 requires ipv4-network or ipv6-network in each "
				"vhost (not inherited)");
	}
	return e;
}

int conf_schema_check_whole(const char *(*get)(void *ctx, const char *section, const char *key),
			    void *ctx, const char *const *vhosts, size_t n_vhosts,
			    const struct ocserv_version *v, json_t *problems)
{
	const char *occtl = get(ctx, NULL, "use-occtl");
	unsigned bad = 0;
	int e = 0;

	if (!ocserv_conf_bool(occtl, false)) {
		bad++;
		e = add_problem(problems, "use-occtl", NULL, occtl,
				occtl ? "must be true: the agent needs ocserv's control socket"
				      : "must be set to true: the agent needs ocserv's control "
					"socket (ocserv's default is off)");
	}
	if (e == 0)
		e = check_netmask_agrees(get, ctx, NULL, problems, &bad);
	for (size_t i = 0; i < n_vhosts && e == 0; i++) {
		e = check_netmask_agrees(get, ctx, vhosts[i], problems, &bad);
		if (e == 0)
			e = check_vhost_needs(get, ctx, vhosts[i], v, problems, &bad);
	}
	return e < 0 ? e : bad > 0;
}
