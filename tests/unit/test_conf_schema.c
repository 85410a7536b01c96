#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf_schema.h"
#include "unit.h"

static char tmpdir[64];
static char passwd_path[128], cert_path[128], subdir[128];

static int setup(void **state)
{
	(void)state;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "test-conf-schema") == NULL)
		return -1;
	unit_join(passwd_path, sizeof(passwd_path), tmpdir, "ocpasswd");
	unit_join(cert_path, sizeof(cert_path), tmpdir, "cert.pem");
	unit_join(subdir, sizeof(subdir), tmpdir, "per-user");
	if (unit_write_str(passwd_path, "alice:*:x\n") < 0 ||
	    unit_write_str(cert_path, "x\n") < 0 || mkdir(subdir, 0755) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

static struct ocserv_version ver(const char *text)
{
	struct ocserv_version v = {0};

	if (*text != '\0')
		assert_int_equal(ocserv_version_parse(text, &v), 0);
	return v;
}

static const struct conf_schema_key *key(const char *name, const char *version)
{
	struct ocserv_version v = ver(version);
	char why[256] = "";
	const struct conf_schema_key *k = conf_schema_find(name, &v, why, sizeof(why));

	if (k == NULL)
		fail_msg("%s on %s: %s", name, version, why);
	return k;
}

/* Render json (text) for name; returns 0/1 and fills *problems (caller
 * decrefs) and out (values joined by '|'). */
static int render(const char *name, const char *version, const char *vhost, const char *json,
		  char *out, size_t out_len, json_t **problems)
{
	const struct conf_schema_key *k = key(name, version);
	char *values[CONF_SCHEMA_VALUES_MAX];
	json_error_t e;
	json_t *value = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	size_t n = 99;
	int r;

	if (value == NULL)
		fail_msg("bad test JSON %s: %s", json, e.text);
	*problems = json_array();
	r = conf_schema_render(k, vhost, value, values, &n, *problems);
	json_decref(value);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strncat(out, "|", out_len - strlen(out) - 1);
		strncat(out, values[i], out_len - strlen(out) - 1);
		free(values[i]);
	}
	if (r == 1)
		assert_int_equal(n, 0);
	return r;
}

static void ok_as(const char *name, const char *version, const char *json, const char *want)
{
	char out[4096];
	json_t *p;
	int r = render(name, version, NULL, json, out, sizeof(out), &p);

	if (r != 0) {
		char *dump = json_dumps(p, 0);
		fail_msg("%s = %s refused: %s", name, json, dump);
	}
	assert_int_equal(json_array_size(p), 0);
	assert_string_equal(out, want);
	json_decref(p);
}

static void ok(const char *name, const char *json)
{
	char want[1024];
	size_t n = strlen(json);

	/* a JSON string's text without its quotes, or the scalar as written */
	if (json[0] == '"') {
		memcpy(want, json + 1, n - 2);
		want[n - 2] = '\0';
	} else {
		snprintf(want, sizeof(want), "%s", json);
	}
	ok_as(name, "", json, want);
}

/* Refused, with a problem whose message contains msg (NULL: any). Returns
 * the number of problems. */
static size_t bad_in(const char *name, const char *version, const char *vhost, const char *json,
		     const char *msg)
{
	char out[64];
	json_t *p, *e;
	size_t i, n;
	bool found = msg == NULL;

	if (render(name, version, vhost, json, out, sizeof(out), &p) != 1)
		fail_msg("%s = %s accepted as \"%s\"", name, json, out);
	n = json_array_size(p);
	assert_true(n >= 1);
	json_array_foreach(p, i, e)
	{
		assert_string_equal(json_string_value(json_object_get(e, "key")), name);
		assert_non_null(json_string_value(json_object_get(e, "message")));
		if (msg != NULL && strstr(json_string_value(json_object_get(e, "message")), msg))
			found = true;
	}
	if (!found) {
		char *dump = json_dumps(p, 0);
		fail_msg("%s = %s: no problem mentions \"%s\": %s", name, json, msg, dump);
	}
	json_decref(p);
	return n;
}

static size_t bad(const char *name, const char *json, const char *msg)
{
	return bad_in(name, "", NULL, json, msg);
}

