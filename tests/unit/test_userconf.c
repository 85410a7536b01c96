/* userconf.h: per-user/per-group files kept line for line, keys and values
 * checked by type and version, the directory handled safely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/stat.h>

#include "err.h"
#include "ocserv.h"
#include "userconf.h"
#include "unit.h"

static char tmpdir[64];
static struct userconf *uc; /* freed by teardown too, when a test fails midway */

static int setup(void **state)
{
	(void)state;
	return unit_mkdtemp(tmpdir, sizeof(tmpdir), "userconftest") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	userconf_free(uc);
	uc = NULL;
	unit_rmtree(tmpdir);
	return 0;
}

static struct ocserv_version ver(const char *text)
{
	struct ocserv_version v;

	memset(&v, 0, sizeof(v));
	if (text != NULL)
		assert_int_equal(ocserv_version_parse(text, &v), 0);
	return v;
}

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (j == NULL)
		fail_msg("bad JSON in test: %s: %s", text, e.text);
	return j;
}

static void parse(const char *text)
{
	struct err_info ei = {{0}};

	userconf_free(uc);
	uc = NULL;
	assert_int_equal(userconf_parse(text, strlen(text), &uc, &ei), 0);
}

static void assert_text(const char *want)
{
	size_t len;
	char *got = userconf_serialize(uc, &len);

	assert_non_null(got);
	if (len != strlen(want) || memcmp(got, want, len) != 0)
		fail_msg("file text:\n--- got ---\n%s\n--- want ---\n%s", got, want);
	free(got);
}

/* Apply settings (JSON text) to the parsed file; returns the result. */
static int apply(const char *settings, bool replace, const char *version, bool *changed, char *why,
		 size_t why_len)
{
	struct ocserv_version v = ver(version);
	json_t *j = J(settings);
	bool ch = false;
	char w[300] = "";
	int r = userconf_apply(uc, j, replace, &v, &ch, why ? why : w, why ? why_len : sizeof(w));

	json_decref(j);
	if (changed)
		*changed = ch;
	return r;
}

static void assert_applies(const char *settings, bool replace, const char *want_text)
{
	char why[300] = "";

	if (apply(settings, replace, "1.1.6", NULL, why, sizeof(why)) != 0)
		fail_msg("%s refused: %s", settings, why);
	assert_text(want_text);
}

/* ---- names ---- */

