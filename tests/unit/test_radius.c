/* radius.h: radcli's radiusclient.conf and servers file, never a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "radius.h"
#include "unit.h"

static char tmpdir[64];
static char conf_path[128], servers_path[128], other_servers_path[128];
static struct radius_info ri; /* released by teardown too, when a test fails midway */

static int setup(void **state)
{
	(void)state;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "radiustest") == NULL)
		return -1;
	unit_join(conf_path, sizeof(conf_path), tmpdir, "radiusclient.conf");
	unit_join(servers_path, sizeof(servers_path), tmpdir, "servers");
	unit_join(other_servers_path, sizeof(other_servers_path), tmpdir, "servers-override");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	radius_info_free(&ri);
	unit_rmtree(tmpdir);
	return 0;
}

static void split_ok(const char *entry, const char *host, int port)
{
	char *h = (char *)0x1;
	int p = -7;

	char msg[512];
	bool same;

	if (radius_split_server(entry, &h, &p) != 0)
		fail_msg("'%s' was refused", entry);
	same = strcmp(h, host) == 0 && p == port;
	snprintf(msg, sizeof(msg), "'%s': got host '%s' port %d, want '%s' %d", entry, h, p, host,
		 port);
	free(h);
	if (!same)
		fail_msg("%s", msg);
}

static void split_bad(const char *entry)
{
	char *h = NULL;
	int p = 0;

	if (radius_split_server(entry, &h, &p) != ERR_BAD_REQUEST)
		fail_msg("'%s' was accepted", entry);
	assert_null(h);
}

static void test_split_server(void **state)
{
	(void)state;
	split_ok("radius.example.org", "radius.example.org", 0);
	split_ok("radius.example.org:1812", "radius.example.org", 1812);
	split_ok("10.0.0.5:1812:s3cret", "10.0.0.5", 1812);
	split_ok("10.0.0.5::s3cret", "10.0.0.5", 0);
	split_ok("[::1]:1812:s", "::1", 1812);
	split_ok("[2001:db8::5]:1813", "2001:db8::5", 1813);
	split_ok("[2001:db8::5]", "2001:db8::5", 0);
	split_ok("2001:db8::5", "2001:db8::5", 0); /* bare IPv6: no port can follow */
	split_ok("fe80:0:0:0:0:0:0:1", "fe80:0:0:0:0:0:0:1", 0);
	split_ok("a,b", "a", 0);
	split_ok("a:1812:x,b:1813:y", "a", 1812);
	split_ok("  host:1645", "host", 1645);
	split_ok("\thost", "host", 0);
	split_ok("host:65535", "host", 65535);
	/* A port that is not a number is "not given", the host still counts. */
	split_ok("host:65536", "host", 0);
	split_ok("host:abc", "host", 0);
	split_ok("host:-1", "host", 0);
	split_ok("host:", "host", 0);
	split_ok("host:181x:secret", "host", 0);
	split_ok("host:123456", "host", 0);

	split_bad("");
	split_bad("   ");
	split_bad(":1812");
	split_bad(":1812:secret");
	split_bad("[::1");
	split_bad("[]:1812");
}

/* radcli (set_option_srv) splits a server list with strtok_r(", \t"): blanks
 * separate entries just like commas, so whitespace around an entry never
 * belongs to its host or port. */
static void test_split_server_blank_separators(void **state)
{
	(void)state;
	split_ok("host:1645  ", "host", 1645);
	split_ok("  host:1645  ", "host", 1645);
	split_ok("a:1812 , b:1813", "a", 1812);
	split_ok("10.0.0.1:1812 10.0.0.2:1812", "10.0.0.1", 1812);
	split_ok("10.0.0.1:1812:sec 10.0.0.2:1812:sec", "10.0.0.1", 1812);
	split_ok("host1 host2", "host1", 0);
	split_ok("host1\thost2", "host1", 0);
}

/* radcli takes everything after the second ':' as the secret, so a secret may
 * itself contain ':'. Such an entry is not a bare IPv6 address and its host
 * must never carry the secret (it ends up in the radius-config response). */