static void test_versions(void **state)
{
	struct ocserv_version v116 = ver("1.1.6"), v130 = ver("1.3.0"), v141 = ver("1.4.1"),
			      v150 = ver("1.5.0"), unknown = ver("");
	char why[256];

	(void)state;
	assert_null(conf_schema_find("camouflage", &v116, why, sizeof(why)));
	assert_non_null(strstr(why, "1.2.0"));
	assert_non_null(conf_schema_find("camouflage", &v130, why, sizeof(why)));
	assert_null(conf_schema_find("cisco-svc-client-compat", &v116, why, sizeof(why)));
	assert_null(conf_schema_find("select-group-by-url", &v116, why, sizeof(why)));
	assert_non_null(conf_schema_find("select-group-by-url", &v130, why, sizeof(why)));
	assert_null(conf_schema_find("ban-time", &v130, why, sizeof(why)));
	assert_non_null(strstr(why, "1.4.1"));
	assert_non_null(conf_schema_find("ban-time", &v141, why, sizeof(why)));
	assert_null(conf_schema_find("limit-worker-memory", &v141, why, sizeof(why)));
	assert_non_null(conf_schema_find("limit-worker-memory", &v150, why, sizeof(why)));
	assert_null(conf_schema_find("syslog-facility", &v130, why, sizeof(why)));
	assert_non_null(conf_schema_find("syslog-facility", &v150, why, sizeof(why)));
	assert_non_null(conf_schema_find("cgroup", &v130, why, sizeof(why)));
	assert_null(conf_schema_find("cgroup", &v150, why, sizeof(why)));
	assert_non_null(strstr(why, "no longer"));
	/* An unknown version allows every version's keys, with the strictest rules. */
	assert_non_null(conf_schema_find("cgroup", &unknown, why, sizeof(why)));
	assert_non_null(conf_schema_find("syslog-facility", &unknown, why, sizeof(why)));
	assert_non_null(conf_schema_find("camouflage", NULL, NULL, 0));
	assert_true(conf_schema_find("listen-host", &unknown, why, sizeof(why))->global_only);
	assert_true(conf_schema_find("listen-host", &v150, why, sizeof(why))->global_only);
	assert_false(conf_schema_find("listen-host", &v130, why, sizeof(why))->global_only);
	assert_false(conf_schema_find("udp-listen-host", &v116, why, sizeof(why))->global_only);
	/* ocserv.conf spells it with '-' in every version. */
	assert_non_null(conf_schema_find("tunnel-all-dns", &v116, why, sizeof(why)));
	assert_null(conf_schema_find("tunnel_all_dns", &v116, why, sizeof(why)));
	assert_non_null(strstr(why, "tunnel-all-dns"));
}

static void test_deprecated_and_unknown(void **state)
{
	static const char *const cases[][2] = {
		{"always-require-cert", "cisco-client-compat"},
		{"use-dbus", "use-occtl"},
		{"use-seccomp", "isolate-workers"},
		{"listen-clear-file", "1.1.2"},
		{"session-control", "deprecated"},
		{"max-client", "unknown key \"max-client\""},
		{"Route", "unknown key"},
	};
	struct ocserv_version v = ver("1.3.0");
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		assert_null(conf_schema_find(cases[i][0], &v, why, sizeof(why)));
		if (strstr(why, cases[i][1]) == NULL)
			fail_msg("%s: %s", cases[i][0], why);
	}
}

static void test_bool(void **state)
{
	(void)state;
	ok("tunnel-all-dns", "true");
	ok("isolate-workers", "false");
	bad("tunnel-all-dns", "\"true\"", "JSON boolean");
	bad("tunnel-all-dns", "1", "JSON boolean");
	bad("tunnel-all-dns", "null", "null");
	bad("tunnel-all-dns", "[true]", "not a list");
	bad("tunnel-all-dns", "{}", "JSON boolean");
	/* The agent needs ocserv's control socket. */
	ok("use-occtl", "true");
	bad("use-occtl", "false", "control socket");
}

static void test_int_bounds(void **state)
{
	(void)state;
	ok("max-clients", "0");
	ok("max-clients", "1000000");
	bad("max-clients", "1000001", "from 0 to 1000000");
	bad("max-clients", "-1", "from 0 to 1000000");
	bad("max-clients", "\"10\"", "integer");
	bad("max-clients", "1.5", "integer");
	bad("max-clients", "true", "integer");
	bad("mtu", "575", "576");
	ok("mtu", "1400");
	bad("mtu", "9001", "9000");
	bad("tcp-port", "0", "1 to 65535");
	ok("tcp-port", "65535");
	bad("udp-port", "65536", "1 to 65535");
	bad("ipv6-prefix", "0", NULL);
	ok("ipv6-subnet-prefix", "128");
	bad("ipv6-subnet-prefix", "129", NULL);
	ok("session-timeout", "31536000");
	bad("session-timeout", "31536001", NULL);
	bad("dpd", "86401", NULL);
	ok("log-level", "9");
	bad("log-level", "10", NULL);
}

