/* config.h: environment variables, env files, defaults and validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "err.h"
#include "unit.h"

static const char *const all_vars[] = {
	"AGENT_HOST",
	"AGENT_PORT",
	"AGENT_AUTH_TOKEN_CURRENT",
	"AGENT_AUTH_TOKEN_PREVIOUS",
	"OCCTL_PATH",
	"OCCTL_TIMEOUT_MS",
	"OCCTL_USE_SUDO",
	"OCCTL_SOCKET",
	"RADIUSCLIENT_CONF_PATH",
	"RADIUS_SERVERS_PATH",
	"AGENT_STATE_DIR",
	"OCSERV_CONF_PATH",
	"OCSERV_BACKEND",
	"OCSERV_CACHE_MS",
	"OCSERV_EVENTS",
	"EVENTS_BUFFER",
	"EVENTS_MAX_SUBSCRIBERS",
	"EVENTS_HEARTBEAT_MS",
	"EVENTS_USAGE_WAIT_MS",
	"AGENT_TLS_CERT",
	"AGENT_TLS_KEY",
	"AGENT_TLS_CLIENT_CA",
	"AGENT_TLS_CLIENT_ALLOWED",
	"AGENT_TLS_PRIORITIES",
	"AGENT_AUTH_MODE",
	"AGENT_AUTH_TOKEN_CURRENT_FILE",
	"AGENT_AUTH_TOKEN_PREVIOUS_FILE",
	"CREDENTIALS_DIRECTORY",
	"AGENT_PRIVSEP",
	"AGENT_USER",
	"AGENT_SECCOMP",
	"AGENT_AUTH_FAIL_LIMIT",
	"AGENT_AUTH_FAIL_WINDOW_MS",
	"AGENT_MAX_CONNECTIONS",
	"AGENT_MAX_CONNECTIONS_PER_IP",
	"AGENT_MAX_HEADER_BYTES",
	"AGENT_MAX_BODY_BYTES",
	"AGENT_MAX_JSON_DEPTH",
};

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
		unsetenv(all_vars[i]);
	return unit_mkdtemp(tmpdir, sizeof(tmpdir), "cfgtest") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

/* Write an env file into tmpdir and return its path (static buffer). */
static const char *env_file(const char *text)
{
	static char path[128];

	unit_join(path, sizeof(path), tmpdir, "agent.env");
	assert_int_equal(unit_write_str(path, text), 0);
	return path;
}

static void assert_cfg_empty(const struct agent_config *cfg)
{
	static const struct agent_config zero;

	assert_memory_equal(cfg, &zero, sizeof(zero));
}

/* config_load must fail with ERR_BAD_REQUEST, an error naming `what`, and
 * an empty cfg. */
static void expect_fail(const char *env, const char *what)
{
	struct agent_config cfg;
	char err[256];

	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(config_load(&cfg, env, err, sizeof(err)), ERR_BAD_REQUEST);
	if (strstr(err, what) == NULL)
		fail_msg("error '%s' does not name '%s'", err, what);
	assert_cfg_empty(&cfg);
}

static void load_ok(struct agent_config *cfg, const char *env)
{
	char err[256] = "";
	int r = config_load(cfg, env, err, sizeof(err));

	if (r != 0)
		fail_msg("config_load failed (%d): %s", r, err);
}

static void test_defaults(void **state)
{
	struct agent_config cfg;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "s3cret", 1);
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.host, "0.0.0.0");
	assert_int_equal(cfg.port, 8088);
	assert_string_equal(cfg.token_current, "s3cret");
	assert_null(cfg.token_previous);
	assert_string_equal(cfg.occtl_path, "/usr/bin/occtl");
	assert_int_equal(cfg.occtl_timeout_ms, 5000);
	assert_true(cfg.occtl_use_sudo);
	assert_null(cfg.occtl_socket);
	assert_string_equal(cfg.radius_conf_path, "/etc/radcli/radiusclient.conf");
	assert_null(cfg.radius_servers_path);
	assert_string_equal(cfg.state_dir, "/var/lib/ocserv-agent");
	assert_string_equal(cfg.ocserv_conf_path, "/etc/ocserv/ocserv.conf");
	config_free(&cfg);
	assert_cfg_empty(&cfg);
	config_free(NULL);
}

static void test_all_from_env(void **state)
{
	struct agent_config cfg;

	(void)state;
	setenv("AGENT_HOST", "::1", 1);
	setenv("AGENT_PORT", "65535", 1);
	setenv("AGENT_AUTH_TOKEN_CURRENT", "  cur-token \t\r\n", 1);
	setenv("AGENT_AUTH_TOKEN_PREVIOUS", " prev-token ", 1);
	setenv("OCCTL_PATH", "/opt/occtl", 1);
	setenv("OCCTL_TIMEOUT_MS", "1", 1);
	setenv("OCCTL_USE_SUDO", "No", 1);
	setenv("OCCTL_SOCKET", "/run/occtl.socket", 1);
	setenv("RADIUSCLIENT_CONF_PATH", "/x/radiusclient.conf", 1);
	setenv("RADIUS_SERVERS_PATH", "/x/servers", 1);
	setenv("AGENT_STATE_DIR", "/x/state", 1);
	setenv("OCSERV_CONF_PATH", "/x/ocserv.conf", 1);
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.host, "::1");
	assert_int_equal(cfg.port, 65535);
	assert_string_equal(cfg.token_current, "cur-token");
	assert_string_equal(cfg.token_previous, "prev-token");
	assert_string_equal(cfg.occtl_path, "/opt/occtl");
	assert_int_equal(cfg.occtl_timeout_ms, 1);
	assert_false(cfg.occtl_use_sudo);
	assert_string_equal(cfg.occtl_socket, "/run/occtl.socket");
	assert_string_equal(cfg.radius_conf_path, "/x/radiusclient.conf");
	assert_string_equal(cfg.radius_servers_path, "/x/servers");
	assert_string_equal(cfg.state_dir, "/x/state");
	assert_string_equal(cfg.ocserv_conf_path, "/x/ocserv.conf");
	config_free(&cfg);
}

