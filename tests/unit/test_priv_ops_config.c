/* The root side of ocserv.conf, the service, health and RADIUS
 * (priv_ops_config.c, priv_ops_system.c), called through priv_dispatch()
 * as the root process does for a message from the api process: on a
 * temporary ocserv.conf with a fake ocserv backend and fake `ocserv -t` and
 * systemctl programs that log their calls.
 *
 * The operations work and answer without secrets; and every string that
 * reaches the root side (backup ids, vhost names, keys, values, If-Match,
 * the service action, ...) is refused when it tries traversal or option
 * injection, with the file byte-identical, no backup taken and no program
 * run. A wrong JSON type or an unknown member is a protocol error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>

#include "conf_backup.h"
#include "conf_schema.h"
#include "conf_view.h"
#include "err.h"
#include "ocserv.h"
#include "priv_ops.h"
#include "unit.h"

#define SERVER_PID 4242
#define SECRET_PIN "8642-secret-pin"
#define NEW_PIN	   "7531-other-pin"
#define RADIUS_KEY "XYZZY-radius-key"

static const char CONF[] = "# ocserv.conf of the unit tests\n"
			   "auth = \"plain[passwd=/etc/ocserv/passwd]\"\n"
			   "tcp-port = 443\n"
			   "udp-port = 443\n"
			   "socket-file = /run/ocserv-socket\n"
			   "server-cert = /etc/ocserv/server.pem\n"
			   "server-key = /etc/ocserv/server.key\n"
			   "key-pin = " SECRET_PIN "\n"
			   "use-occtl = true\n"
			   "device = vpns\n"
			   "ipv4-network = 192.168.1.0\n"
			   "ipv4-netmask = 255.255.255.0\n"
			   "banner = Welcome\n"
			   "\n"
			   "[vhost:www.example.com]\n"
			   "auth = \"plain[passwd=/etc/ocserv/passwd-www]\"\n"
			   "server-cert = /etc/ocserv/www.pem\n"
			   "server-key = /etc/ocserv/www.key\n"
			   "ipv4-network = 192.168.2.0/24\n";

/* ---- the fake ocserv backend ---- */

static int f_status(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	(void)be;
	(void)timeout_ms;
	(void)ei;
	*ret = json_pack("{s:s,s:I}", "status", "online", "serverPid", (json_int_t)SERVER_PID);
	return *ret ? 0 : ERR_NOMEM;
}

static int f_reload(void *be, struct err_info *ei)
{
	(void)be;
	(void)ei;
	return 0;
}

static int f_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	(void)be;
	(void)ei;
	return ocserv_version_parse("1.1.6", ret);
}

static void f_free(void *be)
{
	(void)be;
}

static const struct ocserv_backend_ops fake_ops = {
	.name = "fake",
	.status = f_status,
	.reload = f_reload,
	.version = f_version,
	.free = f_free,
};

/* ---- the test's directory ---- */

static struct {
	char dir[64], etc[128], conf[160], bin[128], backups[160], state[128];
	char ocserv[160], systemctl[160], oclog[160], slog[160];
	char radconf[160], radservers[160];
	struct agent_config cfg;
	struct priv_root root;
	struct priv_error pe;
} C;

static void write_script(const char *path, const char *text)
{
	assert_int_equal(unit_write_file(path, text, strlen(text), 0755), 0);
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(unit_write_file(path, text, strlen(text), 0644), 0);
}

/* `ocserv -t -c FILE` refuses a file that says refuse-me; systemctl
 * succeeds; both log their arguments. */
static void write_programs(void)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "echo \"$*\" >> '%s'\n"
		 "[ \"$1\" = -t ] && [ \"$2\" = -c ] || exit 2\n"
		 "if grep -q refuse-me \"$3\"; then\n"
		 "  echo 'error: refuse-me is not a banner ocserv likes' >&2\n"
		 "  exit 1\n"
		 "fi\n"
		 "exit 0\n",
		 C.oclog);
	write_script(C.ocserv, text);
	snprintf(text, sizeof(text), "#!/bin/sh\necho \"$*\" >> '%s'\nexit 0\n", C.slog);
	write_script(C.systemctl, text);
}