static void test_rate_priority(void **state)
{
	(void)state;
	ok("rx-data-per-sec", "0");
	ok("tx-data-per-sec", "1000");
	bad("rx-data-per-sec", "500", "kB/s");
	bad("rx-data-per-sec", "2147483648", NULL);
	ok("net-priority", "6");
	bad("net-priority", "7", NULL);
	ok("net-priority", "\"0x20\"");
	ok("net-priority", "\"3\"");
	bad("net-priority", "\"0x\"", "TOS");
	bad("net-priority", "\"0x123\"", "TOS");
	bad("net-priority", "\"high\"", "priority");
}

static void test_enum_and_misc(void **state)
{
	(void)state;
	ok("rekey-method", "\"ssl\"");
	ok("rekey-method", "\"new-tunnel\"");
	bad("rekey-method", "\"SSL\"", "allowed values");
	ok_as("syslog-facility", "1.5.0", "\"local3\"", "local3");
	bad_in("syslog-facility", "1.5.0", NULL, "\"kern\"", "allowed values");
	ok("compression-algo-priority", "\"lzs:10\"");
	bad("compression-algo-priority", "\"zstd:10\"", "lzs or oc-lz4");
	ok("device", "\"vpns\"");
	bad("device", "\"vpn/x\"", NULL);
	ok("select-group", "\"staff[Staff members]\"");
	bad("select-group", "\"[x]\"", NULL);
	ok("kkdcp", "\"/KdcProxy EXAMPLE.COM udp@127.0.0.1:88\"");
	bad("kkdcp", "\"KdcProxy\"", NULL);
	ok("restrict-user-to-ports", "\"tcp(443), udp(53)\"");
	bad("restrict-user-to-ports", "\"tcp(70000)\"", NULL);
	ok("listen-host", "\"vpn.example.com\"");
	ok("listen-host", "\"2001:db8::1\"");
	bad("listen-host", "\"999.1.1.1\"", "IPv4");
	ok("run-as-user", "\"nobody\"");
	bad("run-as-user", "\"-x\"", NULL);
	ok("cgroup", "\"cpuset,cpu:vpn\"");
}

static void test_routes_networks(void **state)
{
	(void)state;
	ok("route", "\"default\"");
	ok("route", "\"10.0.0.0/8\"");
	ok("route", "\"10.0.0.0/255.0.0.0\"");
	ok("route", "\"2001:db8::/32\"");
	bad("route", "\"10.0.0.1/8\"", "beyond the prefix");
	bad("route", "\"10.0.0.0\"", "prefix");
	ok("no-route", "\"192.168.0.0/16\"");
	bad("no-route", "\"default\"", NULL);
	/* ocserv -t passes it and then every new tunnel fails. */
	bad("ipv4-network", "\"999.1.1.1\"", "IPv4");
	ok("ipv4-network", "\"10.1.0.0/24\"");
	ok("ipv4-network", "\"10.1.0.0\"");
	bad("ipv4-network", "\"10.1.0.0/33\"", NULL);
	bad("ipv4-network", "\"2001:db8::/64\"", NULL);
	ok("ipv6-network", "\"2001:db8::/64\"");
	bad("ipv6-network", "\"10.0.0.0/8\"", NULL);
	ok("ipv4-netmask", "\"255.255.255.0\"");
	bad("ipv4-netmask", "\"255.0.255.0\"", "contiguous");
}

static void test_dns(void **state)
{
	(void)state;
	ok_as("dns", "", "[\"1.1.1.1\", \"2001:db8::1\"]", "1.1.1.1|2001:db8::1");
	bad("dns", "\"dns.example.com\"", "IPv4 or IPv6");
	ok("ipv4-dns", "\"9.9.9.9\"");
	bad("ipv4-dns", "\"2001:db8::1\"", "IPv4");
	bad("ipv6-dns", "\"9.9.9.9\"", "IPv6");
	ok("ipv4-nbns", "\"10.0.0.1\"");
	ok("split-dns", "\"corp.example.com\"");
	bad("split-dns", "\"-bad.example.com\"", NULL);
	ok("default-domain", "\"a.example b.example\"");
	bad("default-domain", "\"a.example  b.example\"", NULL);
	bad("default-domain", "\"a_b.example\"", NULL);
}