static void test_names(void **state)
{
	static const char *const good[] = {"alice", "bob.smith", "staff", "Jos\xc3\xa9",
					   "a",	    "x.tmpfile", "tmp",	  "user@example.com",
					   "a-b_c"};
	static const char *const bad[] = {
		"",
		".",
		"..",
		".hidden",
		"-rf",
		"a/b",
		"../etc/passwd",
		"a:b",
		"a,b",
		"a b",
		"a\tb",
		"a\nb",
		"\x7f",
		"\xff",
		"alice.tmp",
		".tmp",
		"0123456789012345678901234567890123456789012345678901234567890123"};
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (userconf_check_name(good[i]) != NULL)
			fail_msg("'%s' refused: %s", good[i], userconf_check_name(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (userconf_check_name(bad[i]) == NULL)
			fail_msg("'%s' accepted", bad[i]);
	/* 63 bytes is the limit. */
	assert_null(userconf_check_name(
		"012345678901234567890123456789012345678901234567890123456789012"));
}

/* ---- parsing and serialising ---- */

static const char odd_file[] = "\xef\xbb\xbf# per-user file for alice\r\n"
			       "; another comment\n"
			       "\n"
			       "route = 10.0.0.0/8\n"
			       "   route-continued-by-indent\n"
			       "dns: 10.0.0.53\r\n"
			       "mtu=1400\n"
			       "bogus-key = whatever\n"
			       "hostname = \"quoted.example\"   \n"
			       "[vhost:other]\n"
			       "dns = 192.0.2.1\n"
			       "no-udp = true"; /* no final newline */

static void test_round_trip(void **state)
{
	(void)state;
	parse(odd_file);
	assert_text(odd_file);
	parse("");
	assert_text("");
	parse("\n\n");
	assert_text("\n\n");
	/* A NUL byte ends a line's content, never its bytes. */
	{
		static const char nul[] = "mtu = 1400\0 junk\nno-udp = true\n";
		struct err_info ei;
		size_t len;
		char *t;

		userconf_free(uc);
		assert_int_equal(userconf_parse(nul, sizeof(nul) - 1, &uc, &ei), 0);
		t = userconf_serialize(uc, &len);
		assert_int_equal(len, sizeof(nul) - 1);
		assert_memory_equal(t, nul, len);
		free(t);
	}
}

static void test_too_large(void **state)
{
	struct err_info ei;
	char *big = calloc(1, USERCONF_FILE_MAX + 2);

	(void)state;
	assert_non_null(big);
	memset(big, '#', USERCONF_FILE_MAX + 1);
	assert_int_equal(userconf_parse(big, USERCONF_FILE_MAX + 1, &uc, &ei), ERR_INTERNAL);
	assert_int_equal(userconf_parse(big, USERCONF_FILE_MAX, &uc, &ei), 0);
	free(big);
}

/* ---- what ocserv makes of a file ---- */

static json_t *settings_of(const char *version, json_t **issues)
{
	struct ocserv_version v = ver(version);
	json_t *s = NULL, *is = NULL;

	assert_int_equal(userconf_to_json(uc, &v, &s, &is), 0);
	if (issues)
		*issues = is;
	else
		json_decref(is);
	return s;
}

static void assert_json(json_t *got, const char *want)
{
	json_t *w = J(want);

	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("JSON:\n got %s\nwant %s", g, want);
	}
	json_decref(w);
}

/* The issue of a line, as "key|message", or NULL. */
static const char *issue_at(json_t *issues, unsigned line)
{
	static char buf[400];
	size_t i;
	json_t *e;

	json_array_foreach(issues, i, e)
	{
		if (json_integer_value(json_object_get(e, "line")) == line) {
			json_t *k = json_object_get(e, "key");
			snprintf(buf, sizeof(buf), "%s|%s",
				 k && json_is_string(k) ? json_string_value(k) : "",
				 json_string_value(json_object_get(e, "message")));
			return buf;
		}
	}
	return NULL;
}

static void assert_issue(json_t *issues, unsigned line, const char *part)
{
	const char *got = issue_at(issues, line);

	if (got == NULL || strstr(got, part) == NULL)
		fail_msg("line %u: issue '%s', want one containing '%s'", line,
			 got ? got : "(none)", part);
}

static void test_to_json(void **state)
{
	json_t *s, *is;

	(void)state;
	parse(odd_file);
	s = settings_of("1.1.6", &is);
	assert_json(s, "{\"route\":[\"10.0.0.0/8\",\"route-continued-by-indent\"],"
		       "\"dns\":[\"10.0.0.53\"],\"mtu\":1400,\"hostname\":\"quoted.example\"}");
	assert_issue(is, 5, "route|\"route-continued-by-indent\": not an IPv4 address");
	assert_issue(is, 8, "bogus-key|unknown key \"bogus-key\"");
	assert_issue(is, 10, "|ocserv skips this section");
	assert_null(issue_at(is, 11)); /* inside the section: covered by line 10 */
	assert_null(issue_at(is, 12));
	assert_int_equal(json_array_size(is), 3);
	json_decref(s);
	json_decref(is);

	/* Read as ocserv reads: yes/no, strtol, the last of a repeated key. */
	parse("no-udp = yes\ndeny-roaming = maybe\nmtu = 1400abc\nmtu = 1300\n"
	      "net-priority = 0x48\nkeepalive = 30\n");
	s = settings_of("1.1.6", &is);
	assert_json(s, "{\"no-udp\":true,\"deny-roaming\":false,\"mtu\":1300,"
		       "\"net-priority\":\"0x48\",\"keepalive\":30}");
	assert_null(issue_at(is, 1));
	assert_issue(is, 2, "deny-roaming|\"maybe\": must be true or false");
	assert_issue(is, 3, "mtu|\"1400abc\": an integer from 576 to 9000");
	assert_issue(is, 4, "mtu|also set on line 3");
	json_decref(s);
	json_decref(is);
}

/* ocserv stops reading a settings file at the first line it cannot parse
 * (seen on 1.1.6): later keys are reported as ignored, and no change is
 * made until the line is fixed (a key written after it would never apply). */
static void test_bad_line_stops_ocserv(void **state)
{
	static const char text[] = "route = 10.0.0.0/8\n[oops\nrestrict-user-to-routes = true\n";
	json_t *s, *is;
	bool changed = true;
	char why[200];

	(void)state;
	parse(text);
	s = settings_of("1.1.6", &is);
	assert_json(s, "{\"route\":[\"10.0.0.0/8\"]}");
	assert_issue(is, 2, "|not \"key = value\": ocserv stops reading the file here");
	assert_issue(is, 3, "restrict-user-to-routes|ignored: ocserv stopped reading at line 2");
	json_decref(s);
	json_decref(is);
	assert_int_equal(apply("{\"mtu\":1300}", false, "1.1.6", &changed, why, sizeof(why)),
			 ERR_CONFLICT);
	assert_false(changed);
	assert_non_null(strstr(why, "line 2"));
	assert_text(text);
}

static void test_to_json_versions(void **state)
{
	json_t *s, *is;

	(void)state;
	parse("tunnel_all_dns = true\ntunnel-all-dns = true\ncgroup = cpuset:vpn\n");
	s = settings_of("1.1.6", &is);
	assert_json(s, "{\"tunnel_all_dns\":true,\"cgroup\":\"cpuset:vpn\"}");
	assert_issue(is, 2,
		     "ocserv 1.1.6 does not read tunnel-all-dns: it spells it tunnel_all_dns");
	json_decref(s);
	json_decref(is);
	s = settings_of("1.5.0", &is);
	assert_json(s, "{\"tunnel-all-dns\":true}");
	assert_issue(is, 1,
		     "ocserv 1.5.0 does not read tunnel_all_dns: it spells it tunnel-all-dns");
	assert_issue(is, 3, "ocserv 1.5.0 no longer reads cgroup");
	json_decref(s);
	json_decref(is);
	s = settings_of(NULL, &is); /* unknown: the union */
	assert_json(s,
		    "{\"tunnel_all_dns\":true,\"tunnel-all-dns\":true,\"cgroup\":\"cpuset:vpn\"}");
	assert_int_equal(json_array_size(is), 0);
	json_decref(s);
	json_decref(is);
}

/* ---- changes ---- */

static void test_patch_keeps_other_lines(void **state)
{
	bool changed = true;

	(void)state;
	parse(odd_file);
	/* Same values: nothing changes, not even the formatting. */
	assert_int_equal(
		apply("{\"mtu\":1400,\"dns\":[\"10.0.0.53\"]}", false, "1.1.6", &changed, NULL, 0),
		0);
	assert_false(changed);
	assert_text(odd_file);
	/* A changed single key rewrites its line in place; a removed key
	 * loses every line (its continuation too); a new one goes before the
	 * section. */
	assert_applies("{\"mtu\":1300,\"route\":null,\"dpd\":60}", false,
		       "\xef\xbb\xbf# per-user file for alice\r\n"
		       "; another comment\n"
		       "\n"
		       "dns: 10.0.0.53\r\n"
		       "mtu = 1300\n"
		       "bogus-key = whatever\n"
		       "hostname = \"quoted.example\"   \n"
		       "dpd = 60\n"
		       "[vhost:other]\n"
		       "dns = 192.0.2.1\n"
		       "no-udp = true");
	/* A key only in the section is new to the global part. */
	assert_applies("{\"no-udp\":false}", false,
		       "\xef\xbb\xbf# per-user file for alice\r\n"
		       "; another comment\n"
		       "\n"
		       "dns: 10.0.0.53\r\n"
		       "mtu = 1300\n"
		       "bogus-key = whatever\n"
		       "hostname = \"quoted.example\"   \n"
		       "dpd = 60\n"
		       "no-udp = false\n"
		       "[vhost:other]\n"
		       "dns = 192.0.2.1\n"
		       "no-udp = true");
}

static void test_patch_appends_and_lists(void **state)
{
	bool changed;

	(void)state;
	parse("# alice\nroute = 10.1.0.0/16\ndns = 10.0.0.1\nroute = 10.2.0.0/16\nmtu = 1400");
	/* A list replaces every value of the key, at its first line. */
	assert_applies("{\"route\":[\"10.3.0.0/16\",\"192.168.0.0/255.255.0.0\"]}", false,
		       "# alice\nroute = 10.3.0.0/16\nroute = 192.168.0.0/255.255.0.0\n"
		       "dns = 10.0.0.1\nmtu = 1400");
	/* Appending to a file without a final newline adds one first. */
	assert_applies("{\"split-dns\":[\"corp.example\"]}", false,
		       "# alice\nroute = 10.3.0.0/16\nroute = 192.168.0.0/255.255.0.0\n"
		       "dns = 10.0.0.1\nmtu = 1400\nsplit-dns = corp.example\n");
	/* The same list in the same order: unchanged; another order: rewritten. */
	assert_int_equal(apply("{\"route\":[\"10.3.0.0/16\",\"192.168.0.0/255.255.0.0\"]}", false,
			       "1.1.6", &changed, NULL, 0),
			 0);
	assert_false(changed);
	assert_int_equal(apply("{\"route\":[\"192.168.0.0/255.255.0.0\",\"10.3.0.0/16\"]}", false,
			       "1.1.6", &changed, NULL, 0),
			 0);
	assert_true(changed);
	/* An empty list removes the key, like null. */
	assert_applies("{\"route\":[],\"split-dns\":null}", false,
		       "# alice\ndns = 10.0.0.1\nmtu = 1400\n");
	/* A single key given twice in the file collapses into one line. */
	parse("mtu = 1300\n# x\nmtu = 1400\n");
	assert_applies("{\"mtu\":1400}", false, "mtu = 1400\n# x\n");
	/* An empty file gets the keys in body order. */
	parse("");
	assert_applies(
		"{\"no-udp\":true,\"dns\":[\"10.0.0.1\",\"fd00::1\"],\"net-priority\":\"0x20\"}",
		false, "no-udp = true\ndns = 10.0.0.1\ndns = fd00::1\nnet-priority = 0x20\n");
}

static void test_put_replaces_settings(void **state)
{
	(void)state;
	parse(odd_file);
	/* Every global key line goes (also keys ocserv ignores), comments,
	 * lines it cannot parse and sections stay; null counts as absent. */
	assert_applies("{\"dns\":[\"10.9.9.9\"],\"mtu\":null,\"keepalive\":60}", true,
		       "\xef\xbb\xbf# per-user file for alice\r\n"
		       "; another comment\n"
		       "\n"
		       "dns = 10.9.9.9\n"
		       "keepalive = 60\n"
		       "[vhost:other]\n"
		       "dns = 192.0.2.1\n"
		       "no-udp = true");
	assert_applies("{}", true,
		       "\xef\xbb\xbf# per-user file for alice\r\n"
		       "; another comment\n"
		       "\n"
		       "[vhost:other]\n"
		       "dns = 192.0.2.1\n"
		       "no-udp = true");
}

static void test_refused_changes_change_nothing(void **state)
{
	char why[300];
	bool changed = true;

	(void)state;
	parse(odd_file);
	assert_int_equal(apply("{\"mtu\":1300,\"route\":[\"10.0.0.0\"]}", false, "1.1.6", &changed,
			       why, sizeof(why)),
			 ERR_BAD_REQUEST);
	assert_false(changed);
	assert_non_null(strstr(why, "route: \"10.0.0.0\": missing the /prefix"));
	assert_text(odd_file);
	assert_int_equal(
		apply("{\"mtu\":1300,\"nope\":1}", true, "1.1.6", &changed, why, sizeof(why)),
		ERR_BAD_REQUEST);
	assert_non_null(strstr(why, "unknown key \"nope\""));
	assert_text(odd_file);
}

/* ---- every key: good and bad values ---- */

struct value_case {
	const char *key;
	const char *good; /* JSON values, '|'-separated */
	const char *bad;
};

static const struct value_case cases[] = {
	{"no-udp", "true|false", "1|\"true\"|null0|[true]"},
	{"restrict-user-to-routes", "true|false", "0|\"yes\""},
	{"tunnel_all_dns", "true", "\"false\""},
	{"deny-roaming", "false", "\"no\""},
	{"client-bypass-protocol", "true", "1"},
	{"route",
	 "[\"default\"]|[\"10.0.0.0/8\",\"192.168.1.0/255.255.255.0\"]|[\"2001:db8::/"
	 "32\"]|[\"10.1.2.3/32\"]",
	 "\"10.0.0.0/8\"|[\"10.0.0.0\"]|[\"10.0.0.1/8\"]|[\"0.0.0.0/0\"]|[\"::/0\"]|[\"10.0.0.0/"
	 "33\"]|"
	 "[\"10.0.0.0/255.0.255.0\"]|[\"10.0.0.0/8 \"]|[\"10.0.0.0/8; "
	 "reboot\"]|[\"fe80::1%eth0/64\"]|"
	 "[\"10.0.0.0/08x\"]|[\"2001:db8::1/32\"]|[\"10.0.0.0/8\",\"10.0.0.0/8\"]|[1]|[\"\"]"},
	{"no-route", "[\"10.5.0.0/16\"]|[\"fd00::/8\"]", "[\"default\"]|[\"10.5.0.0\"]"},
	{"iroute", "[\"192.168.200.0/24\"]|[\"192.168.201.0/255.255.255.0\"]",
	 "[\"default\"]|[\"192.168.200.1/24\"]"},
	{"split-dns", "[\"corp.example\"]|[\"a-b.c\",\"x\"]",
	 "[\"-corp.example\"]|[\"corp..example\"]|[\"corp_example\"]|[\"corp.example.\"]|"
	 "[\"a b\"]"},
	{"dns", "[\"10.0.0.53\",\"fd00::53\"]",
	 "[\"10.0.0.256\"]|[\"10.0.0.53/32\"]|[\"dns.example\"]"},
	{"ipv4-dns", "[\"10.0.0.53\"]", "[\"fd00::53\"]|[\"010.0.0.53\"]"},
	{"ipv6-dns", "[\"fd00::53\"]", "[\"10.0.0.53\"]"},
	{"nbns", "[\"10.0.0.55\"]", "[\"x\"]"},
	{"ipv4-nbns", "[\"10.0.0.55\"]", "[\"::1\"]"},
	{"ipv6-nbns", "[\"::1\"]", "[\"10.0.0.55\"]"},
	{"ipv4-network", "\"192.168.5.0\"|\"192.168.5.0/24\"",
	 "\"192.168.5.1/24\"|\"fd00::/64\"|\"192.168.5.0/255.255.255.0\"|[\"192.168.5.0\"]"},
	{"ipv4-netmask", "\"255.255.255.0\"|\"255.255.255.255\"",
	 "\"255.0.255.0\"|\"0.0.0.0\"|\"/24\"|\"24\""},
	{"explicit-ipv4", "\"192.168.5.7\"", "\"192.168.5.7/32\"|\"fd00::7\""},
	{"ipv6-network", "\"fd00:1::/64\"|\"fd00:1::\"", "\"fd00:1::1/64\"|\"10.0.0.0/8\""},
	{"explicit-ipv6", "\"fd00:1::7\"", "\"10.0.0.7\"|\"fd00:1::7/128\""},
	{"ipv6-subnet-prefix", "64|128|1", "0|129|\"64\"|64.5"},
	{"hostname", "\"alice-laptop\"|\"host.corp.example\"",
	 "\"alice laptop\"|\"alice_laptop\"|\"\"|\" alice\"|\"a\\u0000b\""},
	{"rx-data-per-sec", "0|1000|2147483647", "-1|999|1|2147483648|\"1000\""},
	{"tx-data-per-sec", "0|500000", "500"},
	{"stats-report-time", "0|360|86400", "86401|-5"},
	{"session-timeout", "0|3600|31536000", "31536001"},
	{"mtu", "576|1400|9000", "575|9001|0|\"1400\""},
	{"dpd", "0|90|86400", "86401"},
	{"mobile-dpd", "1800", "-1"},
	{"idle-timeout", "0|1200", "true"},
	{"mobile-idle-timeout", "2400", "\"2400\""},
	{"keepalive", "32400", "100000"},
	{"max-same-clients", "0|2|65535", "65536|-1"},
	{"net-priority", "0|6|\"0x20\"|\"0xff\"|\"0x0\"|\"3\"",
	 "7|-1|\"0x\"|\"0x100\"|\"0xzz\"|\"high\"|true"},
	{"user-profile", "\"/etc/ocserv/profile.xml\"",
	 "\"profile.xml\"|\"/etc/ocserv/p\\nx.xml\"|\"/etc/x.xml \""},
	{"restrict-user-to-ports",
	 "\"tcp(443), udp(53)\"|\"!(tcp(25), "
	 "udp(25))\"|\"TCP(22)\"|\"icmp(0),icmpv6(0),sctp(9),esp(0)\"",
	 "\"tcp(443) udp(53)\"|\"tcp(70000)\"|\"tcp()\"|\"ftp(21)\"|\"!tcp(25)\"|\"!(tcp(25)\"|"
	 "\"tcp(443),\"|\"tcp(-1)\"|\"tcp(443))\""},
	{"cgroup", "\"cpuset,cpu:vpn\"|\"cpu:a/b\"",
	 "\"vpn\"|\"cpu:../../etc\"|\"CPU:vpn\"|\"cpu:\"|\"cpu:a b\""},
};

/* Split a '|' list of JSON texts (none contains '|'). */
static void each_value(const struct value_case *c, const char *list, bool want_ok)
{
	char buf[1024], settings[1200], why[300];
	struct ocserv_version v = ver("1.1.6");
	char *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		json_error_t e;
		json_t *j;
		int r;

		snprintf(settings, sizeof(settings), "{\"%s\": %s}", c->key, tok);
		j = json_loads(settings, 0, &e);
		if (j == NULL) { /* not JSON at all ("null0"): the API refuses it earlier */
			assert_false(want_ok);
			continue;
		}
		why[0] = '\0';
		r = userconf_check_settings(j, &v, why, sizeof(why));
		json_decref(j);
		if (want_ok && r != 0)
			fail_msg("%s refused: %s", settings, why);
		if (!want_ok && r != ERR_BAD_REQUEST)
			fail_msg("%s accepted", settings);
		/* The reason names the key. */
		if (!want_ok && strncmp(why, c->key, strlen(c->key)) != 0)
			fail_msg("%s: reason '%s' does not start with the key", settings, why);
	}
}