static void test_port_bounds(void **state)
{
	static const char *bad[] = {"0",   "65536", "abc", "-1",
				    "80x", "1e3",   " 80", "99999999999999999999"};
	struct agent_config cfg;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "t", 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("AGENT_PORT", bad[i], 1);
		expect_fail(NULL, "AGENT_PORT");
	}
	setenv("AGENT_PORT", "1", 1);
	load_ok(&cfg, NULL);
	assert_int_equal(cfg.port, 1);
	config_free(&cfg);
	/* An empty value is "not set": the default applies. */
	setenv("AGENT_PORT", "", 1);
	load_ok(&cfg, NULL);
	assert_int_equal(cfg.port, 8088);
	config_free(&cfg);
}

static void test_timeout_bounds(void **state)
{
	static const char *bad[] = {"-5", "abc", "0", "3600001", "5s", "1.5"};
	struct agent_config cfg;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "t", 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("OCCTL_TIMEOUT_MS", bad[i], 1);
		expect_fail(NULL, "OCCTL_TIMEOUT_MS");
	}
	setenv("OCCTL_TIMEOUT_MS", "3600000", 1);
	load_ok(&cfg, NULL);
	assert_int_equal(cfg.occtl_timeout_ms, 3600000);
	config_free(&cfg);
}

static void test_relative_paths(void **state)
{
	static const char *path_vars[] = {
		"OCCTL_PATH",	       "OCCTL_SOCKET",	  "RADIUSCLIENT_CONF_PATH",
		"RADIUS_SERVERS_PATH", "AGENT_STATE_DIR", "OCSERV_CONF_PATH"};

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "t", 1);
	for (size_t i = 0; i < sizeof(path_vars) / sizeof(path_vars[0]); i++) {
		setenv(path_vars[i], "relative/path", 1);
		expect_fail(NULL, path_vars[i]);
		setenv(path_vars[i], "./x", 1);
		expect_fail(NULL, path_vars[i]);
		unsetenv(path_vars[i]);
	}
}

static void test_bool_values(void **state)
{
	static const struct {
		const char *text;
		bool value;
	} ok[] = {{"true", true},   {"TRUE", true},   {"True", true}, {"1", true},
		  {"yes", true},    {"YES", true},    {"yEs", true},  {"false", false},
		  {"FALSE", false}, {"fAlSe", false}, {"0", false},   {"no", false},
		  {"NO", false},    {"No", false}};
	static const char *bad[] = {"maybe", "",  " true", "true ", "2", "on",
				    "off",   "y", "n",	   "truee", "10"};
	struct agent_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		bool v = !ok[i].value;
		assert_int_equal(config_parse_bool(ok[i].text, &v), 0);
		assert_int_equal(v, ok[i].value);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool v = true;
		assert_int_equal(config_parse_bool(bad[i], &v), ERR_BAD_REQUEST);
		assert_true(v); /* untouched */
	}
	setenv("AGENT_AUTH_TOKEN_CURRENT", "t", 1);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		setenv("OCCTL_USE_SUDO", ok[i].text, 1);
		load_ok(&cfg, NULL);
		assert_int_equal(cfg.occtl_use_sudo, ok[i].value);
		config_free(&cfg);
	}
	setenv("OCCTL_USE_SUDO", "maybe", 1);
	expect_fail(NULL, "OCCTL_USE_SUDO");
}

static void test_host(void **state)
{
	static const char *bad[] = {"localhost", "256.1.1.1", "1.2.3",	 "example.org",
				    "::g",	 "[::1]",     "0.0.0.0 "};
	static const char *good[] = {
		"127.0.0.1", "0.0.0.0", "::", "::1", "fe80::1", "2001:db8::42"};
	struct agent_config cfg;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "t", 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("AGENT_HOST", bad[i], 1);
		expect_fail(NULL, "AGENT_HOST");
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		setenv("AGENT_HOST", good[i], 1);
		load_ok(&cfg, NULL);
		assert_string_equal(cfg.host, good[i]);
		config_free(&cfg);
	}
}

static void test_token_required(void **state)
{
	struct agent_config cfg;

	(void)state;
	expect_fail(NULL, "AGENT_AUTH_TOKEN_CURRENT");
	setenv("AGENT_AUTH_TOKEN_CURRENT", "", 1);
	expect_fail(NULL, "AGENT_AUTH_TOKEN_CURRENT");
	setenv("AGENT_AUTH_TOKEN_CURRENT", "  \t \r\n", 1);
	expect_fail(NULL, "AGENT_AUTH_TOKEN_CURRENT");
	/* A blank previous token means "none". */
	setenv("AGENT_AUTH_TOKEN_CURRENT", "tok", 1);
	setenv("AGENT_AUTH_TOKEN_PREVIOUS", "   ", 1);
	load_ok(&cfg, NULL);
	assert_null(cfg.token_previous);
	config_free(&cfg);
}