static void test_paths(void **state)
{
	char json[512], missing[256], sock[256];

	(void)state;
	snprintf(json, sizeof(json), "\"%s\"", cert_path);
	ok("ca-cert", json);
	ok("server-cert", json);
	snprintf(missing, sizeof(missing), "\"%s/nope.pem\"", tmpdir);
	bad("ca-cert", missing, "no such file");
	bad("ca-cert", "\"cert.pem\"", "absolute");
	snprintf(json, sizeof(json), "\"%s\"", subdir);
	bad("crl", json, "directory");
	ok("config-per-user", json);
	snprintf(json, sizeof(json), "\"%s\"", cert_path);
	bad("config-per-group", json, "not a directory");
	bad("config-per-group", missing, "no such directory");
	/* Files ocserv creates: their directory must exist. */
	snprintf(sock, sizeof(sock), "\"%s/sock\"", tmpdir);
	ok("socket-file", sock);
	ok("occtl-socket-file", sock);
	snprintf(sock, sizeof(sock), "\"%s/nodir/sock\"", tmpdir);
	bad("pid-file", sock, "directory does not exist");
	bad("socket-file", "\"/x/\"", NULL);
	/* A PKCS#11 key is not a file. */
	ok("server-key", "\"pkcs11:token=vpn;object=key\"");
	bad("ca-cert", "\"pkcs11:token=vpn\"", "absolute");
	bad("user-profile", missing, "no such file");
}

static void test_auth(void **state)
{
	char json[512], want[512];

	(void)state;
	ok("auth", "\"pam\"");
	ok("auth", "\"certificate\"");
	ok("auth", "\"pam[gid-min=1000]\"");
	snprintf(json, sizeof(json), "\"plain[passwd=%s]\"", passwd_path);
	ok("auth", json);
	snprintf(json, sizeof(json), "\"plain[%s]\"", passwd_path); /* the old form */
	ok("auth", json);
	snprintf(json, sizeof(json), "\"plain[passwd=%s/missing]\"", tmpdir);
	bad("auth", json, "does not exist");
	bad("auth", "\"plain\"", "passwd");
	bad("auth", "\"plain[otp=relative]\"", "absolute");
	bad("auth", "\"ldap\"", "the method must be");
	bad("auth", "\"Pam\"", "the method must be");
	bad("auth", "\"pam[foo=1]\"", "does not know");
	bad("auth", "\"pam[gid-min=1000\"", "']'");
	bad("auth", "\"certificate[x=1]\"", "no options");
	bad("auth", "\"radius\"", "config=");
	snprintf(json, sizeof(json), "\"radius[config=%s,groupconfig=true,nas-identifier=vpn1]\"",
		 passwd_path);
	ok("auth", json);
	snprintf(json, sizeof(json), "\"radius[config=%s, groupconfig=true]\"", passwd_path);
	bad("auth", json, "no blanks");
	snprintf(json, sizeof(json), "\"radius[config=%s]\"", passwd_path);
	ok("acct", json);
	ok("acct", "\"pam\"");
	snprintf(json, sizeof(json), "\"plain[passwd=%s]\"", passwd_path);
	bad("acct", json, "radius or pam");
	/* Several methods: a list. */
	snprintf(json, sizeof(json), "[\"certificate\", \"plain[passwd=%s]\"]", passwd_path);
	snprintf(want, sizeof(want), "certificate|plain[passwd=%s]", passwd_path);
	ok_as("auth", "", json, want);
	ok_as("enable-auth", "", "\"gssapi\"", "gssapi");
}