static void test_every_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		each_value(&cases[i], cases[i].good, true);
		each_value(&cases[i], cases[i].bad, false);
	}
}

/* What the agent writes reads back as the same settings. */
static void test_written_values_read_back(void **state)
{
	static const char body[] =
		"{\"no-udp\":true,\"tunnel_all_dns\":false,\"route\":[\"default\",\"10.0.0.0/8\"],"
		"\"dns\":[\"fd00::53\"],\"ipv4-network\":\"192.168.5.0/24\",\"mtu\":1400,"
		"\"net-priority\":5,\"rx-data-per-sec\":20000,"
		"\"restrict-user-to-ports\":\"!(tcp(25), udp(25))\",\"hostname\":\"h.example\"}";
	json_t *s, *is, *want = J(body);

	(void)state;
	parse("# keep me\n");
	assert_applies(body, false,
		       "# keep me\nno-udp = true\ntunnel_all_dns = false\nroute = default\n"
		       "route = 10.0.0.0/8\ndns = fd00::53\nipv4-network = 192.168.5.0/24\n"
		       "mtu = 1400\nnet-priority = 5\nrx-data-per-sec = 20000\n"
		       "restrict-user-to-ports = !(tcp(25), udp(25))\nhostname = h.example\n");
	s = settings_of("1.1.6", &is);
	assert_true(json_equal(s, want));
	assert_int_equal(json_array_size(is), 0);
	json_decref(s);
	json_decref(is);
	json_decref(want);
}