static void paths(void)
{
	snprintf(C.etc, sizeof(C.etc), "%s/etc", C.dir);
	snprintf(C.bin, sizeof(C.bin), "%s/bin", C.dir);
	snprintf(C.state, sizeof(C.state), "%s/state", C.dir);
	snprintf(C.conf, sizeof(C.conf), "%s/ocserv.conf", C.etc);
	snprintf(C.backups, sizeof(C.backups), "%s/backups", C.dir);
	snprintf(C.ocserv, sizeof(C.ocserv), "%s/ocserv", C.bin);
	snprintf(C.systemctl, sizeof(C.systemctl), "%s/systemctl", C.bin);
	snprintf(C.oclog, sizeof(C.oclog), "%s/ocserv.log", C.dir);
	snprintf(C.slog, sizeof(C.slog), "%s/systemctl.log", C.dir);
	snprintf(C.radconf, sizeof(C.radconf), "%s/radiusclient.conf", C.etc);
	snprintf(C.radservers, sizeof(C.radservers), "%s/servers", C.etc);
}

static void config(void)
{
	C.cfg.ocserv_conf_path = C.conf;
	C.cfg.ocserv_path = C.ocserv;
	C.cfg.ocserv_check_timeout_ms = 5000;
	C.cfg.conf_backup_dir = C.backups;
	C.cfg.conf_backup_keep = 20;
	C.cfg.conf_verify_timeout_ms = 300;
	C.cfg.conf_verify_settle_ms = 20;
	C.cfg.systemctl_path = C.systemctl;
	C.cfg.ocserv_unit = "ocserv.service";
	C.cfg.systemctl_timeout_ms = 5000;
	C.cfg.occtl_timeout_ms = 1000;
	C.cfg.state_dir = C.state;
	C.cfg.radius_conf_path = C.radconf;
	C.cfg.radius_servers_path = C.radservers;
	C.cfg.backend = "ctl";
}

static int setup(void **state)
{
	memset(&C, 0, sizeof(C));
	if (unit_mkdtemp(C.dir, sizeof(C.dir), "test-priv-ops-config") == NULL)
		return -1;
	paths();
	if (mkdir(C.etc, 0755) < 0 || mkdir(C.bin, 0755) < 0 || mkdir(C.state, 0755) < 0)
		return -1;
	write_file(C.conf, CONF);
	write_file(C.radconf, "nas-identifier nas-01\n"
			      "authserver 10.0.0.7:1812:" RADIUS_KEY "\n"
			      "acctserver 10.0.0.8:1813:" RADIUS_KEY "\n");
	write_file(C.radservers, "10.0.0.7 " RADIUS_KEY "\n10.0.0.9\n");
	write_programs();
	config();
	C.root.cfg = &C.cfg;
	if ((C.root.oc = ocserv_new(&fake_ops, NULL)) == NULL)
		return -1;
	*state = &C;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	priv_error_clear(&C.pe);
	ocserv_free(C.root.oc);
	unit_rmtree(C.dir);
	return 0;
}

/* ---- helpers ---- */

static bool systemd_runs(void)
{
	struct stat st;

	return stat("/run/systemd/system", &st) == 0;
}

/* Dispatch op with args (not consumed), as the root process does. */
static int call(enum priv_op op, const json_t *args, json_t **ret)
{
	priv_error_clear(&C.pe);
	memset(&C.pe, 0, sizeof(C.pe));
	return priv_dispatch(&C.root, "test-request", op, args, ret, &C.pe);
}

/* call() with args as JSON text; the result must be 0. */
static json_t *call_ok(enum priv_op op, const char *args)
{
	json_t *a = json_loads(args, 0, NULL), *ret = NULL;
	int r;

	assert_non_null(a);
	r = call(op, a, &ret);
	json_decref(a);
	if (r != 0)
		fail_msg("%s %s: %s (%s; %s)", priv_op_name(op), args, err_code(r), C.pe.message,
			 C.pe.ei.detail);
	assert_non_null(ret);
	return ret;
}