static void test_multi_and_single(void **state)
{
	char json[8192];
	size_t len;

	(void)state;
	ok_as("route", "", "\"10.0.0.0/8\"", "10.0.0.0/8"); /* one string: one value */
	ok_as("route", "", "[\"10.0.0.0/8\", \"default\"]", "10.0.0.0/8|default");
	bad("route", "[]", "empty list");
	bad("route", "[\"10.0.0.0/8\", \"10.0.0.0/8\"]", "listed twice");
	bad("route", "[\"10.0.0.0/8\", 5]", "string");
	bad("route", "[[\"10.0.0.0/8\"]]", "string");
	bad("mtu", "[1400]", "not a list");
	bad("banner", "[\"a\"]", "not a list");
	len = (size_t)snprintf(json, sizeof(json), "[");
	for (int i = 0; i < 257; i++)
		len += (size_t)snprintf(json + len, sizeof(json) - len, "%s\"10.%d.%d.0/24\"",
					i ? "," : "", i / 256, i % 256);
	snprintf(json + len, sizeof(json) - len, "]");
	bad("route", json, "at most 256");
}

static void test_text_rules(void **state)
{
	char json[2048];

	(void)state;
	bad("banner", "\"a\\nb\"", "line break");
	bad("banner", "\"a\\rb\"", "line break");
	bad("banner", "\"a\\u0001b\"", "control characters");
	bad("banner", "\"a\\u0000b\"", "NUL");
	bad("banner", "\" a\"", "blank");
	bad("banner", "\"a \"", "blank");
	bad("banner", "\"a\\\"\"", "'\"'");
	bad("banner", "\"\\\"a\"", "'\"'");
	bad("banner", "\"\"", "empty");
	bad("banner", "\"a #b\"", "comment");
	bad("banner", "\"#a\"", "comment");
	ok("banner", "\"a#b\"");
	ok("banner", "\"Welcome; key = value: yes\""); /* '=' ':' ';' are data here */
	ok("tls-priorities", "\"NORMAL:%SERVER_PRECEDENCE:-VERS-TLS1.0\"");
	ok("custom-header", "\"X-My-Header: true\"");
	memset(json, 0, sizeof(json));
	json[0] = '"';
	memset(json + 1, 'a', 257);
	json[258] = '"';
	bad("banner", json, "256 bytes");
	json[0] = '"';
	memset(json + 1, 'a', 1025);
	json[1026] = '"';
	bad("tls-priorities", json, "1024 bytes");
}

static void test_every_problem(void **state)
{
	(void)state;
	/* blank at the ends, a line break, a comment: all three reported */
	assert_true(bad("banner", "\" a #b\\n\"", "line break") >= 3);
	assert_int_equal(bad("route", "[\"nope\", \"10.0.0.1/8\"]", NULL), 2);
	/* global only and a bad value */
	assert_int_equal(bad_in("max-clients", "1.3.0", "v", "-5", "global only"), 2);
}

static void test_vhost(void **state)
{
	char out[64];
	json_t *p;

	(void)state;
	bad_in("max-clients", "1.3.0", "v.example", "10", "global only");
	bad_in("tcp-port", "1.1.6", "v.example", "443", "global only");
	bad_in("pid-file", "1.1.6", "v.example", "\"/run/x.pid\"", "global only");
	bad_in("listen-host", "1.5.0", "v.example", "\"10.0.0.1\"", "global only");
	bad_in("ban-time", "1.5.0", "v.example", "60", "global only");
	assert_int_equal(
		render("listen-host", "1.3.0", "v.example", "\"10.0.0.1\"", out, sizeof(out), &p),
		0);
	json_decref(p);
	assert_int_equal(render("mtu", "1.5.0", "v.example", "1400", out, sizeof(out), &p), 0);
	assert_string_equal(out, "1400");
	json_decref(p);
	/* Problems name the vhost. */
	assert_int_equal(render("mtu", "1.5.0", "v.example", "1", out, sizeof(out), &p), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(p, 0), "vhost")),
			    "v.example");
	json_decref(p);
}