static void test_keys_by_version(void **state)
{
	struct ocserv_version v116 = ver("1.1.6"), v130 = ver("1.3.0"), v150 = ver("1.5.0"),
			      v160 = ver("1.6.0"), unknown = ver(NULL);
	char why[300];

	(void)state;
	assert_true(userconf_key_allowed("tunnel_all_dns", &v116, why, sizeof(why)));
	assert_true(userconf_key_allowed("tunnel_all_dns", &v130, why, sizeof(why)));
	assert_false(userconf_key_allowed("tunnel_all_dns", &v150, why, sizeof(why)));
	assert_string_equal(why, "ocserv 1.5.0 does not read tunnel_all_dns: it spells it "
				 "tunnel-all-dns");
	assert_false(userconf_key_allowed("tunnel-all-dns", &v130, why, sizeof(why)));
	assert_string_equal(why, "ocserv 1.3.0 does not read tunnel-all-dns: it spells it "
				 "tunnel_all_dns");
	assert_true(userconf_key_allowed("tunnel-all-dns", &v150, why, sizeof(why)));
	assert_true(userconf_key_allowed("tunnel-all-dns", &v160, why, sizeof(why)));
	assert_true(userconf_key_allowed("cgroup", &v130, why, sizeof(why)));
	assert_false(userconf_key_allowed("cgroup", &v150, why, sizeof(why)));
	assert_string_equal(why, "ocserv 1.5.0 no longer reads cgroup");
	/* Unknown version: the union of every version's keys. */
	assert_true(userconf_key_allowed("tunnel_all_dns", &unknown, why, sizeof(why)));
	assert_true(userconf_key_allowed("tunnel-all-dns", &unknown, why, sizeof(why)));
	assert_true(userconf_key_allowed("cgroup", &unknown, why, sizeof(why)));
	/* Never: keys of ocserv.conf only, old names, case variants. */
	for (size_t i = 0; i < 4; i++) {
		static const char *const no[] = {"ipv6-prefix", "max-clients", "Route", "auth"};
		assert_false(userconf_key_allowed(no[i], &unknown, why, sizeof(why)));
		assert_non_null(strstr(why, "unknown key"));
	}
	/* A key with control characters is quoted in the reason. */
	assert_false(userconf_key_allowed("a\nb", &v116, why, sizeof(why)));
	assert_null(strchr(why, '\n'));
}

