/* health_checks.h: the tier-2/3 checks over a fake /proc tree, fixed
 * certificates (tests/data/certs) and a stand-in for openconnect. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "config.h"
#include "health_checks.h"
#include "ocserv_conf.h"
#include "unit.h"

#define NOW_2024 1717243200 /* 2024-06-01 12:00:00 UTC */

static char tmpdir[64], proc[128];
static struct agent_config cfg;
static struct ocserv_conf *conf;
static json_t *res;

static void mkdirs(const char *rel)
{
	char path[256];

	unit_join(path, sizeof(path), tmpdir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void put(const char *rel, const char *text)
{
	char path[256];

	unit_join(path, sizeof(path), tmpdir, rel);
	assert_int_equal(unit_write_str(path, text), 0);
}

static int setup(void **state)
{
	(void)state;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "healthtest") == NULL)
		return -1;
	unit_join(proc, sizeof(proc), tmpdir, "proc");
	memset(&cfg, 0, sizeof(cfg));
	cfg.ocserv_conf_path = "/etc/ocserv/ocserv.conf";
	cfg.probe_host = "127.0.0.1";
	cfg.probe_timeout_ms = 5000;
	mkdirs("proc");
	mkdirs("proc/net");
	mkdirs("proc/self");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(res);
	res = NULL;
	ocserv_conf_free(conf);
	conf = NULL;
	unit_rmtree(tmpdir);
	return 0;
}

static struct health_input input(void)
{
	return (struct health_input){.cfg = &cfg, .conf = conf, .proc = proc, .now = NOW_2024};
}

static void use_conf(const char *text)
{
	struct err_info ei = {{0}};

	ocserv_conf_free(conf);
	conf = NULL;
	assert_int_equal(ocserv_conf_parse(text, strlen(text), &conf, &ei), 0);
}

/* Keep a check's result for the assertions (and teardown). */
static json_t *keep(json_t *o)
{
	assert_non_null(o);
	json_decref(res);
	res = o;
	return o;
}

static bool ok_of(const json_t *o)
{
	return json_is_true(json_object_get(o, "ok"));
}

static const char *detail_of(const json_t *o)
{
	return json_string_value(json_object_get(o, "detail"));
}

static json_int_t int_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", key);
	return json_integer_value(v);
}

static void assert_detail_has(const json_t *o, const char *part)
{
	const char *d = detail_of(o);

	if (d == NULL || strstr(d, part) == NULL)
		fail_msg("detail '%s' lacks '%s'", d ? d : "(null)", part);
}

/* ---- /proc/net parsing ---------------------------------------------------- */