static void test_secret(void **state)
{
	char out[64];
	json_t *p;

	(void)state;
	assert_true(key("key-pin", "")->secret);
	assert_true(key("srk-pin", "")->secret);
	assert_true(key("camouflage_secret", "1.3.0")->secret);
	assert_false(key("server-key", "")->secret);
	/* A secret's value is never echoed in a problem. */
	assert_int_equal(render("key-pin", "", NULL, "\"12 #34\"", out, sizeof(out), &p), 1);
	assert_null(json_object_get(json_array_get(p, 0), "value"));
	json_decref(p);
	assert_int_equal(render("banner", "", NULL, "\"12 #34\"", out, sizeof(out), &p), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(p, 0), "value")),
			    "12 #34");
	json_decref(p);
	assert_true(conf_schema_is_secret("key-pin"));
	assert_true(conf_schema_is_secret("srk-pin"));
	assert_true(conf_schema_is_secret("camouflage_secret"));
	assert_true(conf_schema_is_secret("cookie-key"));
	assert_true(conf_schema_is_secret("radius-secret"));
	assert_true(conf_schema_is_secret("admin_password"));
	assert_true(conf_schema_is_secret("PSK"));
	assert_false(conf_schema_is_secret("server-key"));
	assert_false(conf_schema_is_secret("pin-file"));
	assert_false(conf_schema_is_secret("srk-pin-file"));
	assert_false(conf_schema_is_secret("some-password-file"));
	assert_false(conf_schema_is_secret("ping-leases"));
	assert_false(conf_schema_is_secret("keepalive"));
	assert_false(conf_schema_is_secret("dtls-psk")); /* a known boolean */
	assert_false(conf_schema_is_secret("monkey"));
}

static void expect_bool(const struct conf_schema_key *k, const char *text, bool want)
{
	json_t *j = conf_schema_typed(k, text);

	assert_true(json_is_boolean(j));
	if (json_is_true(j) != want)
		fail_msg("\"%s\" read as %d", text, !want);
	json_decref(j);
}

static void expect_int(const struct conf_schema_key *k, const char *text, long long want)
{
	json_t *j = conf_schema_typed(k, text);

	assert_true(json_is_integer(j));
	assert_int_equal(json_integer_value(j), want);
	json_decref(j);
}

static void expect_str(const struct conf_schema_key *k, const char *text)
{
	json_t *j = conf_schema_typed(k, text);

	assert_true(json_is_string(j));
	assert_string_equal(json_string_value(j), text);
	json_decref(j);
}

static void test_typed(void **state)
{
	const struct conf_schema_key *b = key("try-mtu-discovery", ""), *i = key("mtu", ""),
				     *prio = key("net-priority", ""), *s = key("route", "");

	(void)state;
	expect_bool(b, "true", true);
	expect_bool(b, "TRUE", true);
	expect_bool(b, "Yes", true);
	expect_bool(b, "on", false); /* ocserv: only true and yes */
	expect_bool(b, "1", false);
	expect_bool(b, "", false);
	expect_int(i, "1400", 1400);
	expect_int(i, "12abc", 12); /* strtol */
	expect_int(i, "junk", 0);
	expect_int(i, "-5", -5);
	expect_int(i, "0x10", 0);
	expect_int(prio, "3", 3);
	expect_str(prio, "0x20");
	expect_str(s, "10.0.0.0/8");
	expect_str(NULL, "anything = at all");
}

/* Every key of Debian's sample ocserv.conf of each version, set or
 * commented out ("#key = value"), is in the schema of that version. */