static void test_env_file_syntax(void **state)
{
	struct agent_config cfg;
	const char *path =
		env_file("# ocserv-agent environment\n"
			 "\n"
			 "   \n"
			 "   # indented comment\n"
			 "AGENT_AUTH_TOKEN_CURRENT=first\n"
			 "export AGENT_PORT=9001\r\n"
			 "  OCCTL_TIMEOUT_MS  =  2500  \r\n"
			 "OCCTL_USE_SUDO=\"false\"\n"
			 "OCCTL_SOCKET='/run/ocserv/occtl.socket'\n"
			 "AGENT_HOST = 127.0.0.1\t\n"
			 "AGENT_AUTH_TOKEN_PREVIOUS=\"  quoted-prev  \"\r\n"
			 "AGENT_AUTH_TOKEN_CURRENT=second \r\n"
			 "AGENT_STATE_DIR=/tmp/state=with=equals\n"
			 "OCSERV_CONF_PATH=/etc/ocserv/ocserv.conf"); /* no final newline */

	(void)state;
	load_ok(&cfg, path);
	assert_string_equal(cfg.token_current, "second"); /* later line wins, trimmed */
	assert_string_equal(cfg.token_previous, "quoted-prev");
	assert_int_equal(cfg.port, 9001);
	assert_int_equal(cfg.occtl_timeout_ms, 2500);
	assert_false(cfg.occtl_use_sudo);
	assert_string_equal(cfg.occtl_socket, "/run/ocserv/occtl.socket");
	assert_string_equal(cfg.host, "127.0.0.1");
	assert_string_equal(cfg.state_dir, "/tmp/state=with=equals");
	assert_string_equal(cfg.ocserv_conf_path, "/etc/ocserv/ocserv.conf");
	/* Not in the file: defaults. */
	assert_string_equal(cfg.occtl_path, "/usr/bin/occtl");
	config_free(&cfg);
}

static void test_env_file_crlf_only(void **state)
{
	struct agent_config cfg;
	const char *path = env_file("AGENT_AUTH_TOKEN_CURRENT=tok\r\n\r\nAGENT_PORT=1234\r\n");

	(void)state;
	load_ok(&cfg, path);
	assert_string_equal(cfg.token_current, "tok");
	assert_int_equal(cfg.port, 1234);
	config_free(&cfg);
}

static void test_env_wins_over_file(void **state)
{
	struct agent_config cfg;
	const char *path = env_file("AGENT_AUTH_TOKEN_CURRENT=from-file\n"
				    "AGENT_PORT=9001\n"
				    "OCCTL_PATH=/file/occtl\n");

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "from-env", 1);
	setenv("AGENT_PORT", "9002", 1);
	load_ok(&cfg, path);
	assert_string_equal(cfg.token_current, "from-env");
	assert_int_equal(cfg.port, 9002);
	assert_string_equal(cfg.occtl_path, "/file/occtl");
	config_free(&cfg);
}

static void test_env_file_missing(void **state)
{
	char path[128];

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "tok", 1);
	unit_join(path, sizeof(path), tmpdir, "does-not-exist.env");
	expect_fail(path, path);
}

static void test_env_file_malformed(void **state)
{
	char want[160];
	const char *path;

	(void)state;
	path = env_file(
		"# comment\n\nAGENT_PORT=1\nthis line has no equals sign\nAGENT_HOST=::1\n");
	snprintf(want, sizeof(want), "%s:4", path);
	expect_fail(path, want);

	path = env_file("AGENT_AUTH_TOKEN_CURRENT=x\r\n  = value\r\n");
	snprintf(want, sizeof(want), "%s:2", path);
	expect_fail(path, want);

	/* A valid line with an invalid value names the variable. */
	path = env_file("AGENT_AUTH_TOKEN_CURRENT=x\nAGENT_PORT=70000\n");
	expect_fail(path, "AGENT_PORT");

	/* A NUL byte is refused. */
	char p2[128];
	unit_join(p2, sizeof(p2), tmpdir, "nul.env");
	assert_int_equal(unit_write_file(p2, "AGENT_AUTH_TOKEN_CURRENT=a\0b\n", 29, 0600), 0);
	expect_fail(p2, p2);
}

static void test_limits(void **state)
{
	struct agent_config cfg;
	char *tok = malloc(4098), *big;
	const char *path;
	char bigpath[128];

	(void)state;
	assert_non_null(tok);
	memset(tok, 't', 4097);
	tok[4097] = '\0';
	setenv("AGENT_AUTH_TOKEN_CURRENT", tok, 1);
	expect_fail(NULL, "AGENT_AUTH_TOKEN_CURRENT");
	tok[4096] = '\0';
	setenv("AGENT_AUTH_TOKEN_CURRENT", tok, 1);
	load_ok(&cfg, NULL);
	assert_int_equal(strlen(cfg.token_current), 4096);
	config_free(&cfg);
	free(tok);

	/* Unknown names in the env file are ignored (it is shared with other tools). */
	unsetenv("AGENT_AUTH_TOKEN_CURRENT");
	path = env_file("SOMETHING_ELSE=1\nAGENT_AUTH_TOKEN_CURRENT=x\nlowercase=2\n");
	load_ok(&cfg, path);
	assert_string_equal(cfg.token_current, "x");
	config_free(&cfg);

	/* An env file over 64 KiB is refused. */
	big = malloc(70 * 1024);
	assert_non_null(big);
	memset(big, '#', 70 * 1024 - 1);
	big[70 * 1024 - 1] = '\n';
	unit_join(bigpath, sizeof(bigpath), tmpdir, "big.env");
	assert_int_equal(unit_write_file(bigpath, big, 70 * 1024, 0600), 0);
	free(big);
	expect_fail(bigpath, bigpath);
}