static void test_split_server_secret_with_colons(void **state)
{
	static const char *entries[] = {"10.0.0.1:1812:pa:ss", "radius.example.org:1812:a:b:c",
					"host::se:cr:et", "10.0.0.1:1812:s:e,10.0.0.2"};
	static const char *hosts[] = {"10.0.0.1", "radius.example.org", "host", "10.0.0.1"};
	static const int ports[] = {1812, 1812, 0, 1812};

	(void)state;
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		split_ok(entries[i], hosts[i], ports[i]);
}

/* Every string in the struct, for the "no secret anywhere" check. */
static void assert_no_secret(const struct radius_info *rip, const char *secret)
{
	const char *s[] = {rip->nas_identifier, rip->auth_server, rip->acct_server,
			   rip->servers_file};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i] != NULL && strstr(s[i], secret) != NULL)
			fail_msg("secret found in field %zu: '%s'", i, s[i]);
	for (size_t i = 0; i < rip->n_servers; i++)
		if (strstr(rip->servers[i].host, secret) != NULL)
			fail_msg("secret found in server %zu: '%s'", i, rip->servers[i].host);
}

static void write_conf(const char *servers_line)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "# radcli client configuration\n"
		 "nas-identifier   ocserv-node-7\n"
		 "\n"
		 "   # an indented comment\n"
		 "authserver \t 10.1.1.1:1812:AuthSecretXYZ, 10.1.1.2:1812:AuthSecretXYZ\n"
		 "acctserver [2001:db8::1]:1813:AcctSecretXYZ\n"
		 "authserver 10.9.9.9:99:LaterSecretXYZ\n"
		 "nas-identifier later-ignored\n"
		 "dictionary /etc/radcli/dictionary\n"
		 "%s\n"
		 "radius_timeout 10\n",
		 servers_line);
	assert_int_equal(unit_write_str(conf_path, text), 0);
}

static void test_read_conf_and_servers(void **state)
{
	char line[256];

	(void)state;
	snprintf(line, sizeof(line), "servers %s", servers_path);
	write_conf(line);
	assert_int_equal(unit_write_str(servers_path, "# Server Name or Client/Server pair\tKey\n"
						      "\n"
						      "10.1.1.1\tServersSecretXYZ\n"
						      "ocserv-host/10.1.1.2   ServersSecretXYZ  \n"
						      "10.1.1.3\n"
						      "   10.1.1.4   \t\n"),
			 0);
	assert_int_equal(radius_read(conf_path, NULL, &ri), 0);
	assert_string_equal(ri.nas_identifier, "ocserv-node-7"); /* first occurrence wins */
	assert_string_equal(ri.auth_server, "10.1.1.1");
	assert_int_equal(ri.auth_port, 1812);
	assert_string_equal(ri.acct_server, "2001:db8::1");
	assert_int_equal(ri.acct_port, 1813);
	assert_string_equal(ri.servers_file, servers_path); /* from the conf's servers line */
	assert_int_equal(ri.n_servers, 4);
	assert_string_equal(ri.servers[0].host, "10.1.1.1");
	assert_true(ri.servers[0].has_secret);
	assert_string_equal(ri.servers[1].host, "10.1.1.2"); /* client/server pair */
	assert_true(ri.servers[1].has_secret);
	assert_string_equal(ri.servers[2].host, "10.1.1.3");
	assert_false(ri.servers[2].has_secret);
	assert_string_equal(ri.servers[3].host, "10.1.1.4");
	assert_false(ri.servers[3].has_secret);
	assert_no_secret(&ri, "Secret");
	radius_info_free(&ri);
	assert_null(ri.servers);
	assert_int_equal(ri.n_servers, 0);
	radius_info_free(NULL);
}