/* ---- the directory ---- */

static char conf_path[128], users_dir[128];

static void make_conf(const char *extra)
{
	char text[512];

	snprintf(conf_path, sizeof(conf_path), "%s/ocserv.conf", tmpdir);
	snprintf(text, sizeof(text), "auth = \"plain[passwd=/x]\"\n%s", extra);
	assert_int_equal(unit_write_str(conf_path, text), 0);
}

static struct userconf_dir dir_for_users(void)
{
	struct userconf_dir d;
	struct err_info ei = {{0}};
	char line[256];

	snprintf(users_dir, sizeof(users_dir), "%s/per-user", tmpdir);
	mkdir(users_dir, 0755);
	snprintf(line, sizeof(line), "config-per-user = %s//\n", users_dir);
	make_conf(line);
	assert_int_equal(userconf_dir_find(conf_path, USERCONF_USER, &d, &ei), 0);
	assert_string_equal(d.path, users_dir);
	d.lock_wait_ms = 100;
	return d;
}

static void test_dir_find(void **state)
{
	struct userconf_dir d;
	struct err_info ei = {{0}};
	char line[256];

	(void)state;
	make_conf("");
	assert_int_equal(userconf_dir_find(conf_path, USERCONF_USER, &d, &ei), ERR_CONFLICT);
	assert_string_equal(ei.detail, "config-per-user is not set in ocserv.conf");
	make_conf("config-per-group = relative/dir\n");
	assert_int_equal(userconf_dir_find(conf_path, USERCONF_GROUP, &d, &ei), ERR_CONFLICT);
	assert_non_null(strstr(ei.detail, "not an absolute path"));
	snprintf(line, sizeof(line), "config-per-group = %s/missing\n", tmpdir);
	make_conf(line);
	assert_int_equal(userconf_dir_find(conf_path, USERCONF_GROUP, &d, &ei), ERR_CONFLICT);
	assert_non_null(strstr(ei.detail, "/missing: does not exist"));
	snprintf(line, sizeof(line), "config-per-group = %s/ocserv.conf\n", tmpdir);
	make_conf(line);
	assert_int_equal(userconf_dir_find(conf_path, USERCONF_GROUP, &d, &ei), ERR_CONFLICT);
	assert_non_null(strstr(ei.detail, "is not a directory"));
	/* Only the global key counts. */
	snprintf(line, sizeof(line), "[vhost:x]\nconfig-per-user = %s\n", tmpdir);
	make_conf(line);
	assert_int_equal(userconf_dir_find(conf_path, USERCONF_USER, &d, &ei), ERR_CONFLICT);
	snprintf(line, sizeof(line), "%s/none.conf", tmpdir);
	assert_int_equal(userconf_dir_find(line, USERCONF_USER, &d, &ei), ERR_CONFLICT);
	assert_non_null(strstr(ei.detail, "does not exist"));
	d = dir_for_users();
	assert_int_equal(d.kind, USERCONF_USER);
}