static void test_error_leaves_cfg_empty_after_partial(void **state)
{
	/* Host and port are valid and loaded before the bad path is met: they
	 * must be released, not leaked or left behind (ASan checks the leak). */
	(void)state;
	setenv("AGENT_HOST", "::1", 1);
	setenv("AGENT_AUTH_TOKEN_CURRENT", "tok", 1);
	setenv("OCSERV_CONF_PATH", "rel", 1);
	expect_fail(NULL, "OCSERV_CONF_PATH");
}

static void test_print_hides_tokens(void **state)
{
	struct agent_config cfg;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "VERY-SECRET-CURRENT", 1);
	setenv("AGENT_PORT", "8123", 1);
	setenv("OCCTL_SOCKET", "/run/occtl.socket", 1);
	load_ok(&cfg, NULL);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	config_print(&cfg, f);
	fclose(f);
	assert_null(strstr(text, "VERY-SECRET"));
	assert_non_null(strstr(text, "AGENT_AUTH_TOKEN_CURRENT=(set)\n"));
	assert_non_null(strstr(text, "AGENT_AUTH_TOKEN_PREVIOUS=(unset)\n"));
	assert_non_null(strstr(text, "AGENT_PORT=8123\n"));
	assert_non_null(strstr(text, "OCCTL_USE_SUDO=true\n"));
	assert_non_null(strstr(text, "OCCTL_SOCKET=/run/occtl.socket\n"));
	assert_non_null(strstr(text, "OCCTL_TIMEOUT_MS=5000\n"));
	free(text);
	config_free(&cfg);

	setenv("AGENT_AUTH_TOKEN_PREVIOUS", "OLD-SECRET-PREVIOUS", 1);
	load_ok(&cfg, NULL);
	f = open_memstream(&text, &len);
	config_print(&cfg, f);
	fclose(f);
	assert_null(strstr(text, "SECRET"));
	assert_non_null(strstr(text, "AGENT_AUTH_TOKEN_PREVIOUS=(set)\n"));
	free(text);
	config_free(&cfg);
}

static void test_backend_and_events(void **state)
{
	static const char *bad_backend[] = {"AUTO", "native", "occtl ", "ctl,occtl"};
	static const char *bad_count[] = {"0", "-1", "1000001", "10k"};
	struct agent_config cfg;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "t", 1);
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.backend, "auto");
	assert_int_equal(cfg.cache_ms, 0);
	assert_true(cfg.events);
	assert_int_equal(cfg.events_buffer, 1000);
	assert_int_equal(cfg.events_max_subscribers, 64);
	assert_int_equal(cfg.events_heartbeat_ms, 15000);
	assert_int_equal(cfg.events_usage_wait_ms, 2000);
	config_free(&cfg);
	for (size_t i = 0; i < sizeof(bad_backend) / sizeof(bad_backend[0]); i++) {
		setenv("OCSERV_BACKEND", bad_backend[i], 1);
		expect_fail(NULL, "OCSERV_BACKEND");
	}
	setenv("OCSERV_BACKEND", "ctl", 1);
	for (size_t i = 0; i < sizeof(bad_count) / sizeof(bad_count[0]); i++) {
		setenv("EVENTS_BUFFER", bad_count[i], 1);
		expect_fail(NULL, "EVENTS_BUFFER");
	}
	setenv("EVENTS_BUFFER", "1", 1);
	setenv("OCSERV_CACHE_MS", "3600001", 1);
	expect_fail(NULL, "OCSERV_CACHE_MS");
	setenv("OCSERV_CACHE_MS", "250", 1);
	setenv("EVENTS_HEARTBEAT_MS", "0", 1);
	expect_fail(NULL, "EVENTS_HEARTBEAT_MS");
	setenv("EVENTS_HEARTBEAT_MS", "100", 1);
	setenv("OCSERV_EVENTS", "no", 1);
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.backend, "ctl");
	assert_int_equal(cfg.cache_ms, 250);
	assert_int_equal(cfg.events_buffer, 1);
	assert_int_equal(cfg.events_heartbeat_ms, 100);
	assert_false(cfg.events);
	config_free(&cfg);
}

/* ---- HTTPS, client certificates, auth modes ---- */