static void test_debian_samples(void **state)
{
	(void)state;
	for (size_t i = 0; i < UNIT_N_VERSIONS; i++) {
		struct ocserv_version v = ver(unit_versions[i]);
		char path[512], *text, *save = NULL, why[256];
		size_t len, n = 0;

		snprintf(path, sizeof(path), "%s/ocserv-conf/debian-%s.conf", FIXTURES_DIR,
			 unit_versions[i]);
		text = unit_read_file(path, &len);
		assert_non_null(text);
		for (char *line = strtok_r(text, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			char *k = line + (line[0] == '#'), *end = k;
			while ((*end >= 'a' && *end <= 'z') || (*end >= '0' && *end <= '9') ||
			       *end == '-' || *end == '_')
				end++;
			if (end == k || k[0] < 'a' || k[0] > 'z' || end[strspn(end, " ")] != '=')
				continue;
			*end = '\0';
			n++;
			if (conf_schema_find(k, &v, why, sizeof(why)) == NULL)
				fail_msg("%s: %s", unit_versions[i], why);
		}
		assert_true(n > 50);
		free(text);
	}
}

static const json_t *schema_key(const json_t *schema, const char *name)
{
	size_t i;
	json_t *k;

	json_array_foreach(json_object_get(schema, "keys"), i,
			   k) if (strcmp(json_string_value(json_object_get(k, "name")), name) ==
				  0) return k;
	return NULL;
}

static void check_shape(const json_t *schema)
{
	const char *prev = "";
	size_t i;
	json_t *k;

	assert_true(json_array_size(json_object_get(schema, "keys")) > 100);
	json_array_foreach(json_object_get(schema, "keys"), i, k)
	{
		const char *name = json_string_value(json_object_get(k, "name")),
			   *type = json_string_value(json_object_get(k, "type"));
		assert_non_null(name);
		if (strcmp(prev, name) >= 0)
			fail_msg("not sorted or repeated: %s after %s", name, prev);
		prev = name;
		assert_true(strcmp(type, "boolean") == 0 || strcmp(type, "integer") == 0 ||
			    strcmp(type, "string") == 0);
		assert_non_null(json_string_value(json_object_get(k, "kind")));
		assert_non_null(json_string_value(json_object_get(k, "summary")));
		assert_true(json_is_boolean(json_object_get(k, "multi")));
		assert_true(json_is_boolean(json_object_get(k, "vhost")));
		assert_true(json_is_boolean(json_object_get(k, "secret")));
		assert_true(json_is_boolean(json_object_get(k, "reload")));
		assert_true(json_is_true(json_object_get(k, "reload")) !=
			    json_is_true(json_object_get(k, "restartRequired")));
		assert_true(json_is_integer(json_object_get(k, "min")) ==
			    (strcmp(type, "integer") == 0));
		assert_true(json_is_integer(json_object_get(k, "max")) ==
			    (strcmp(type, "integer") == 0));
	}
}

static void test_schema_json(void **state)
{
	struct ocserv_version v116 = ver("1.1.6"), v150 = ver("1.5.0"), unknown = ver("");
	json_t *s116 = conf_schema_json(&v116), *s150 = conf_schema_json(&v150),
	       *sany = conf_schema_json(&unknown);
	const json_t *k;

	(void)state;
	check_shape(s116);
	check_shape(s150);
	check_shape(sany);
	assert_string_equal(json_string_value(json_object_get(s116, "ocservVersion")), "1.1.6");
	assert_true(json_is_null(json_object_get(sany, "ocservVersion")));
	assert_null(schema_key(s116, "camouflage"));
	assert_null(schema_key(s116, "ban-time"));
	assert_non_null(schema_key(s116, "cgroup"));
	assert_null(schema_key(s150, "cgroup"));
	assert_non_null(schema_key(s150, "syslog-facility"));
	assert_null(schema_key(s116, "use-dbus"));
	k = schema_key(s116, "tcp-port");
	assert_true(json_is_true(json_object_get(k, "restartRequired")));
	assert_true(json_is_false(json_object_get(k, "reload")));
	assert_true(json_is_false(json_object_get(k, "vhost")));
	assert_int_equal(json_integer_value(json_object_get(k, "min")), 1);
	assert_int_equal(json_integer_value(json_object_get(k, "max")), 65535);
	k = schema_key(s116, "route");
	assert_true(json_is_true(json_object_get(k, "multi")));
	assert_true(json_is_true(json_object_get(k, "reload")));
	assert_true(json_is_true(json_object_get(k, "vhost")));
	assert_string_equal(json_string_value(json_object_get(k, "kind")), "route");
	k = schema_key(s116, "rekey-method");
	assert_int_equal(json_array_size(json_object_get(k, "values")), 2);
	assert_true(json_is_true(json_object_get(schema_key(s116, "key-pin"), "secret")));
	assert_true(json_is_true(json_object_get(schema_key(s116, "listen-host"), "vhost")));
	assert_true(json_is_false(json_object_get(schema_key(s150, "listen-host"), "vhost")));
	assert_true(json_is_false(json_object_get(schema_key(sany, "listen-host"), "vhost")));
	json_decref(s116);
	json_decref(s150);
	json_decref(sany);
}

/* A candidate configuration for conf_schema_check_whole: section\tkey\tvalue. */
static const char *const *conf_rows;

static const char *get(void *ctx, const char *section, const char *k)
{
	(void)ctx;
	for (const char *const *r = conf_rows; r[0] != NULL; r += 3)
		if (((section == NULL && r[0][0] == '\0') ||
		     (section != NULL && strcmp(section, r[0]) == 0)) &&
		    strcmp(k, r[1]) == 0)
			return r[2];
	return NULL;
}

static int whole(const char *const *rows, const char *version, json_t **problems)
{
	static const char *const vhosts[] = {"v.example"};
	struct ocserv_version v = ver(version);

	conf_rows = rows;
	*problems = json_array();
	return conf_schema_check_whole(get, NULL, vhosts, 1, &v, *problems);
}

static bool has_problem(const json_t *p, const char *key, const char *vhost)
{
	size_t i;
	json_t *e;

	json_array_foreach(p, i, e)
	{
		const char *vh = json_string_value(json_object_get(e, "vhost"));
		if (strcmp(json_string_value(json_object_get(e, "key")), key) == 0 &&
		    (vhost == NULL ? vh == NULL : vh != NULL && strcmp(vh, vhost) == 0))
			return true;
	}
	return false;
}

static void test_check_whole(void **state)
{
	static const char *const good[] = {"",		"use-occtl",	"true",
					   "",		"ipv4-network", "10.1.0.0/24",
					   "v.example", "auth",		"pam",
					   "v.example", "server-cert",	"/c",
					   "v.example", "server-key",	"/k",
					   "v.example", "ipv4-network", "10.2.0.0",
					   "v.example", "ipv4-netmask", "255.255.255.0",
					   NULL};
	static const char *const no_occtl[] = {"", "ipv4-network", "10.1.0.0/24", NULL};
	static const char *const occtl_off[] = {
		"", "use-occtl", "no", "", "ipv4-network", "10.1.0.0/24", NULL};
	static const char *const mismatch[] = {"",	    "use-occtl",    "yes",
					       "",	    "ipv4-network", "10.1.0.0/24",
					       "",	    "ipv4-netmask", "255.255.0.0",
					       "v.example", "ipv4-network", "10.2.0.0/16",
					       "v.example", "ipv4-netmask", "255.255.255.0",
					       NULL};
	static const char *const no_mask[] = {"",	  "use-occtl", "true", "", "ipv4-network",
					      "10.1.0.0", NULL};
	json_t *p;

	(void)state;
	assert_int_equal(whole(good, "1.3.0", &p), 0);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	assert_int_equal(whole(no_occtl, "1.5.0", &p), 1);
	assert_true(has_problem(p, "use-occtl", NULL));
	json_decref(p);
	assert_int_equal(whole(occtl_off, "1.5.0", &p), 1);
	assert_true(has_problem(p, "use-occtl", NULL));
	json_decref(p);
	assert_int_equal(whole(mismatch, "1.5.0", &p), 1);
	assert_true(has_problem(p, "ipv4-netmask", NULL));
	assert_true(has_problem(p, "ipv4-netmask", "v.example"));
	json_decref(p);
	assert_int_equal(whole(no_mask, "1.5.0", &p), 1);
	assert_true(has_problem(p, "ipv4-network", NULL));
	json_decref(p);
	/* A vhost without its own auth/cert/key/network: 1.1.6 and 1.3.0 refuse it,
	 * 1.5.0 inherits them. The vhost here has none of its own. */
	assert_int_equal(whole(no_occtl + 0, "1.5.0", &p), 1);
	assert_false(has_problem(p, "auth", "v.example"));
	json_decref(p);
	{
		static const char *const bare[] = {
			"",	     "use-occtl", "true", "",  "ipv4-network", "10.1.0.0/24",
			"v.example", "mtu",	  "1400", NULL};
		assert_int_equal(whole(bare, "1.5.0", &p), 0);
		json_decref(p);
		assert_int_equal(whole(bare, "", &p), 0);
		json_decref(p);
		assert_int_equal(whole(bare, "1.3.0", &p), 1);
		assert_true(has_problem(p, "auth", "v.example"));
		assert_true(has_problem(p, "server-cert", "v.example"));
		assert_true(has_problem(p, "server-key", "v.example"));
		assert_true(has_problem(p, "ipv4-network", "v.example"));
		json_decref(p);
		assert_int_equal(whole(bare, "1.1.6", &p), 1);
		json_decref(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_deprecated_and_unknown),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_int_bounds),
		cmocka_unit_test(test_rate_priority),
		cmocka_unit_test(test_enum_and_misc),
		cmocka_unit_test(test_routes_networks),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_multi_and_single),
		cmocka_unit_test(test_text_rules),
		cmocka_unit_test(test_every_problem),
		cmocka_unit_test(test_vhost),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_typed),
		cmocka_unit_test(test_schema_json),
		cmocka_unit_test(test_check_whole),
		cmocka_unit_test(test_debian_samples),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