static const char tcp4[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	"timeout inode\n"
	"   0: 0100007F:115B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
	"0 4231 1 0000000000000000 100 0 0 10 0\n"
	"   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        "
	"0 4232 1 0000000000000000 20 4 30 10 -1\n";
static const char tcp6[] =
	"  sl  local_address                         remote_address                        st "
	"tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A "
	"00000000:00000000 00:00000000 00000000     0        0 5120 1 0000000000000000 100 0 0 10 "
	"0\n";
static const char udp4[] =
	"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	"timeout inode ref pointer drops\n"
	"  123: 0100007F:115B 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        "
	"0 4240 2 0000000000000000 0\n";

static void test_proc_net_line(void **state)
{
	(void)state;
	/* 0x115B = 4443, 0x1F90 = 8080, 0x01BB = 443 */
	assert_true(health_proc_net_line(strchr(tcp4, '\n') + 1, true, 4443));
	assert_false(health_proc_net_line(strchr(tcp4, '\n') + 1, true, 443));
	assert_false(health_proc_net_line(tcp4, true, 4443)); /* the header */
	/* An established connection from port 8080 is no listener. */
	assert_false(health_proc_net_line(strstr(tcp4, "   1:"), true, 8080));
	assert_true(health_proc_net_line(strstr(tcp6, "   0:"), true, 443));
	/* UDP: bound in any state counts. */
	assert_true(health_proc_net_line(strstr(udp4, "  123:"), false, 4443));
	assert_true(health_proc_net_line(strstr(tcp4, "   1:"), false, 8080));
	assert_false(health_proc_net_line("", true, 0));
	assert_false(health_proc_net_line("garbage", false, 0));
	assert_false(health_proc_net_line("   0: 0100007F 00000000:0000 0A", true, 0));
	assert_false(health_proc_net_line("   0: XYZ:115B 00000000:0000 0A", true, 4443));
}

static void test_proc_net_scan(void **state)
{
	FILE *f;

	(void)state;
	f = fmemopen((void *)tcp4, sizeof(tcp4) - 1, "r");
	assert_non_null(f);
	assert_int_equal(health_proc_net_scan(f, true, 4443), 1);
	fclose(f);
	f = fmemopen((void *)tcp4, sizeof(tcp4) - 1, "r");
	assert_int_equal(health_proc_net_scan(f, true, 8080), 0);
	fclose(f);
	f = fmemopen((void *)"", 1, "r");
	assert_int_equal(health_proc_net_scan(f, true, 8080), 0);
	fclose(f);
}

static void test_proc_unix_line(void **state)
{
	static const char hdr[] = "Num       RefCount Protocol Flags    Type St Inode Path\n";
	static const char listening[] =
		"0000000000000000: 00000002 00000000 00010000 0001 01 40921 /run/occtl.socket\n";
	static const char connected[] =
		"0000000000000000: 00000003 00000000 00000000 0001 03 40922 /run/occtl.socket\n";
	static const char dgram[] =
		"0000000000000000: 00000002 00000000 00010000 0002 01 40923 /run/occtl.socket\n";
	static const char nameless[] =
		"0000000000000000: 00000002 00000000 00010000 0001 01 40924\n";

	(void)state;
	assert_false(health_proc_unix_line(hdr, "/run/occtl.socket"));
	assert_true(health_proc_unix_line(listening, "/run/occtl.socket"));
	assert_false(health_proc_unix_line(listening, "/run/occtl.sock"));
	assert_false(health_proc_unix_line(listening, "/run/occtl.socket.old"));
	assert_false(health_proc_unix_line(connected, "/run/occtl.socket"));
	assert_false(health_proc_unix_line(dgram, "/run/occtl.socket"));
	assert_false(health_proc_unix_line(nameless, "/run/occtl.socket"));
}

static void test_parsers(void **state)
{
	(void)state;
	assert_int_equal(health_parse_vmrss("Name:\tocserv-agent\nVmPeak:\t  9000 kB\n"
					    "VmRSS:\t    6716 kB\nRssAnon:\t 1 kB\n"),
			 6716 * 1024);
	assert_int_equal(health_parse_vmrss("VmRSS:\t0 kB"), 0);
	assert_int_equal(health_parse_vmrss("Name:\tx\nVmHWM:\t 5 kB\n"), -1);
	assert_int_equal(health_parse_vmrss("VmRSS:\tlots\n"), -1);
	assert_int_equal(health_parse_vmrss(""), -1);
	assert_int_equal(health_parse_port("443"), 443);
	assert_int_equal(health_parse_port("65535"), 65535);
	assert_int_equal(health_parse_port("0"), 0);
	assert_int_equal(health_parse_port("65536"), 0);
	assert_int_equal(health_parse_port("44x"), 0);
	assert_int_equal(health_parse_port(""), 0);
	assert_int_equal(health_parse_port("-443"), 0);
	assert_int_equal(health_parse_port(NULL), 0);
}

static void test_disk_rule(void **state)
{
	const uint64_t mib = 1024 * 1024;

	(void)state;
	assert_true(health_disk_low(50 * mib, 10240 * mib)); /* 50 MiB, 0.5 % */
	assert_false(health_disk_low(50 * mib, 500 * mib));  /* 10 % of a small disk */
	assert_false(health_disk_low(200 * mib, 100 * 1024 * 1024 * mib)); /* 200 MiB */
	assert_true(health_disk_low(0, 64 * mib));
	assert_false(health_disk_low(0, 0)); /* a pseudo filesystem */
}

/* ---- the checks ------------------------------------------------------------- */

static void test_disk(void **state)
{
	(void)state;
	keep(health_check_disk("stateDirDisk", tmpdir));
	assert_true(ok_of(res));
	assert_string_equal(json_string_value(json_object_get(res, "name")), "stateDirDisk");
	assert_string_equal(json_string_value(json_object_get(res, "path")), tmpdir);
	assert_true(int_of(res, "totalBytes") >= int_of(res, "freeBytes"));
	assert_detail_has(res, " free of ");
	keep(health_check_disk("logDirDisk", "/nonexistent/dir"));
	assert_false(ok_of(res));
	assert_true(json_is_null(json_object_get(res, "freeBytes")));
	assert_detail_has(res, "No such file");
}

static void test_process(void **state)
{
	struct health_input in = input();
	json_t *st = json_pack("{s:s,s:i}", "status", "online", "serverPid", 4242);

	(void)state;
	in.status = st;
	mkdirs("proc/4242");
	put("proc/4242/stat", "4242 (ocserv-main (x)) S 1 4242 4242 0 -1 4194560\n");
	keep(health_check_process(&in));
	assert_true(ok_of(res));
	assert_int_equal(int_of(res, "pid"), 4242);
	put("proc/4242/stat", "4242 (ocserv-main) Z 1 4242 4242 0 -1 4194560\n");
	keep(health_check_process(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "has exited");
	/* Beyond any pid_max: no such process. */
	json_object_set_new(st, "serverPid", json_integer(999999999));
	keep(health_check_process(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "not running");
	/* Hidden from /proc (ProtectProc=invisible) but alive: kill(pid, 0). */
	json_object_set_new(st, "serverPid", json_integer(getpid()));
	keep(health_check_process(&in));
	assert_true(ok_of(res));
	assert_int_equal(int_of(res, "pid"), getpid());
	json_object_set_new(st, "serverPid", json_null());
	keep(health_check_process(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "no server pid");
	in.status = NULL;
	in.status_err = ERR_OCCTL_TIMEOUT;
	keep(health_check_process(&in));
	assert_false(ok_of(res));
	assert_true(json_is_null(json_object_get(res, "pid")));
	assert_detail_has(res, "no status from ocserv");
	json_decref(st);
}

static void test_conf_check(void **state)
{
	struct health_input in = input();

	(void)state;
	in.conf_error = "the file does not exist";
	keep(health_check_conf(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "does not exist");
	use_conf("tcp-port = 443\nudp-port = 443\n");
	in = input();
	keep(health_check_conf(&in));
	assert_true(ok_of(res));
	assert_detail_has(res, "2 settings");
	use_conf("tcp-port = 443\nbroken\n");
	in = input();
	keep(health_check_conf(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "line 2");
}

static void test_ports(void **state)
{
	struct health_input in;

	(void)state;
	put("proc/net/tcp", tcp4);
	put("proc/net/tcp6", tcp6);
	put("proc/net/udp", udp4);
	use_conf("tcp-port = 4443\nudp-port = 4443\n");
	in = input();
	keep(health_check_port(&in, true));
	assert_true(ok_of(res));
	assert_int_equal(int_of(res, "port"), 4443);
	assert_string_equal(json_string_value(json_object_get(res, "proto")), "tcp");
	keep(health_check_port(&in, false));
	assert_true(ok_of(res));
	assert_string_equal(json_string_value(json_object_get(res, "proto")), "udp");

	/* Found in tcp6 only; udp6 missing is fine. */
	use_conf("tcp-port = 443\nudp-port = 443\n");
	in = input();
	keep(health_check_port(&in, true));
	assert_true(ok_of(res));
	keep(health_check_port(&in, false));
	assert_false(ok_of(res));
	assert_detail_has(res, "nothing is bound to port 443/udp");

	use_conf("tcp-port = 8080\n"); /* only an established connection */
	in = input();
	keep(health_check_port(&in, true));
	assert_false(ok_of(res));
	assert_detail_has(res, "nothing listens on port 8080/tcp");
	keep(health_check_port(&in, false));
	assert_true(ok_of(res));
	assert_true(json_is_true(json_object_get(res, "skipped")));
	assert_true(json_is_null(json_object_get(res, "port")));

	use_conf("udp-port = 443\n");
	in = input();
	keep(health_check_port(&in, true));
	assert_false(ok_of(res));
	assert_detail_has(res, "tcp-port is not set");
	use_conf("tcp-port = https\n");
	in = input();
	keep(health_check_port(&in, true));
	assert_false(ok_of(res));
	assert_detail_has(res, "is not a port number");
	/* Bytes that are not UTF-8 reach the JSON as U+FFFD, not as a failure;
	 * so does a character cut in two by the detail's size limit. */
	use_conf("tcp-port = \xff\xfe"
		 "443\n");
	in = input();
	keep(health_check_port(&in, true));
	assert_detail_has(res, "'\xef\xbf\xbd\xef\xbf\xbd"
			       "443'");
	use_conf("tcp-port = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xc3\xa9\n");
	in = input();
	keep(health_check_port(&in, true));
	assert_detail_has(res, "xxx\xef\xbf\xbd'");

	ocserv_conf_free(conf);
	conf = NULL;
	in = input();
	keep(health_check_port(&in, true));
	assert_false(ok_of(res));
	/* No /proc/net files at all. */
	use_conf("tcp-port = 4443\n");
	in = input();
	in.proc = tmpdir;
	keep(health_check_port(&in, true));
	assert_false(ok_of(res));
	assert_detail_has(res, "cannot read");
}

static int listen_unix(const char *path, bool do_listen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void test_occtl_socket(void **state)
{
	char path[128], stale[128], text[256];
	struct health_input in;
	int fd, fd2;

	(void)state;
	unit_join(path, sizeof(path), tmpdir, "occtl.socket");
	unit_join(stale, sizeof(stale), tmpdir, "stale.socket");
	fd = listen_unix(path, true);
	fd2 = listen_unix(stale, false); /* bound, never listening: like a dead server's */

	/* From ocserv.conf when OCCTL_SOCKET is not set. */
	snprintf(text, sizeof(text), "occtl-socket-file = %s\nuse-occtl = true\n", path);
	use_conf(text);
	in = input();
	keep(health_check_occtl_socket(&in));
	assert_true(ok_of(res));
	assert_string_equal(json_string_value(json_object_get(res, "path")), path);

	/* OCCTL_SOCKET wins: it is what the agent's occtl uses. */
	cfg.occtl_socket = stale;
	keep(health_check_occtl_socket(&in));
	assert_false(ok_of(res));
	assert_string_equal(json_string_value(json_object_get(res, "path")), stale);
	assert_detail_has(res, "stale");

	cfg.occtl_socket = NULL;
	use_conf("use-occtl = false\n");
	in = input();
	keep(health_check_occtl_socket(&in));
	assert_string_equal(json_string_value(json_object_get(res, "path")),
			    HEALTH_OCCTL_SOCKET_DEFAULT);

	unit_join(text, sizeof(text), tmpdir, "missing.socket");
	cfg.occtl_socket = text;
	keep(health_check_occtl_socket(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "does not exist (use-occtl is not true");
	cfg.occtl_socket = NULL;
	close(fd);
	close(fd2);
}

static void write_conf_certs(const char *first, const char *second)
{
	char text[1024];
	int n = snprintf(text, sizeof(text), "server-cert = %s/certs/%s\n", FIXTURES_DIR, first);

	if (second != NULL)
		snprintf(text + n, sizeof(text) - (size_t)n, "server-cert = %s/certs/%s\n",
			 FIXTURES_DIR, second);
	use_conf(text);
}

static void test_certificate(void **state)
{
	struct health_input in;

	(void)state;
	write_conf_certs("valid.pem", NULL);
	in = input();
	keep(health_check_certificate(&in));
	assert_true(ok_of(res));
	assert_string_equal(json_string_value(json_object_get(res, "notAfter")),
			    "2099-12-31T23:59:59.000Z");
	assert_string_equal(json_string_value(json_object_get(res, "notBefore")),
			    "2020-01-01T00:00:00.000Z");
	assert_int_equal(int_of(res, "daysLeft"), (4102444799 - NOW_2024) / 86400);
	assert_detail_has(res, "valid until 2099-12-31");

	in.now = 4102444799 - 3 * 86400;
	keep(health_check_certificate(&in));
	assert_false(ok_of(res));
	assert_int_equal(int_of(res, "daysLeft"), 3);
	assert_detail_has(res, "expires in 3 day(s)");

	/* The most urgent of several certificates is reported. */
	write_conf_certs("valid.pem", "expired.pem");
	in = input();
	keep(health_check_certificate(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "expired on 2001-01-01");
	assert_non_null(strstr(json_string_value(json_object_get(res, "path")), "expired.pem"));
	write_conf_certs("chain.pem", "valid.pem");
	in = input();
	keep(health_check_certificate(&in));
	assert_true(ok_of(res));
	assert_non_null(strstr(json_string_value(json_object_get(res, "path")), "chain.pem"));

	write_conf_certs("future.pem", NULL);
	in = input();
	keep(health_check_certificate(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "not valid before 2090-01-01");

	write_conf_certs("valid.pem", "missing.pem");
	in = input();
	keep(health_check_certificate(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "no such file");
	use_conf("server-cert = /nonexistent/\xe9t\xe9.pem\n");
	in = input();
	keep(health_check_certificate(&in));
	assert_false(ok_of(res));
	assert_string_equal(json_string_value(json_object_get(res, "path")),
			    "/nonexistent/\xef\xbf\xbdt\xef\xbf\xbd.pem");
	write_conf_certs("README.md", NULL);
	in = input();
	keep(health_check_certificate(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "not a PEM certificate");

	use_conf("server-cert = pkcs11:object=server;type=cert\n");
	in = input();
	keep(health_check_certificate(&in));
	assert_true(ok_of(res));
	assert_true(json_is_true(json_object_get(res, "skipped")));
	use_conf("tcp-port = 443\n");
	in = input();
	keep(health_check_certificate(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "server-cert is not set");
}

static void test_memory(void **state)
{
	struct health_input in = input();

	(void)state;
	put("proc/self/status", "Name:\tocserv-agent\nVmRSS:\t    6716 kB\n");
	keep(health_check_memory(&in));
	assert_true(ok_of(res));
	assert_int_equal(int_of(res, "rssBytes"), 6716 * 1024);
	assert_detail_has(res, "6.6 MiB");
	put("proc/self/status", "VmRSS:\t 1048576 kB\n");
	keep(health_check_memory(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "above 256.0 MiB");
	put("proc/self/status", "Name:\tx\n");
	keep(health_check_memory(&in));
	assert_false(ok_of(res));
	assert_true(json_is_null(json_object_get(res, "rssBytes")));
	/* The real one. */
	in.proc = "/proc";
	keep(health_check_memory(&in));
	assert_true(ok_of(res));
	assert_true(int_of(res, "rssBytes") > 0);
}

/* ---- the login probe, with a shell script standing in for openconnect ---- */

static char fake_oc[128], args_file[128], stdin_file[128], runs_file[128];

static void fake_openconnect(int rc, const char *stderr_text, unsigned sleep_ms)
{
	char text[1024];

	unit_join(fake_oc, sizeof(fake_oc), tmpdir, "openconnect");
	unit_join(args_file, sizeof(args_file), tmpdir, "args");
	unit_join(stdin_file, sizeof(stdin_file), tmpdir, "stdin");
	unit_join(runs_file, sizeof(runs_file), tmpdir, "runs");
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "printf '%%s\\n' \"$@\" > %s\n"
		 "cat > %s\n"
		 "echo run >> %s\n"
		 "sleep %u.%03u\n"
		 "echo \"COOKIE='secret-cookie'\"\n"
		 "printf '%%s\\n' '%s' >&2\n"
		 "exit %d\n",
		 args_file, stdin_file, runs_file, sleep_ms / 1000, sleep_ms % 1000, stderr_text,
		 rc);
	assert_int_equal(unit_write_file(fake_oc, text, strlen(text), 0755), 0);
	cfg.openconnect_path = fake_oc;
}

static void probe_conf(void)
{
	char text[512];

	snprintf(text, sizeof(text), "tcp-port = 4443\nserver-cert = %s/certs/valid.pem\n",
		 FIXTURES_DIR);
	use_conf(text);
}

static void test_login_skipped_and_misconfigured(void **state)
{
	struct health_input in;

	(void)state;
	in = input();
	keep(health_check_login(&in));
	assert_true(ok_of(res));
	assert_true(json_is_true(json_object_get(res, "skipped")));
	assert_string_equal(detail_of(res), "AGENT_PROBE_USER is not set");

	cfg.probe_user = "alice";
	keep(health_check_login(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "AGENT_PROBE_PASSWORD is not set");
	cfg.probe_password = "alice-pw";
	keep(health_check_login(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "ocserv.conf was not read");
	use_conf("server-cert = /nonexistent.pem\n");
	in = input();
	keep(health_check_login(&in));
	assert_detail_has(res, "tcp-port");
	use_conf("tcp-port = 443\nserver-cert = /nonexistent.pem\n");
	in = input();
	keep(health_check_login(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "certificate cannot be read");
	probe_conf();
	in = input();
	cfg.openconnect_path = "/nonexistent/openconnect";
	keep(health_check_login(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "not installed");
	cfg.probe_user = cfg.probe_password = NULL;
}

static void test_login_probe(void **state)
{
	struct health_input in;
	char *text;

	(void)state;
	probe_conf();
	in = input();
	cfg.probe_user = "alice";
	cfg.probe_password = "pass word ✓";
	fake_openconnect(0, "Connected to 127.0.0.1:4443", 0);
	keep(health_check_login(&in));
	assert_true(ok_of(res));
	assert_string_equal(json_string_value(json_object_get(res, "user")), "alice");
	assert_true(int_of(res, "latencyMs") >= 0);
	assert_null(json_object_get(res, "skipped"));
	text = unit_read_file(args_file, NULL);
	assert_non_null(text);
	assert_string_equal(text, "--authenticate\n--protocol=anyconnect\n--non-inter\n"
				  "--passwd-on-stdin\n--user=alice\n--servercert\n"
				  "pin-sha256:1glAAouTxI/cAR1+kRCPKM8oRoXlbRfvK3a18byna1U=\n"
				  "https://127.0.0.1:4443/\n");
	free(text);
	text = unit_read_file(stdin_file, NULL);
	assert_string_equal(text, "pass word ✓\n");
	free(text);

	/* IPv6 literals are bracketed. */
	cfg.probe_host = "::1";
	keep(health_check_login(&in));
	text = unit_read_file(args_file, NULL);
	assert_non_null(strstr(text, "https://[::1]:4443/\n"));
	free(text);
	cfg.probe_host = "127.0.0.1";

	fake_openconnect(1, "Login failed.", 0);
	keep(health_check_login(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "refused the user name or password");
	assert_true(int_of(res, "latencyMs") >= 0);
	fake_openconnect(1, "Server certificate verify failed: signer not found", 0);
	keep(health_check_login(&in));
	assert_detail_has(res, "did not match its pin");
	fake_openconnect(3, "something else", 0);
	keep(health_check_login(&in));
	assert_detail_has(res, "see the agent log");

	cfg.probe_timeout_ms = 300;
	fake_openconnect(0, "", 3000);
	keep(health_check_login(&in));
	assert_false(ok_of(res));
	assert_detail_has(res, "AGENT_PROBE_TIMEOUT_MS");
	assert_true(int_of(res, "latencyMs") < 2000);
	cfg.probe_timeout_ms = 5000;
	cfg.probe_user = cfg.probe_password = NULL;
}

static void *login_thread(void *arg)
{
	struct health_input in = input();

	*(json_t **)arg = health_check_login(&in);
	return NULL;
}

/* Requests that arrive while a probe runs share its result. */
static void test_login_probes_coalesce(void **state)
{
	pthread_t t[3];
	json_t *r[3] = {NULL, NULL, NULL};
	char *runs;

	(void)state;
	probe_conf();
	cfg.probe_user = "alice";
	cfg.probe_password = "alice-pw";
	fake_openconnect(0, "", 400);
	assert_int_equal(pthread_create(&t[0], NULL, login_thread, &r[0]), 0);
	usleep(100 * 1000);
	assert_int_equal(pthread_create(&t[1], NULL, login_thread, &r[1]), 0);
	assert_int_equal(pthread_create(&t[2], NULL, login_thread, &r[2]), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 3; i++) {
		assert_non_null(r[i]);
		assert_true(ok_of(r[i]));
		assert_true(json_equal(r[0], r[i]));
	}
	for (int i = 0; i < 3; i++)
		json_decref(r[i]);
	runs = unit_read_file(runs_file, NULL);
	assert_string_equal(runs, "run\n");
	free(runs);
	cfg.probe_user = cfg.probe_password = NULL;
}

static void test_run(void **state)
{
	struct health_input in = input();
	char conf_path[128];
	bool all_ok = true;
	json_t *arr;

	(void)state;
	unit_join(conf_path, sizeof(conf_path), tmpdir, "missing.conf");
	cfg.ocserv_conf_path = conf_path;
	cfg.state_dir = tmpdir;
	in.proc = "/proc";
	in.status_err = ERR_OCCTL_FAILED;
	arr = keep(health_run(&in, 2, &all_ok));
	assert_false(all_ok);
	assert_int_equal(json_array_size(arr), 9);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "name")),
			    "ocservProcess");
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "name")),
			    "ocservConf");
	assert_detail_has(json_array_get(arr, 1), "does not exist");
	arr = keep(health_run(&in, 3, &all_ok));
	assert_int_equal(json_array_size(arr), 10);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 9), "name")),
			    "login");
	cfg.ocserv_conf_path = "/etc/ocserv/ocserv.conf";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_net_line),
		cmocka_unit_test(test_proc_net_scan),
		cmocka_unit_test(test_proc_unix_line),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_disk_rule),
		cmocka_unit_test_setup_teardown(test_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conf_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_occtl_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_certificate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_skipped_and_misconfigured, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_login_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_probes_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