static void test_tls_combinations(void **state)
{
	struct agent_config cfg;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "tok", 1);
	load_ok(&cfg, NULL);
	assert_null(cfg.tls_cert);
	assert_null(cfg.tls_key);
	assert_null(cfg.tls_client_ca);
	assert_int_equal(cfg.tls_client_allowed.n, 0);
	assert_string_equal(cfg.tls_priorities, CONFIG_TLS_PRIORITIES);
	assert_int_equal(cfg.auth_mode, AUTH_MODE_TOKEN);
	config_free(&cfg);

	/* The certificate and its key go together. */
	setenv("AGENT_TLS_CERT", "/etc/ocserv-agent/server.pem", 1);
	expect_fail(NULL, "AGENT_TLS_KEY");
	unsetenv("AGENT_TLS_CERT");
	setenv("AGENT_TLS_KEY", "/etc/ocserv-agent/server.key", 1);
	expect_fail(NULL, "AGENT_TLS_CERT");
	setenv("AGENT_TLS_CERT", "server.pem", 1);
	expect_fail(NULL, "AGENT_TLS_CERT");
	setenv("AGENT_TLS_CERT", "/etc/ocserv-agent/server.pem", 1);
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.tls_cert, "/etc/ocserv-agent/server.pem");
	assert_string_equal(cfg.tls_key, "/etc/ocserv-agent/server.key");
	assert_int_equal(cfg.auth_mode, AUTH_MODE_TOKEN); /* no client CA: token */
	config_free(&cfg);

	/* A client CA needs HTTPS; with it the default mode is either. */
	unsetenv("AGENT_TLS_CERT");
	unsetenv("AGENT_TLS_KEY");
	setenv("AGENT_TLS_CLIENT_CA", "/etc/ocserv-agent/clients.pem", 1);
	expect_fail(NULL, "AGENT_TLS_CLIENT_CA");
	setenv("AGENT_TLS_CERT", "/etc/ocserv-agent/server.pem", 1);
	setenv("AGENT_TLS_KEY", "/etc/ocserv-agent/server.key", 1);
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.tls_client_ca, "/etc/ocserv-agent/clients.pem");
	assert_int_equal(cfg.auth_mode, AUTH_MODE_EITHER);
	config_free(&cfg);

	/* An allow list needs a client CA. */
	unsetenv("AGENT_TLS_CLIENT_CA");
	setenv("AGENT_TLS_CLIENT_ALLOWED", "ops-1", 1);
	expect_fail(NULL, "AGENT_TLS_CLIENT_ALLOWED");
	unsetenv("AGENT_TLS_CLIENT_ALLOWED");

	/* Priorities: printable text, at most 1024 bytes. */
	setenv("AGENT_TLS_PRIORITIES", "NORMAL:-VERS-TLS1.1", 1);
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.tls_priorities, "NORMAL:-VERS-TLS1.1");
	config_free(&cfg);
	setenv("AGENT_TLS_PRIORITIES", "NORMAL\n:%COMPAT", 1);
	expect_fail(NULL, "AGENT_TLS_PRIORITIES");
	char *big = malloc(1026);
	assert_non_null(big);
	memset(big, 'A', 1025);
	big[1025] = '\0';
	setenv("AGENT_TLS_PRIORITIES", big, 1);
	expect_fail(NULL, "AGENT_TLS_PRIORITIES");
	big[1024] = '\0';
	setenv("AGENT_TLS_PRIORITIES", big, 1);
	load_ok(&cfg, NULL);
	config_free(&cfg);
	free(big);
}

static void set_client_ca(void)
{
	setenv("AGENT_TLS_CERT", "/etc/ocserv-agent/server.pem", 1);
	setenv("AGENT_TLS_KEY", "/etc/ocserv-agent/server.key", 1);
	setenv("AGENT_TLS_CLIENT_CA", "/etc/ocserv-agent/clients.pem", 1);
}

static void test_auth_mode(void **state)
{
	static const char *bad[] = {"TOKEN", "mTLS", "any", "token ", "token,mtls", "none"};
	static const struct {
		const char *name;
		enum auth_mode mode;
	} good[] = {{"token", AUTH_MODE_TOKEN},
		    {"mtls", AUTH_MODE_MTLS},
		    {"both", AUTH_MODE_BOTH},
		    {"either", AUTH_MODE_EITHER}};
	struct agent_config cfg;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "tok", 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("AGENT_AUTH_MODE", bad[i], 1);
		expect_fail(NULL, "AGENT_AUTH_MODE");
	}
	/* Modes that use certificates need a client CA. */
	for (size_t i = 1; i < 4; i++) {
		setenv("AGENT_AUTH_MODE", good[i].name, 1);
		expect_fail(NULL, "AGENT_TLS_CLIENT_CA");
	}
	set_client_ca();
	for (size_t i = 0; i < 4; i++) {
		setenv("AGENT_AUTH_MODE", good[i].name, 1);
		load_ok(&cfg, NULL);
		assert_int_equal(cfg.auth_mode, good[i].mode);
		assert_string_equal(config_auth_mode_name(cfg.auth_mode), good[i].name);
		config_free(&cfg);
	}
	/* Only mtls works without a token; a previous token alone is refused. */
	unsetenv("AGENT_AUTH_TOKEN_CURRENT");
	setenv("AGENT_AUTH_MODE", "mtls", 1);
	load_ok(&cfg, NULL);
	assert_null(cfg.token_current);
	config_free(&cfg);
	setenv("AGENT_AUTH_TOKEN_PREVIOUS", "old", 1);
	expect_fail(NULL, "AGENT_AUTH_TOKEN_PREVIOUS");
	unsetenv("AGENT_AUTH_TOKEN_PREVIOUS");
	for (size_t i = 0; i < 4; i++) {
		if (good[i].mode == AUTH_MODE_MTLS)
			continue;
		setenv("AGENT_AUTH_MODE", good[i].name, 1);
		expect_fail(NULL, "AGENT_AUTH_TOKEN_CURRENT");
	}
	assert_string_equal(config_auth_mode_name((enum auth_mode)7), "?");
}