static void put_file(const char *name, const char *text, mode_t mode)
{
	char path[256];

	assert_int_equal(unit_write_file(unit_join(path, sizeof(path), users_dir, name), text,
					 strlen(text), mode),
			 0);
}

static bool exists(const char *name)
{
	char path[256];
	struct stat st;

	return lstat(unit_join(path, sizeof(path), users_dir, name), &st) == 0;
}

static void test_list(void **state)
{
	struct userconf_dir d;
	struct strv names = {0};
	struct err_info ei = {{0}};
	char path[256];

	(void)state;
	d = dir_for_users();
	assert_int_equal(userconf_list(&d, &names, &ei), 0);
	assert_int_equal(names.n, 0);
	put_file("carol", "mtu = 1400\n", 0644);
	put_file("alice", "", 0600);
	put_file("Bob", "", 0644);
	put_file(".hidden", "", 0644);
	put_file("dave.tmp", "", 0644); /* a lock */
	put_file("-x", "", 0644);
	put_file("a b", "", 0644);
	assert_int_equal(symlink("/etc/passwd", unit_join(path, sizeof(path), users_dir, "link")),
			 0);
	assert_int_equal(mkdir(unit_join(path, sizeof(path), users_dir, "subdir"), 0755), 0);
	assert_int_equal(mkfifo(unit_join(path, sizeof(path), users_dir, "fifo"), 0644), 0);
	assert_int_equal(userconf_list(&d, &names, &ei), 0);
	assert_int_equal(names.n, 3);
	assert_string_equal(names.v[0], "Bob");
	assert_string_equal(names.v[1], "alice");
	assert_string_equal(names.v[2], "carol");
	strv_free(&names);
}

static void test_read(void **state)
{
	struct userconf_dir d;
	struct err_info ei = {{0}};
	char path[256];
	json_t *s;

	(void)state;
	d = dir_for_users();
	assert_int_equal(userconf_read(&d, "alice", &uc, &ei), ERR_NOT_FOUND);
	assert_string_equal(ei.detail, "there is no user settings file for alice");
	put_file("alice", "route = 10.0.0.0/8\n", 0640);
	assert_int_equal(userconf_read(&d, "alice", &uc, &ei), 0);
	s = settings_of("1.1.6", NULL);
	assert_json(s, "{\"route\":[\"10.0.0.0/8\"]}");
	json_decref(s);
	/* Never outside the directory, never through a link. */
	assert_int_equal(userconf_read(&d, "../ocserv.conf", &uc, &ei), ERR_BAD_REQUEST);
	assert_int_equal(userconf_read(&d, "..", &uc, &ei), ERR_BAD_REQUEST);
	assert_int_equal(userconf_read(&d, ".", &uc, &ei), ERR_BAD_REQUEST);
	assert_int_equal(symlink("../ocserv.conf", unit_join(path, sizeof(path), users_dir, "eve")),
			 0);
	assert_int_equal(userconf_read(&d, "eve", &uc, &ei), ERR_CONFLICT);
	assert_non_null(strstr(ei.detail, "eve is a symbolic link"));
	assert_int_equal(mkfifo(unit_join(path, sizeof(path), users_dir, "fifo"), 0644), 0);
	assert_int_equal(userconf_read(&d, "fifo", &uc, &ei), ERR_CONFLICT);
	assert_int_equal(mkdir(unit_join(path, sizeof(path), users_dir, "sub"), 0755), 0);
	assert_int_equal(userconf_read(&d, "sub", &uc, &ei), ERR_CONFLICT);
}