static void test_override_wins(void **state)
{
	char line[256];

	(void)state;
	snprintf(line, sizeof(line), "servers %s", servers_path);
	write_conf(line);
	assert_int_equal(unit_write_str(servers_path, "from-conf-line SecretXYZ\n"), 0);
	assert_int_equal(unit_write_str(other_servers_path, "from-override SecretXYZ\n"), 0);
	assert_int_equal(radius_read(conf_path, other_servers_path, &ri), 0);
	assert_string_equal(ri.servers_file, other_servers_path);
	assert_int_equal(ri.n_servers, 1);
	assert_string_equal(ri.servers[0].host, "from-override");
	assert_no_secret(&ri, "Secret");
	radius_info_free(&ri);
}

static void test_default_servers_file(void **state)
{

	(void)state;
	write_conf("# no servers line");
	assert_int_equal(radius_read(conf_path, NULL, &ri), 0);
	assert_string_equal(ri.servers_file, RADIUS_DEFAULT_SERVERS);
	assert_string_equal(ri.auth_server, "10.1.1.1");
	radius_info_free(&ri);
}

static void test_missing_files(void **state)
{
	char missing_conf[160], missing_servers[160];

	(void)state;
	unit_join(missing_conf, sizeof(missing_conf), tmpdir, "nope.conf");
	unit_join(missing_servers, sizeof(missing_servers), tmpdir, "nope-servers");
	assert_int_equal(radius_read(missing_conf, missing_servers, &ri), 0);
	assert_null(ri.nas_identifier);
	assert_null(ri.auth_server);
	assert_null(ri.acct_server);
	assert_int_equal(ri.auth_port, 0);
	assert_int_equal(ri.acct_port, 0);
	assert_int_equal(ri.n_servers, 0);
	assert_string_equal(ri.servers_file, missing_servers); /* the file that would be read */
	radius_info_free(&ri);

	/* Conf present, servers file missing: the conf's fields are still read. */
	write_conf("servers /nonexistent/servers");
	assert_int_equal(radius_read(conf_path, NULL, &ri), 0);
	assert_string_equal(ri.nas_identifier, "ocserv-node-7");
	assert_int_equal(ri.n_servers, 0);
	assert_string_equal(ri.servers_file, "/nonexistent/servers");
	radius_info_free(&ri);

	/* A directory is unreadable as a file: no crash, empty fields. */
	assert_int_equal(radius_read(tmpdir, tmpdir, &ri), 0);
	assert_null(ri.nas_identifier);
	assert_int_equal(ri.n_servers, 0);
	radius_info_free(&ri);
}

static void test_inline_secret_only(void **state)
{

	(void)state;
	assert_int_equal(unit_write_str(conf_path, "authserver host-a:1812:TopSecretXYZ\n"
						   "acctserver host-b::TopSecretXYZ\n"
						   "nas-identifier nas\n"),
			 0);
	assert_int_equal(unit_write_str(servers_path, "host-a TopSecretXYZ\n"), 0);
	assert_int_equal(radius_read(conf_path, servers_path, &ri), 0);
	assert_string_equal(ri.auth_server, "host-a");
	assert_int_equal(ri.auth_port, 1812);
	assert_string_equal(ri.acct_server, "host-b");
	assert_int_equal(ri.acct_port, 0);
	assert_no_secret(&ri, "TopSecret");
	radius_info_free(&ri);

	/* A secret with ':' in it must not leak through the host either. */
	assert_int_equal(unit_write_str(conf_path, "authserver 10.1.1.1:1812:Top:SecretXYZ\n"
						   "acctserver 10.1.1.1:1813:Top:SecretXYZ\n"),
			 0);
	assert_int_equal(radius_read(conf_path, servers_path, &ri), 0);
	assert_no_secret(&ri, "Secret");
	assert_string_equal(ri.auth_server, "10.1.1.1");
	assert_int_equal(ri.auth_port, 1812);
	assert_string_equal(ri.acct_server, "10.1.1.1");
	assert_int_equal(ri.acct_port, 1813);
	radius_info_free(&ri);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_server),
		cmocka_unit_test(test_split_server_blank_separators),
		cmocka_unit_test(test_split_server_secret_with_colons),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_read_conf_and_servers),
		T(test_override_wins),
		T(test_default_servers_file),
		T(test_missing_files),
		T(test_inline_secret_only),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