/* An empty AGENT_AUTH_MODE in the env file is unset (the default), as for
 * every other variable: with a client CA that is either, not token. */
static void test_auth_mode_empty_in_file(void **state)
{
	struct agent_config cfg;

	(void)state;
	set_client_ca();
	load_ok(&cfg, env_file("AGENT_AUTH_TOKEN_CURRENT=tok\nAGENT_AUTH_MODE=\n"));
	assert_int_equal(cfg.auth_mode, AUTH_MODE_EITHER);
	config_free(&cfg);
	load_ok(&cfg, env_file("AGENT_AUTH_TOKEN_CURRENT=tok\nAGENT_AUTH_MODE=both\n"));
	assert_int_equal(cfg.auth_mode, AUTH_MODE_BOTH);
	config_free(&cfg);
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX64_COLONS                                                                     \
	"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:" \
	"45:67:89:ab:cd:ef"

static void test_client_allowed(void **state)
{
	static const char *bad_pins[] = {
		"sha256:" HEX64 "0",			   /* 65 digits */
		"sha256:0123456789abcdef0123456789abcdef", /* 32 */
		"sha256:",
		"sha256:" HEX64 ":", /* a trailing colon */
		"sha256::" HEX64,    /* a leading one */
		"sha256:0:123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"sha256:g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"sha256:" HEX64 " x",
	};
	struct agent_config cfg;
	char *text = NULL, big[300];
	size_t len = 0;
	FILE *f;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "tok", 1);
	set_client_ca();
	setenv("AGENT_TLS_CLIENT_ALLOWED",
	       " ops-laptop , ,SHA256:" HEX64_COLONS ",sha256:" HEX64 ",CN with spaces ", 1);
	load_ok(&cfg, NULL);
	assert_int_equal(cfg.tls_client_allowed.n, 4);
	assert_string_equal(cfg.tls_client_allowed.v[0], "ops-laptop");
	/* Pins are stored one way: lowercase, no colons. */
	assert_string_equal(cfg.tls_client_allowed.v[1], "sha256:" HEX64);
	assert_string_equal(cfg.tls_client_allowed.v[2], "sha256:" HEX64);
	assert_string_equal(cfg.tls_client_allowed.v[3], "CN with spaces");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	config_print(&cfg, f);
	fclose(f);
	assert_non_null(strstr(text, "AGENT_TLS_CLIENT_ALLOWED=ops-laptop,sha256:" HEX64
				     ",sha256:" HEX64 ",CN with spaces\n"));
	assert_non_null(strstr(text, "AGENT_AUTH_MODE=either\n"));
	free(text);
	config_free(&cfg);

	for (size_t i = 0; i < sizeof(bad_pins) / sizeof(bad_pins[0]); i++) {
		setenv("AGENT_TLS_CLIENT_ALLOWED", bad_pins[i], 1);
		expect_fail(NULL, "AGENT_TLS_CLIENT_ALLOWED");
	}
	setenv("AGENT_TLS_CLIENT_ALLOWED", " , ,", 1);
	expect_fail(NULL, "lists nothing");
	setenv("AGENT_TLS_CLIENT_ALLOWED", "ops\x01", 1);
	expect_fail(NULL, "AGENT_TLS_CLIENT_ALLOWED");
	/* CNs of at most 256 bytes. */
	memset(big, 'c', 257);
	big[257] = '\0';
	setenv("AGENT_TLS_CLIENT_ALLOWED", big, 1);
	expect_fail(NULL, "AGENT_TLS_CLIENT_ALLOWED");
	big[256] = '\0';
	setenv("AGENT_TLS_CLIENT_ALLOWED", big, 1);
	load_ok(&cfg, NULL);
	assert_int_equal(strlen(cfg.tls_client_allowed.v[0]), 256);
	config_free(&cfg);
}

/* ---- tokens from files ---- */

static const char *token_path(const char *name, const char *text, mode_t mode)
{
	static char path[2][128];
	static int which;
	char *p = path[which++ % 2];

	unit_join(p, sizeof(path[0]), tmpdir, name);
	assert_int_equal(unit_write_str(p, text), 0);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

static void test_token_files(void **state)
{
	struct agent_config cfg;

	(void)state;
	/* The variables are not needed; blanks and one newline are trimmed. */
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", token_path("cur", "  tok-from-file \r\n", 0600), 1);
	setenv("AGENT_AUTH_TOKEN_PREVIOUS_FILE", token_path("prev", "old-tok", 0400), 1);
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.token_current, "tok-from-file");
	assert_string_equal(cfg.token_previous, "old-tok");
	config_free(&cfg);
	/* Readable by the group (a credentials group) is fine. */
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", token_path("cur", "t", 0640), 1);
	unsetenv("AGENT_AUTH_TOKEN_PREVIOUS_FILE");
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.token_current, "t");
	assert_null(cfg.token_previous);
	config_free(&cfg);
	/* Given from the env file too. */
	unsetenv("AGENT_AUTH_TOKEN_CURRENT_FILE");
	char line[200];
	snprintf(line, sizeof(line), "AGENT_AUTH_TOKEN_CURRENT_FILE=%s\n",
		 token_path("cur", "from-env-file", 0600));
	load_ok(&cfg, env_file(line));
	assert_string_equal(cfg.token_current, "from-env-file");
	config_free(&cfg);
	/* An empty _FILE is unset, like every variable. */
	setenv("AGENT_AUTH_TOKEN_CURRENT", "from-var", 1);
	load_ok(&cfg, env_file("AGENT_AUTH_TOKEN_CURRENT_FILE=\n"));
	assert_string_equal(cfg.token_current, "from-var");
	config_free(&cfg);
}