static char *read_conf(size_t *len)
{
	char *text = unit_read_file(C.conf, len);

	assert_non_null(text);
	return text;
}

static void current_etag(char etag[CONF_ETAG_LEN])
{
	size_t len = 0;
	char *text = read_conf(&len);

	conf_etag(text, len, etag);
	free(text);
}

/* Lines in a fake program's log: how often it ran. */
static int calls(const char *log)
{
	char *text = unit_read_file(log, NULL);
	int n = 0;

	for (const char *p = text; p != NULL && *p != '\0'; p++)
		n += *p == '\n';
	free(text);
	return n;
}

/* Files in the backup directory (none when it does not exist). */
static int backups(void)
{
	DIR *d = opendir(C.backups);
	struct dirent *e;
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

static void assert_no_secret(const json_t *j, const char *secret)
{
	char *text = json_dumps(j, JSON_ENCODE_ANY);

	assert_non_null(text);
	if (strstr(text, secret) != NULL)
		fail_msg("the secret %s crossed: %s", secret, text);
	free(text);
}

static const char *sget(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	assert_non_null(s);
	return s;
}

static void expect_refusal(enum priv_op op, json_t *args, int err, const char *what);

/* ---- ocserv.conf ---- */

static void test_get_is_redacted(void **state)
{
	char etag[CONF_ETAG_LEN];
	json_t *ret;

	(void)state;
	current_etag(etag);
	ret = call_ok(PRIV_CONFIG_GET, "{}");
	assert_string_equal(sget(ret, "etag"), etag);
	assert_string_equal(
		sget(json_object_get(json_object_get(ret, "config"), "global"), "key-pin"),
		CONF_SCHEMA_REDACTED);
	assert_string_equal(
		sget(json_object_get(json_object_get(ret, "config"), "global"), "banner"),
		"Welcome");
	assert_no_secret(ret, SECRET_PIN);
	json_decref(ret);

	ret = call_ok(PRIV_CONFIG_GET, "{\"raw\": true}");
	assert_string_equal(sget(ret, "etag"), etag);
	assert_non_null(strstr(sget(json_object_get(ret, "config"), "text"),
			       "key-pin = " CONF_SCHEMA_REDACTED "\n"));
	assert_non_null(strstr(sget(json_object_get(ret, "config"), "text"), "banner = Welcome"));
	assert_no_secret(ret, SECRET_PIN);
	json_decref(ret);
}

/* A change through the root side; then its backup and the diff, which
 * never show either pin. */
static void test_change_then_backup(void **state)
{
	char etag[CONF_ETAG_LEN], args[64], *text;
	json_t *a, *ret = NULL, *list;
	const char *id;

	(void)state;
	current_etag(etag);
	a = json_pack("{s:{s:s,s:s},s:s,s:s}", "set", "banner", "Hello", "key-pin", NEW_PIN,
		      "apply", "none", "ifMatch", etag);
	assert_int_equal(call(PRIV_CONFIG_CHANGE, a, &ret), 0);
	json_decref(a);
	assert_true(json_is_true(json_object_get(ret, "ok")));
	assert_string_equal(sget(ret, "previousEtag"), etag);
	assert_string_equal(sget(ret, "applied"), "none");
	id = sget(ret, "backupId");
	assert_null(conf_backup_check_id(id));
	assert_no_secret(ret, SECRET_PIN);
	assert_no_secret(ret, NEW_PIN);
	current_etag(etag);
	assert_string_equal(sget(ret, "etag"), etag);
	text = read_conf(NULL);
	assert_non_null(strstr(text, "banner = Hello\n"));
	assert_non_null(strstr(text, "key-pin = " NEW_PIN "\n"));
	free(text);
	assert_int_equal(calls(C.oclog), 1); /* ocserv -t of the candidate */

	list = call_ok(PRIV_CONFIG_BACKUPS, "{}");
	assert_int_equal(json_integer_value(json_object_get(list, "count")), 1);
	assert_string_equal(sget(json_array_get(json_object_get(list, "backups"), 0), "id"), id);
	json_decref(list);

	snprintf(args, sizeof(args), "{\"id\": \"%s\"}", id);
	list = call_ok(PRIV_CONFIG_BACKUP, args);
	assert_string_equal(sget(list, "etag"), etag);
	assert_true(json_is_false(json_object_get(json_object_get(list, "backup"), "identical")));
	assert_non_null(strstr(sget(json_object_get(list, "backup"), "diff"), "+banner = Hello"));
	assert_no_secret(list, SECRET_PIN);
	assert_no_secret(list, NEW_PIN);
	json_decref(list);
	json_decref(ret);
}

/* A failed change: the outcome's members come back as extra. */
static void test_change_failures_carry_outcome(void **state)
{
	char etag[CONF_ETAG_LEN];
	size_t len0, len1;
	char *before = read_conf(&len0), *after;
	json_t *a, *ret = NULL;

	(void)state;
	current_etag(etag);
	a = json_pack("{s:{s:s},s:s,s:s}", "set", "banner", "Hello", "apply", "none", "ifMatch",
		      "\"00000000000000000000000000000000\"");
	assert_int_equal(call(PRIV_CONFIG_CHANGE, a, &ret), ERR_PRECONDITION_FAILED);
	assert_null(ret);
	assert_string_equal(sget(C.pe.extra, "etag"), etag);
	assert_true(C.pe.message[0] != '\0');
	json_decref(a);

	a = json_pack("{s:{s:s},s:s}", "set", "banner", "Hello", "apply", "none");
	assert_int_equal(call(PRIV_CONFIG_CHANGE, a, &ret), ERR_PRECONDITION_REQUIRED);
	json_decref(a);

	/* ocserv -t refuses: its output, the steps */
	a = json_pack("{s:{s:s},s:s,s:s}", "set", "banner", "refuse-me", "apply", "none", "ifMatch",
		      etag);
	assert_int_equal(call(PRIV_CONFIG_CHANGE, a, &ret), ERR_CONFIG_INVALID);
	assert_non_null(strstr(sget(C.pe.extra, "checkOutput"), "refuse-me"));
	assert_true(json_is_array(json_object_get(C.pe.extra, "steps")));
	json_decref(a);

	/* invalid value: problems */
	a = json_pack("{s:{s:s},s:s,s:s}", "set", "max-clients", "many", "apply", "none", "ifMatch",
		      etag);
	assert_int_equal(call(PRIV_CONFIG_CHANGE, a, &ret), ERR_BAD_REQUEST);
	assert_true(json_array_size(json_object_get(C.pe.extra, "problems")) > 0);
	json_decref(a);

	after = read_conf(&len1);
	assert_int_equal(len0, len1);
	assert_memory_equal(before, after, len0);
	assert_int_equal(backups(), 0);
	free(before);
	free(after);
}

static void test_check(void **state)
{
	json_t *ret;
	char *text;

	(void)state;
	ret = call_ok(PRIV_CONFIG_CHECK, "{}");
	assert_true(json_is_true(json_object_get(ret, "passed")));
	json_decref(ret);

	text = read_conf(NULL);
	write_file(C.conf, "banner = refuse-me\n");
	ret = call_ok(PRIV_CONFIG_CHECK, "{}");
	assert_true(json_is_false(json_object_get(ret, "passed")));
	assert_non_null(strstr(sget(ret, "summary"), "refuse-me"));
	assert_non_null(strstr(sget(ret, "output"), "refuse-me"));
	json_decref(ret);
	write_file(C.conf, text);
	free(text);

	C.cfg.ocserv_path = "/nonexistent/ocserv";
	expect_refusal(PRIV_CONFIG_CHECK, json_object(), ERR_CHECK_FAILED, "no checker");
	C.cfg.ocserv_path = C.ocserv;
}

/* ---- refusals ---- */

struct refusal {
	enum priv_op op;
	const char *args; /* JSON; an ifMatch of "E" becomes the file's ETag */
	int err;
};

static const struct refusal refusals[] = {
	/* backup ids: traversal, absolute paths, options */
	{PRIV_CONFIG_BACKUP, "{\"id\": \"../x\"}", ERR_BAD_REQUEST},
	{PRIV_CONFIG_BACKUP, "{\"id\": \"/etc/shadow\"}", ERR_BAD_REQUEST},
	{PRIV_CONFIG_BACKUP, "{\"id\": \"../../../../etc/shadow\"}", ERR_BAD_REQUEST},
	{PRIV_CONFIG_BACKUP, "{\"id\": \"20250101T000000Z-001/..\"}", ERR_BAD_REQUEST},
	{PRIV_CONFIG_BACKUP, "{\"id\": \"-rf\"}", ERR_BAD_REQUEST},
	{PRIV_CONFIG_BACKUP, "{\"id\": \"\"}", ERR_BAD_REQUEST},
	{PRIV_CONFIG_BACKUP, "{\"id\": \"20250101T000000Z-001\"}", ERR_NOT_FOUND},
	{PRIV_CONFIG_BACKUP, "{\"id\": 20250101}", ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_BACKUP, "{}", ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_BACKUP, "{\"id\": \"20250101T000000Z-001\", \"dir\": \"/\"}",
	 ERR_PRIV_PROTOCOL},
	/* a restore of something that is not a backup */
	{PRIV_CONFIG_CHANGE, "{\"restoreId\": \"../x\", \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"restoreId\": \"/etc/shadow\", \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"restoreId\": \"20250101T000000Z-001\", \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_NOT_FOUND},
	{PRIV_CONFIG_CHANGE,
	 "{\"restoreId\": \"20250101T000000Z-001\", \"set\": {\"banner\": \"x\"},"
	 " \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	/* vhost names that would leave their section */
	{PRIV_CONFIG_CHANGE,
	 "{\"vhost\": \"a/b\", \"set\": {\"banner\": \"x\"}, \"apply\": \"none\","
	 " \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"vhost\": \"a]b\", \"set\": {\"banner\": \"x\"}, \"apply\": \"none\","
	 " \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"vhost\": \"a]\\n[global\", \"set\": {\"banner\": \"x\"}, \"apply\": \"none\","
	 " \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"vhost\": \"../x\", \"set\": {\"banner\": \"x\"}, \"apply\": \"none\","
	 " \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"vhost\": \"\", \"set\": {\"banner\": \"x\"}, \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	/* keys and values with newlines, unknown keys */
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"banner\\nrun-as-user\": \"root\"}, \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"banner\": \"x\\nrun-as-user = root\"}, \"apply\": \"none\","
	 " \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"banner\": \"x\\n[vhost:evil]\"}, \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"dns\": [\"1.1.1.1\", \"1.1.1.2\\nroute = 0.0.0.0/0\"]},"
	 " \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"no-such-key\": \"1\"}, \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"../x\": \"1\"}, \"apply\": \"none\", \"ifMatch\": \"E\"}", ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"unset\": [\"banner\\nuse-occtl\"], \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE, "{\"unset\": [\"../x\"], \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	/* apply and If-Match */
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"banner\": \"x\"}, \"apply\": \"-x\", \"ifMatch\": \"E\"}", ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"banner\": \"x\"}, \"apply\": \"reload --force\", \"ifMatch\": \"E\"}",
	 ERR_BAD_REQUEST},
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"banner\": \"x\"}, \"apply\": \"none\", \"ifMatch\": \"\\\"a\\\"\\r\\nX: "
	 "y\"}",
	 ERR_BAD_REQUEST},
	/* wrong types, unknown or missing members */
	{PRIV_CONFIG_CHANGE, "{\"set\": \"banner=x\", \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_CHANGE, "{\"unset\": \"banner\", \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"banner\": \"x\"}, \"vhost\": 5, \"apply\": \"none\", \"ifMatch\": \"E\"}",
	 ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"banner\": \"x\"}, \"dryRun\": \"false\", \"apply\": \"none\","
	 " \"ifMatch\": \"E\"}",
	 ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_CHANGE, "{\"set\": {\"banner\": \"x\"}, \"apply\": 0, \"ifMatch\": \"E\"}",
	 ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_CHANGE, "{\"set\": {\"banner\": \"x\"}, \"apply\": \"none\", \"ifMatch\": []}",
	 ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_CHANGE, "{\"set\": {\"banner\": \"x\"}, \"ifMatch\": \"E\"}",
	 ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_CHANGE,
	 "{\"set\": {\"banner\": \"x\"}, \"apply\": \"none\", \"ifMatch\": \"E\","
	 " \"path\": \"/etc/shadow\"}",
	 ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_GET, "{\"raw\": \"true\"}", ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_GET, "{\"path\": \"/etc/shadow\"}", ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_BACKUPS, "{\"dir\": \"/etc\"}", ERR_PRIV_PROTOCOL},
	{PRIV_CONFIG_CHECK, "{\"path\": \"/tmp/evil.conf\"}", ERR_PRIV_PROTOCOL},
	/* the service action: nothing but the four words */
	{PRIV_SERVICE_ACTION, "{\"action\": \"-x\"}", ERR_BAD_REQUEST},
	{PRIV_SERVICE_ACTION, "{\"action\": \"--help\"}", ERR_BAD_REQUEST},
	{PRIV_SERVICE_ACTION, "{\"action\": \"start sshd\"}", ERR_BAD_REQUEST},
	{PRIV_SERVICE_ACTION, "{\"action\": \"../x\"}", ERR_BAD_REQUEST},
	{PRIV_SERVICE_ACTION, "{\"action\": \"start\\n\"}", ERR_BAD_REQUEST},
	{PRIV_SERVICE_ACTION, "{\"action\": \"\"}", ERR_BAD_REQUEST},
	{PRIV_SERVICE_ACTION, "{\"action\": \"Start\"}", ERR_BAD_REQUEST},
	{PRIV_SERVICE_ACTION, "{\"action\": 1}", ERR_PRIV_PROTOCOL},
	{PRIV_SERVICE_ACTION, "{}", ERR_PRIV_PROTOCOL},
	{PRIV_SERVICE_ACTION, "{\"action\": \"stop\", \"unit\": \"sshd.service\"}",
	 ERR_PRIV_PROTOCOL},
	{PRIV_SERVICE_SHOW, "{\"unit\": \"sshd.service\"}", ERR_PRIV_PROTOCOL},
	{PRIV_SERVICE_SYSTEMD, "{\"dir\": \"/\"}", ERR_PRIV_PROTOCOL},
	/* health tiers */
	{PRIV_HEALTH, "{\"tier\": 1}", ERR_BAD_REQUEST},
	{PRIV_HEALTH, "{\"tier\": 4}", ERR_BAD_REQUEST},
	{PRIV_HEALTH, "{\"tier\": -2}", ERR_BAD_REQUEST},
	{PRIV_HEALTH, "{\"tier\": \"2\"}", ERR_PRIV_PROTOCOL},
	{PRIV_HEALTH, "{\"tier\": 2.0}", ERR_PRIV_PROTOCOL},
	{PRIV_HEALTH, "{}", ERR_PRIV_PROTOCOL},
	{PRIV_HEALTH, "{\"tier\": 2, \"proc\": \"/tmp\"}", ERR_PRIV_PROTOCOL},
	{PRIV_RADIUS, "{\"path\": \"/etc/shadow\"}", ERR_PRIV_PROTOCOL},
};

/* args with an ifMatch of "E" given the file's real ETag, so a refusal
 * is not merely a 412. */
static void real_etag(json_t *args)
{
	char etag[CONF_ETAG_LEN];

	if (json_is_string(json_object_get(args, "ifMatch")) &&
	    strcmp(json_string_value(json_object_get(args, "ifMatch")), "E") == 0) {
		current_etag(etag);
		json_object_set_new(args, "ifMatch", json_string(etag));
	}
}

/* Dispatch args (consumed), expect err, and nothing changed or run. */
static void expect_refusal(enum priv_op op, json_t *args, int err, const char *what)
{
	size_t len0, len1;
	char *before = read_conf(&len0), *after;
	int oc = calls(C.oclog), sc = calls(C.slog), n = backups();
	json_t *ret = NULL;
	int r;

	assert_non_null(args);
	real_etag(args);
	r = call(op, args, &ret);
	json_decref(args);
	if (r != err)
		fail_msg("%s %s: %s, expected %s (%s)", priv_op_name(op), what, err_code(r),
			 err_code(err), C.pe.ei.detail);
	assert_null(ret);
	after = read_conf(&len1);
	assert_int_equal(len0, len1);
	assert_memory_equal(before, after, len0);
	assert_int_equal(calls(C.oclog), oc);
	assert_int_equal(calls(C.slog), sc);
	assert_int_equal(backups(), n);
	free(before);
	free(after);
}

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		json_error_t je;
		json_t *a = json_loads(refusals[i].args, 0, &je);

		if (a == NULL)
			fail_msg("case %zu: %s", i, je.text);
		expect_refusal(refusals[i].op, a, refusals[i].err, refusals[i].args);
	}
}

/* NUL bytes cannot come from our api code (its JSON parser refuses
 * \u0000) but the root side refuses them whoever sent them. */
static void test_refuses_nul(void **state)
{
	char etag[CONF_ETAG_LEN], longv[CONF_SCHEMA_VALUE_MAX + 64];
	json_t *a, *set;

	(void)state;
	current_etag(etag);
	set = json_object();
	json_object_setn_new(set, "banner\0run-as-user", 18, json_string("x"));
	a = json_pack("{s:o,s:s,s:s}", "set", set, "apply", "none", "ifMatch", etag);
	expect_refusal(PRIV_CONFIG_CHANGE, a, ERR_BAD_REQUEST, "NUL in a key");

	a = json_pack("{s:{s:o},s:s,s:s}", "set", "banner", json_stringn("x\0y", 3), "apply",
		      "none", "ifMatch", etag);
	expect_refusal(PRIV_CONFIG_CHANGE, a, ERR_BAD_REQUEST, "NUL in a value");

	a = json_pack("{s:{s:[s,o]},s:s,s:s}", "set", "dns", "1.1.1.1",
		      json_stringn("1.1.1.2\0x", 9), "apply", "none", "ifMatch", etag);
	expect_refusal(PRIV_CONFIG_CHANGE, a, ERR_BAD_REQUEST, "NUL in an item");

	a = json_pack("{s:[o],s:s,s:s}", "unset", json_stringn("banner\0x", 8), "apply", "none",
		      "ifMatch", etag);
	expect_refusal(PRIV_CONFIG_CHANGE, a, ERR_BAD_REQUEST, "NUL in unset");

	a = json_pack("{s:o,s:{s:s},s:s,s:s}", "vhost", json_stringn("www.example.com\0x", 17),
		      "set", "banner", "x", "apply", "none", "ifMatch", etag);
	expect_refusal(PRIV_CONFIG_CHANGE, a, ERR_BAD_REQUEST, "NUL in vhost");

	a = json_pack("{s:o}", "id", json_stringn("20250101T000000Z-001\0", 21));
	expect_refusal(PRIV_CONFIG_BACKUP, a, ERR_BAD_REQUEST, "NUL in an id");

	a = json_pack("{s:o}", "action", json_stringn("stop\0x", 6));
	expect_refusal(PRIV_SERVICE_ACTION, a, ERR_BAD_REQUEST, "NUL in the action");

	/* over-long values, and arguments that are not an object */
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	a = json_pack("{s:{s:s},s:s,s:s}", "set", "banner", longv, "apply", "none", "ifMatch",
		      etag);
	expect_refusal(PRIV_CONFIG_CHANGE, a, ERR_BAD_REQUEST, "long value");
	a = json_pack("{s:{s:s},s:s,s:s}", "set", longv, "1", "apply", "none", "ifMatch", etag);
	expect_refusal(PRIV_CONFIG_CHANGE, a, ERR_BAD_REQUEST, "long key");
	a = json_pack("{s:{s:s},s:s,s:s}", "set", "banner", "x", "apply", "none", "ifMatch", longv);
	expect_refusal(PRIV_CONFIG_CHANGE, a, ERR_BAD_REQUEST, "long If-Match");
	expect_refusal(PRIV_CONFIG_CHANGE, json_array(), ERR_PRIV_PROTOCOL, "an array");
	expect_refusal(PRIV_CONFIG_GET, json_string("raw"), ERR_PRIV_PROTOCOL, "a string");
}

/* ---- service, health, RADIUS ---- */

static void test_service(void **state)
{
	json_t *ret;

	(void)state;
	ret = call_ok(PRIV_SERVICE_SYSTEMD, "{}");
	assert_int_equal(json_is_true(json_object_get(ret, "available")), systemd_runs());
	json_decref(ret);
	if (systemd_runs())
		return; /* the rest needs a machine without systemd */
	expect_refusal(PRIV_SERVICE_SHOW, json_object(), ERR_SYSTEMD_UNAVAILABLE, "no systemd");
	assert_non_null(strstr(C.pe.message, "/run/systemd/system"));
	{
		json_t *a = json_pack("{s:s}", "action", "restart");
		expect_refusal(PRIV_SERVICE_ACTION, a, ERR_SYSTEMD_UNAVAILABLE, "no systemd");
	}
}

static void test_health(void **state)
{
	static const char *const names[] = {
		"ocservProcess", "ocservConf",	 "tcpListen",  "udpListen",   "occtlSocket",
		"certificate",	 "stateDirDisk", "logDirDisk", "agentMemory",
	};
	json_t *ret, *checks;

	(void)state;
	ret = call_ok(PRIV_HEALTH, "{\"tier\": 2}");
	checks = json_object_get(ret, "checks");
	assert_int_equal(json_array_size(checks), 9);
	for (size_t i = 0; i < 9; i++)
		assert_string_equal(sget(json_array_get(checks, i), "name"), names[i]);
	assert_true(json_is_true(json_object_get(json_array_get(checks, 1), "ok")));
	assert_string_equal(sget(json_array_get(checks, 1), "path"), C.conf);
	/* the process check asked ocserv itself: the fake's pid */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(checks, 0), "pid")),
			 SERVER_PID);
	json_decref(ret);
}