static char *file_text(const char *name)
{
	char path[256];

	return unit_read_file(unit_join(path, sizeof(path), users_dir, name), NULL);
}

static mode_t file_mode(const char *name)
{
	char path[256];
	struct stat st;

	assert_int_equal(stat(unit_join(path, sizeof(path), users_dir, name), &st), 0);
	return st.st_mode & 07777;
}

static int change(struct userconf_dir *d, const char *name, const char *settings, bool replace,
		  bool *created, bool *changed, struct err_info *ei)
{
	struct ocserv_version v = ver("1.1.6");
	json_t *j = J(settings);
	struct userconf *f = NULL;
	bool cr, ch;
	int r = userconf_change(d, name, j, replace, &v, &f, created ? created : &cr,
				changed ? changed : &ch, ei);

	json_decref(j);
	userconf_free(f);
	return r;
}

static void test_change_files(void **state)
{
	struct userconf_dir d;
	struct err_info ei = {{0}};
	bool created, changed;
	struct stat st1, st2;
	char path[256], *t;

	(void)state;
	d = dir_for_users();
	/* A new file: mode 0640. */
	assert_int_equal(
		change(&d, "alice", "{\"route\":[\"10.0.0.0/8\"]}", false, &created, &changed, &ei),
		0);
	assert_true(created);
	assert_true(changed);
	assert_int_equal(file_mode("alice"), USERCONF_MODE);
	t = file_text("alice");
	assert_string_equal(t, "route = 10.0.0.0/8\n");
	free(t);
	assert_false(exists("alice.tmp"));
	/* An existing file keeps its mode and its comments. */
	put_file("bob", "# bob's settings\nmtu = 1400\n", 0604);
	assert_int_equal(change(&d, "bob", "{\"mtu\":1300}", false, &created, &changed, &ei), 0);
	assert_false(created);
	assert_int_equal(file_mode("bob"), 0604);
	t = file_text("bob");
	assert_string_equal(t, "# bob's settings\nmtu = 1300\n");
	free(t);
	/* Unchanged: the file is not rewritten (same inode). */
	assert_int_equal(stat(unit_join(path, sizeof(path), users_dir, "bob"), &st1), 0);
	assert_int_equal(change(&d, "bob", "{\"mtu\":1300}", false, &created, &changed, &ei), 0);
	assert_false(changed);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* PUT on a new name with nothing still creates the (empty) file. */
	assert_int_equal(change(&d, "carol", "{}", true, &created, &changed, &ei), 0);
	assert_true(created);
	t = file_text("carol");
	assert_string_equal(t, "");
	free(t);
	/* Refused settings: nothing written, nothing left behind. */
	assert_int_equal(change(&d, "bob", "{\"mtu\":1}", false, NULL, NULL, &ei), ERR_BAD_REQUEST);
	assert_non_null(strstr(ei.detail, "mtu: \"1\": an integer from 576 to 9000"));
	assert_int_equal(change(&d, "dave", "{\"mtu\":1}", false, NULL, NULL, &ei),
			 ERR_BAD_REQUEST);
	assert_false(exists("dave"));
	assert_false(exists("dave.tmp"));
	assert_false(exists("bob.tmp"));
	/* Bad names never reach the disk. */
	assert_int_equal(change(&d, "../escape", "{}", true, NULL, NULL, &ei), ERR_BAD_REQUEST);
	assert_int_equal(change(&d, "..", "{}", true, NULL, NULL, &ei), ERR_BAD_REQUEST);
	assert_int_equal(change(&d, "x.tmp", "{}", true, NULL, NULL, &ei), ERR_BAD_REQUEST);
}