static void test_token_file_refusals(void **state)
{
	static const struct {
		const char *text;
		mode_t mode;
		const char *why;
	} bad[] = {
		{"tok", 0644, "accessible by others"},
		{"tok", 0602, "accessible by others"},
		{"tok", 0601, "accessible by others"},
		{"", 0600, "one non-empty line"},
		{" \t\r\n\n", 0600, "one non-empty line"},
		{"tok\nsecond", 0600, "one non-empty line"},
		{"tok\rsecond", 0600, "one non-empty line"},
	};
	char path[128], dir[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", token_path("t", bad[i].text, bad[i].mode),
		       1);
		expect_fail(NULL, bad[i].why);
		expect_fail(NULL, "AGENT_AUTH_TOKEN_CURRENT_FILE");
	}
	/* Both the variable and the file. */
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", token_path("t", "tok", 0600), 1);
	setenv("AGENT_AUTH_TOKEN_CURRENT", "tok", 1);
	expect_fail(NULL, "not both");
	unsetenv("AGENT_AUTH_TOKEN_CURRENT");
	setenv("AGENT_AUTH_TOKEN_PREVIOUS", "old", 1);
	setenv("AGENT_AUTH_TOKEN_PREVIOUS_FILE", token_path("p", "old", 0600), 1);
	expect_fail(NULL, "AGENT_AUTH_TOKEN_PREVIOUS_FILE");
	unsetenv("AGENT_AUTH_TOKEN_PREVIOUS");
	unsetenv("AGENT_AUTH_TOKEN_PREVIOUS_FILE");
	/* Missing, a directory, a FIFO (must not hang waiting for a writer). */
	unit_join(path, sizeof(path), tmpdir, "missing");
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", path, 1);
	expect_fail(NULL, "cannot read");
	unit_join(dir, sizeof(dir), tmpdir, "adir");
	assert_int_equal(mkdir(dir, 0700), 0);
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", dir, 1);
	expect_fail(NULL, "not a regular file");
	unit_join(path, sizeof(path), tmpdir, "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", path, 1);
	expect_fail(NULL, "not a regular file");
	/* Relative paths: only a bare credential name, only with systemd's
	 * $CREDENTIALS_DIRECTORY. */
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", "agent-token", 1);
	expect_fail(NULL, "CREDENTIALS_DIRECTORY");
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", "sub/agent-token", 1);
	expect_fail(NULL, "AGENT_AUTH_TOKEN_CURRENT_FILE");
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", "../agent-token", 1);
	expect_fail(NULL, "AGENT_AUTH_TOKEN_CURRENT_FILE");
}

static void test_token_file_credentials(void **state)
{
	struct agent_config cfg;

	(void)state;
	token_path("agent-token", "cred-tok\n", 0400);
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", "agent-token", 1);
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.token_current, "cred-tok");
	config_free(&cfg);
	/* Absolute paths ignore the directory. */
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", token_path("elsewhere", "abs-tok", 0600), 1);
	load_ok(&cfg, NULL);
	assert_string_equal(cfg.token_current, "abs-tok");
	config_free(&cfg);
}

/* As long as from the variable: 4096 bytes, blanks around them trimmed. */
static void test_token_file_length(void **state)
{
	struct agent_config cfg;
	char *tok = malloc(4200);

	(void)state;
	assert_non_null(tok);
	memset(tok, 'k', 4096);
	strcpy(tok + 4096, "  \n");
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", token_path("long", tok, 0600), 1);
	load_ok(&cfg, NULL);
	assert_int_equal(strlen(cfg.token_current), 4096);
	config_free(&cfg);
	memset(tok, 'k', 4097);
	tok[4097] = '\0';
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", token_path("long", tok, 0600), 1);
	expect_fail(NULL, "longer than 4096");
	memset(tok, 'k', 4199);
	tok[4199] = '\0';
	setenv("AGENT_AUTH_TOKEN_CURRENT_FILE", token_path("long", tok, 0600), 1);
	expect_fail(NULL, "longer than 4096");
	free(tok);
}

/* ---- privilege separation ---- */