static void test_radius(void **state)
{
	json_t *ret, *servers;

	(void)state;
	ret = call_ok(PRIV_RADIUS, "{}");
	assert_no_secret(ret, RADIUS_KEY);
	assert_string_equal(sget(ret, "nasIdentifier"), "nas-01");
	assert_string_equal(sget(ret, "authServer"), "10.0.0.7");
	assert_int_equal(json_integer_value(json_object_get(ret, "authServerPort")), 1812);
	assert_string_equal(sget(ret, "radiusclientConfPath"), C.radconf);
	assert_string_equal(sget(ret, "serversFile"), C.radservers);
	servers = json_object_get(ret, "servers");
	assert_int_equal(json_array_size(servers), 2);
	assert_true(json_is_true(json_object_get(json_array_get(servers, 0), "hasSecret")));
	assert_true(json_is_false(json_object_get(json_array_get(servers, 1), "hasSecret")));
	json_decref(ret);
}

/* Every operation of this file has its name. */
static void test_names(void **state)
{
	static const struct {
		enum priv_op op;
		const char *name;
	} ops[] = {
		{PRIV_CONFIG_GET, "config.get"},
		{PRIV_CONFIG_CHANGE, "config.change"},
		{PRIV_CONFIG_BACKUPS, "config.backups"},
		{PRIV_CONFIG_BACKUP, "config.backup"},
		{PRIV_CONFIG_CHECK, "config.check"},
		{PRIV_SERVICE_SHOW, "service.show"},
		{PRIV_SERVICE_ACTION, "service.action"},
		{PRIV_SERVICE_SYSTEMD, "service.systemd"},
		{PRIV_HEALTH, "health"},
		{PRIV_RADIUS, "radius"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_string_equal(priv_op_name(ops[i].op), ops[i].name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_is_redacted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_then_backup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_failures_carry_outcome, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health, setup, teardown),
		cmocka_unit_test_setup_teardown(test_radius, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