static void test_change_refuses_links(void **state)
{
	struct userconf_dir d;
	struct err_info ei = {{0}};
	char path[256], target[256], *t;

	(void)state;
	d = dir_for_users();
	snprintf(target, sizeof(target), "%s/target", tmpdir);
	assert_int_equal(unit_write_str(target, "mtu = 1400\n"), 0);
	assert_int_equal(symlink(target, unit_join(path, sizeof(path), users_dir, "eve")), 0);
	assert_int_equal(change(&d, "eve", "{\"mtu\":1300}", false, NULL, NULL, &ei), ERR_CONFLICT);
	assert_int_equal(userconf_delete(&d, "eve", &ei), ERR_CONFLICT);
	t = unit_read_file(target, NULL);
	assert_string_equal(t, "mtu = 1400\n");
	free(t);
	assert_false(exists("eve.tmp"));
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void test_locked(void **state)
{
	struct userconf_dir d;
	struct err_info ei = {{0}};
	char *t;

	(void)state;
	d = dir_for_users();
	put_file("alice", "mtu = 1400\n", 0644);
	put_file("alice.tmp", "", 0600); /* another writer holds the lock */
	assert_int_equal(change(&d, "alice", "{\"mtu\":1300}", false, NULL, NULL, &ei), ERR_LOCKED);
	assert_int_equal(userconf_delete(&d, "alice", &ei), ERR_LOCKED);
	t = file_text("alice");
	assert_string_equal(t, "mtu = 1400\n");
	free(t);
	assert_true(exists("alice.tmp")); /* not ours to remove */
}

static enum atomic_step fail_at;

static int inject(enum atomic_step step)
{
	return step == fail_at ? EIO : 0;
}

static void test_crash_safety(void **state)
{
	static const enum atomic_step steps[] = {ATOMIC_STEP_WRITE, ATOMIC_STEP_FSYNC,
						 ATOMIC_STEP_OWNER, ATOMIC_STEP_RENAME};
	struct userconf_dir d;
	struct err_info ei = {{0}};
	char *t;

	(void)state;
	d = dir_for_users();
	d.inject = inject;
	put_file("alice", "# mine\nmtu = 1400\n", 0644);
	/* A failure before the rename leaves the old file and no temporary. */
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		fail_at = steps[i];
		assert_int_equal(change(&d, "alice", "{\"mtu\":1300}", false, NULL, NULL, &ei),
				 ERR_INTERNAL);
		t = file_text("alice");
		assert_string_equal(t, "# mine\nmtu = 1400\n");
		free(t);
		assert_false(exists("alice.tmp"));
		assert_int_equal(change(&d, "new", "{\"mtu\":1300}", false, NULL, NULL, &ei),
				 ERR_INTERNAL);
		assert_false(exists("new"));
		assert_false(exists("new.tmp"));
	}
	/* After the rename only durability is in doubt: the new file is there. */
	fail_at = ATOMIC_STEP_FSYNC_DIR;
	assert_int_equal(change(&d, "alice", "{\"mtu\":1300}", false, NULL, NULL, &ei),
			 ERR_INTERNAL);
	t = file_text("alice");
	assert_string_equal(t, "# mine\nmtu = 1300\n");
	free(t);
	assert_false(exists("alice.tmp"));
}

static void test_delete(void **state)
{
	struct userconf_dir d;
	struct err_info ei = {{0}};

	(void)state;
	d = dir_for_users();
	put_file("alice", "mtu = 1400\n", 0644);
	assert_int_equal(userconf_delete(&d, "alice", &ei), 0);
	assert_false(exists("alice"));
	assert_false(exists("alice.tmp"));
	assert_int_equal(userconf_delete(&d, "alice", &ei), ERR_NOT_FOUND);
	assert_string_equal(ei.detail, "there is no user settings file for alice");
	assert_false(exists("alice.tmp"));
	assert_int_equal(userconf_delete(&d, "../ocserv.conf", &ei), ERR_BAD_REQUEST);
	assert_true(access(conf_path, F_OK) == 0);
}

/* ---- concurrent writers ---- */

#define ROUNDS 40

struct writer {
	struct userconf_dir *d;
	char name[16];
	const char *key; /* NULL: mtu of its own file */
	int fails;
};

static void *write_loop(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < ROUNDS; i++) {
		char settings[96];
		struct err_info ei;

		snprintf(settings, sizeof(settings), "{\"%s\": %d}", w->key ? w->key : "mtu",
			 w->key ? i : 1000 + i);
		if (change(w->d, w->name, settings, false, NULL, NULL, &ei) != 0)
			w->fails++;
	}
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	static const char *const shared_keys[] = {"dpd", "keepalive", "mobile-dpd", "idle-timeout"};
	struct writer w[12];
	pthread_t th[12];
	struct userconf_dir d;
	char want[256], *t;

	(void)state;
	d = dir_for_users();
	d.lock_wait_ms = 5000;
	put_file("shared", "# shared by four writers\n", 0644);
	for (int i = 0; i < 12; i++) {
		w[i] = (struct writer){.d = &d};
		if (i < 8)
			snprintf(w[i].name, sizeof(w[i].name), "u%d", i);
		else
			snprintf(w[i].name, sizeof(w[i].name), "shared");
		w[i].key = i < 8 ? NULL : shared_keys[i - 8];
		assert_int_equal(pthread_create(&th[i], NULL, write_loop, &w[i]), 0);
	}
	for (int i = 0; i < 12; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].fails, 0);
	}
	for (int i = 0; i < 8; i++) {
		snprintf(want, sizeof(want), "mtu = %d\n", 1000 + ROUNDS - 1);
		t = file_text(w[i].name);
		assert_string_equal(t, want);
		free(t);
	}
	/* No update of the shared file was lost: each key has its last value. */
	t = file_text("shared");
	for (int i = 0; i < 4; i++) {
		snprintf(want, sizeof(want), "\n%s = %d\n", shared_keys[i], ROUNDS - 1);
		if (strstr(t, want) == NULL)
			fail_msg("shared file lost %s:\n%s", shared_keys[i], t);
	}
	assert_int_equal(strncmp(t, "# shared by four writers\n", 25), 0);
	free(t);
	assert_false(exists("shared.tmp"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_teardown(test_round_trip, teardown),
		cmocka_unit_test_teardown(test_too_large, teardown),
		cmocka_unit_test_teardown(test_to_json, teardown),
		cmocka_unit_test_teardown(test_bad_line_stops_ocserv, teardown),
		cmocka_unit_test_teardown(test_to_json_versions, teardown),
		cmocka_unit_test_teardown(test_patch_keeps_other_lines, teardown),
		cmocka_unit_test_teardown(test_patch_appends_and_lists, teardown),
		cmocka_unit_test_teardown(test_put_replaces_settings, teardown),
		cmocka_unit_test_teardown(test_refused_changes_change_nothing, teardown),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test_teardown(test_written_values_read_back, teardown),
		cmocka_unit_test(test_keys_by_version),
		cmocka_unit_test_setup_teardown(test_dir_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_refuses_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