static void test_privsep_user_seccomp(void **state)
{
	static const char *bad_users[] = {"Root",
					  "1abc",
					  "a b",
					  "-x",
					  "ocserv.agent",
					  "",
					  "abcdefghijklmnopqrstuvwxyz0123456"};
	static const char *good_users[] = {"ocservagent", "_svc", "ocserv-agent", "a1_-",
					   "abcdefghijklmnopqrstuvwxyz012345"};
	static const char *bad_privsep[] = {"ON", "yes", "true", "1", "root"};
	struct agent_config cfg;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "tok", 1);
	load_ok(&cfg, NULL);
	assert_int_equal(cfg.privsep, PRIVSEP_AUTO);
	assert_string_equal(cfg.agent_user, "ocservagent");
	assert_true(cfg.seccomp);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	config_print(&cfg, f);
	fclose(f);
	assert_non_null(strstr(text, "AGENT_PRIVSEP=auto\n"));
	assert_non_null(strstr(text, "AGENT_USER=ocservagent\n"));
	assert_non_null(strstr(text, "AGENT_SECCOMP=true\n"));
	free(text);
	config_free(&cfg);

	for (size_t i = 0; i < sizeof(bad_privsep) / sizeof(bad_privsep[0]); i++) {
		setenv("AGENT_PRIVSEP", bad_privsep[i], 1);
		expect_fail(NULL, "AGENT_PRIVSEP");
	}
	setenv("AGENT_PRIVSEP", "on", 1);
	load_ok(&cfg, NULL);
	assert_int_equal(cfg.privsep, PRIVSEP_ON);
	config_free(&cfg);
	setenv("AGENT_PRIVSEP", "off", 1);
	setenv("AGENT_SECCOMP", "no", 1);
	load_ok(&cfg, NULL);
	assert_int_equal(cfg.privsep, PRIVSEP_OFF);
	assert_false(cfg.seccomp);
	config_free(&cfg);
	setenv("AGENT_SECCOMP", "maybe", 1);
	expect_fail(NULL, "AGENT_SECCOMP");
	unsetenv("AGENT_SECCOMP");

	for (size_t i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++) {
		if (bad_users[i][0] == '\0')
			continue; /* empty is unset: the default */
		setenv("AGENT_USER", bad_users[i], 1);
		expect_fail(NULL, "AGENT_USER");
	}
	for (size_t i = 0; i < sizeof(good_users) / sizeof(good_users[0]); i++) {
		setenv("AGENT_USER", good_users[i], 1);
		load_ok(&cfg, NULL);
		assert_string_equal(cfg.agent_user, good_users[i]);
		config_free(&cfg);
	}
}

/* ---- abuse limits ---- */

static void test_abuse_limits(void **state)
{
	static const struct {
		const char *name, *low, *lowest, *highest, *high;
	} bounds[] = {
		{"AGENT_AUTH_FAIL_LIMIT", "0", "1", "1000000", "1000001"},
		{"AGENT_AUTH_FAIL_WINDOW_MS", "0", "1", "3600000", "3600001"},
		{"AGENT_MAX_CONNECTIONS", "0", "1", "1000000", "1000001"},
		{"AGENT_MAX_CONNECTIONS_PER_IP", "0", "1", "1000000", "1000001"},
		{"AGENT_MAX_HEADER_BYTES", "1023", "1024", "4194304", "4194305"},
		{"AGENT_MAX_BODY_BYTES", "1023", "1024", "4194304", "4194305"},
		{"AGENT_MAX_JSON_DEPTH", "1", "2", "1000", "1001"},
	};
	static const char *junk[] = {"-1", "10k", " 5", "0x10", "1e3", "99999999999999999999"};
	struct agent_config cfg;

	(void)state;
	setenv("AGENT_AUTH_TOKEN_CURRENT", "tok", 1);
	load_ok(&cfg, NULL);
	assert_int_equal(cfg.auth_fail_limit, 10);
	assert_int_equal(cfg.auth_fail_window_ms, 60000);
	assert_int_equal(cfg.max_connections, 256);
	assert_int_equal(cfg.max_connections_per_ip, 32);
	assert_int_equal(cfg.max_header_bytes, 16384);
	assert_int_equal(cfg.max_body_bytes, 65536);
	assert_int_equal(cfg.max_json_depth, 32);
	config_free(&cfg);
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		const char *ok[] = {bounds[i].lowest, bounds[i].highest};

		setenv(bounds[i].name, bounds[i].low, 1);
		expect_fail(NULL, bounds[i].name);
		setenv(bounds[i].name, bounds[i].high, 1);
		expect_fail(NULL, bounds[i].name);
		for (size_t j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
			setenv(bounds[i].name, junk[j], 1);
			expect_fail(NULL, bounds[i].name);
		}
		for (size_t j = 0; j < 2; j++) {
			char *text = NULL, want[80];
			size_t len = 0;
			FILE *f;

			setenv(bounds[i].name, ok[j], 1);
			load_ok(&cfg, NULL);
			f = open_memstream(&text, &len);
			assert_non_null(f);
			config_print(&cfg, f);
			fclose(f);
			snprintf(want, sizeof(want), "\n%s=%s\n", bounds[i].name, ok[j]);
			if (strstr(text, want) == NULL)
				fail_msg("%s not printed as %s", bounds[i].name, ok[j]);
			free(text);
			config_free(&cfg);
		}
		unsetenv(bounds[i].name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_defaults),
		T(test_all_from_env),
		T(test_port_bounds),
		T(test_timeout_bounds),
		T(test_relative_paths),
		T(test_bool_values),
		T(test_host),
		T(test_token_required),
		T(test_env_file_syntax),
		T(test_env_file_crlf_only),
		T(test_env_wins_over_file),
		T(test_env_file_missing),
		T(test_env_file_malformed),
		T(test_limits),
		T(test_error_leaves_cfg_empty_after_partial),
		T(test_print_hides_tokens),
		T(test_backend_and_events),
		T(test_tls_combinations),
		T(test_auth_mode),
		T(test_auth_mode_empty_in_file),
		T(test_client_allowed),
		T(test_token_files),
		T(test_token_file_refusals),
		T(test_token_file_credentials),
		T(test_token_file_length),
		T(test_privsep_user_seccomp),
		T(test_abuse_limits),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
