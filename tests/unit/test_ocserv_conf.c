/* ocserv_conf.h: ocserv.conf read as ocserv reads it, odd inputs included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "ocserv_conf.h"
#include "unit.h"

static struct ocserv_conf *conf; /* freed by teardown too, when a test fails midway */
static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return unit_mkdtemp(tmpdir, sizeof(tmpdir), "ocservconftest") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ocserv_conf_free(conf);
	conf = NULL;
	unit_rmtree(tmpdir);
	return 0;
}

static struct ocserv_conf *parse(const char *text)
{
	struct err_info ei = {{0}};

	ocserv_conf_free(conf);
	conf = NULL;
	assert_int_equal(ocserv_conf_parse(text, strlen(text), &conf, &ei), 0);
	assert_non_null(conf);
	return conf;
}

static void assert_get(const char *key, const char *want)
{
	const char *got = ocserv_conf_get(conf, key);

	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(want, got) != 0)
		fail_msg("%s: got '%s', want '%s'", key, got ? got : "(null)",
			 want ? want : "(null)");
}

static void test_pairs_and_comments(void **state)
{
	(void)state;
	parse("# a comment\n"
	      "; another\n"
	      "   # indented comment before any key\n"
	      "\n"
	      "  run-as-user=nobody  \n"
	      "tcp-port = 443\n"
	      "udp-port: 4443\n"
	      "\tmax-clients\t=\t16\t\n"
	      "empty =\n"
	      "a=b=c\n"
	      "x:y=z\n"
	      "listen-host = ::1\n"
	      "ipv6-network: fd00::/48\n"
	      "= no key\n");
	/* An indented line before any key is a pair, not a continuation. */
	assert_get("run-as-user", "nobody");
	assert_get("tcp-port", "443");
	assert_get("udp-port", "4443");
	/* After one, an indented line is another value of that key, whatever
	 * it looks like (inih's rule, which ocserv follows). */
	assert_int_equal(ocserv_conf_count(conf, "udp-port"), 2);
	assert_string_equal(ocserv_conf_at(conf, 3)->value, "max-clients\t=\t16");
	assert_get("max-clients", NULL);
	assert_get("empty", "");
	assert_get("a", "b=c");
	assert_get("x", "y=z");
	assert_get("listen-host", "::1");
	assert_get("ipv6-network", "fd00::/48");
	assert_get("", "no key");
	assert_get("missing", NULL);
	assert_get("# a comment", NULL);
	assert_int_equal(ocserv_conf_size(conf), 10);
	assert_int_equal(ocserv_conf_bad_lines(conf), 0);
	assert_int_equal(ocserv_conf_first_bad_line(conf), 0);
}

static void test_quotes_and_trailing_comments(void **state)
{
	(void)state;
	parse("auth = \"plain[passwd=/etc/ocserv/ocpasswd]\"\n"
	      "tls-priorities = \"NORMAL:%SERVER_PRECEDENCE\"\n"
	      "banner = \" \"hello\" world \" \n"
	      "server-cert = /etc/ssl/a.pem ; old one\n"
	      "dns = 1.1.1.1 # cloudflare\n"
	      "split-dns = a.example#not-a-comment\n"
	      "cert-user-oid = \"x\t#y\"\n"
	      "quotes = \"\"\"\n"
	      "inner = a\"b\n"
	      "route = 10.0.0.0/8\n"
	      "  192.168.0.0/16 # continuation, commented\n");
	assert_get("auth", "plain[passwd=/etc/ocserv/ocpasswd]");
	assert_get("tls-priorities", "NORMAL:%SERVER_PRECEDENCE");
	/* Only the ends lose blanks and quotes, as in ocserv. */
	assert_get("banner", "hello\" world");
	/* ';' never starts a trailing comment; '#' after a blank does, even
	 * between quotes (inih's inline comments; measured with ocserv -t on
	 * 1.1.6, 1.3.0 and 1.5.0: "rekey-method = ssl #x" passes, "ssl ;x"
	 * and "ssl#x" are refused). */
	assert_get("server-cert", "/etc/ssl/a.pem ; old one");
	assert_get("dns", "1.1.1.1");
	assert_get("split-dns", "a.example#not-a-comment");
	assert_get("cert-user-oid", "x");
	assert_int_equal(ocserv_conf_count(conf, "route"), 2);
	assert_string_equal(ocserv_conf_at(conf, ocserv_conf_size(conf) - 1)->value,
			    "192.168.0.0/16");
	assert_get("quotes", "");
	assert_get("inner", "a\"b");
}

static void test_multi_values_and_continuations(void **state)
{
	const struct ocserv_conf_entry *e;
	const char *want[] = {"10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12", "default"};
	size_t i = 0;

	(void)state;
	parse("route = 10.0.0.0/8\n"
	      "   192.168.0.0/16\n"
	      "# a comment does not end the list\n"
	      "\t\"172.16.0.0/12\"\n"
	      "dns = 8.8.8.8\n"
	      "route = default\n"
	      "dns = 8.8.4.4\n");
	assert_int_equal(ocserv_conf_count(conf, "route"), 4);
	assert_int_equal(ocserv_conf_count(conf, "dns"), 2);
	assert_int_equal(ocserv_conf_count(conf, "nbns"), 0);
	for (e = ocserv_conf_next(conf, NULL, "route", NULL); e != NULL;
	     e = ocserv_conf_next(conf, NULL, "route", e)) {
		assert_true(i < 4);
		assert_string_equal(e->key, "route");
		assert_string_equal(e->value, want[i++]);
		assert_null(e->section);
		assert_null(e->vhost);
	}
	assert_int_equal(i, 4);
	/* Line numbers are those of each value. */
	assert_int_equal(ocserv_conf_at(conf, 0)->line, 1);
	assert_int_equal(ocserv_conf_at(conf, 1)->line, 2);
	assert_int_equal(ocserv_conf_at(conf, 2)->line, 4);
	assert_int_equal(ocserv_conf_at(conf, 5)->line, 7);
	assert_null(ocserv_conf_at(conf, 6));
	/* key NULL walks everything of the section. */
	i = 0;
	for (e = ocserv_conf_next(conf, NULL, NULL, NULL); e != NULL;
	     e = ocserv_conf_next(conf, NULL, NULL, e))
		i++;
	assert_int_equal(i, 6);
}

static void test_vhosts(void **state)
{
	const struct ocserv_conf_entry *e;

	(void)state;
	parse("tcp-port = 443\n"
	      "server-cert = /global.pem\n"
	      "[vhost:www.example.com]\n"
	      "server-cert = /www.pem\n"
	      "  /www-rsa.pem\n"
	      "[vhost:other]\n"
	      "  ipv4-network = 10.1.0.0\n" /* a section ends the continuation */
	      "[unknown]\n"
	      "server-cert = /unknown.pem\n"
	      "[vhost:www.example.com]\n"
	      "dns = 9.9.9.9\n");
	assert_get("server-cert", "/global.pem");
	assert_int_equal(ocserv_conf_count(conf, "server-cert"), 1);
	assert_get("dns", NULL);
	assert_string_equal(ocserv_conf_get_vhost(conf, "www.example.com", "server-cert"),
			    "/www.pem");
	/* No fallback to the global value. */
	assert_null(ocserv_conf_get_vhost(conf, "www.example.com", "tcp-port"));
	assert_string_equal(ocserv_conf_get_vhost(conf, "other", "ipv4-network"), "10.1.0.0");
	/* A repeated section adds to the same virtual host. */
	assert_string_equal(ocserv_conf_get_vhost(conf, "www.example.com", "dns"), "9.9.9.9");
	e = ocserv_conf_next(conf, "www.example.com", "server-cert", NULL);
	e = ocserv_conf_next(conf, "www.example.com", "server-cert", e);
	assert_non_null(e);
	assert_string_equal(e->value, "/www-rsa.pem");
	assert_string_equal(e->section, "vhost:www.example.com");
	assert_string_equal(e->vhost, "www.example.com");
	/* Another kind of section is kept but belongs to no look-up. */
	assert_null(ocserv_conf_get_vhost(conf, "unknown", "server-cert"));
	e = ocserv_conf_at(conf, ocserv_conf_size(conf) - 2);
	assert_string_equal(e->value, "/unknown.pem");
	assert_string_equal(e->section, "unknown");
	assert_null(e->vhost);
	assert_int_equal(ocserv_conf_bad_lines(conf), 0);
}

static void test_bad_lines(void **state)
{
	(void)state;
	parse("tcp-port = 443\n"
	      "garbage line\n"
	      "[vhost:unterminated\n"
	      "udp-port = 443\n"
	      "  continued\n");
	assert_int_equal(ocserv_conf_bad_lines(conf), 2);
	assert_int_equal(ocserv_conf_first_bad_line(conf), 2);
	assert_get("tcp-port", "443");
	/* An unterminated section header changes nothing. */
	assert_int_equal(ocserv_conf_count(conf, "udp-port"), 2);
}

static void test_line_endings_bom_nul(void **state)
{
	static const char text[] = "\xef\xbb\xbftcp-port = 443\r\n"
				   "udp-port = 4\0garbage without separator\n"
				   "dns = 1.1.1.1";
	struct err_info ei = {{0}};

	(void)state;
	assert_int_equal(ocserv_conf_parse(text, sizeof(text) - 1, &conf, &ei), 0);
	assert_get("tcp-port", "443");
	/* A NUL ends its line's content, as for ocserv's fgets. */
	assert_get("udp-port", "4");
	assert_int_equal(ocserv_conf_bad_lines(conf), 0);
	/* The last line needs no newline. */
	assert_get("dns", "1.1.1.1");
	assert_int_equal(ocserv_conf_at(conf, 2)->line, 3);
}

static void test_empty(void **state)
{
	(void)state;
	parse("");
	assert_int_equal(ocserv_conf_size(conf), 0);
	assert_null(ocserv_conf_next(conf, NULL, NULL, NULL));
	parse("\n\n# only comments\n   \n");
	assert_int_equal(ocserv_conf_size(conf), 0);
	assert_int_equal(ocserv_conf_bad_lines(conf), 0);
}

static void test_bool(void **state)
{
	(void)state;
	assert_true(ocserv_conf_bool("true", false));
	assert_true(ocserv_conf_bool("TRUE", false));
	assert_true(ocserv_conf_bool("yes", false));
	assert_false(ocserv_conf_bool("false", true));
	assert_false(ocserv_conf_bool("1", true)); /* ocserv accepts only true/yes */
	assert_false(ocserv_conf_bool("", true));
	assert_true(ocserv_conf_bool(NULL, true));
	assert_false(ocserv_conf_bool(NULL, false));
}

static void test_load(void **state)
{
	char path[128];
	struct err_info ei = {{0}};
	struct ocserv_conf *c = (struct ocserv_conf *)0x1;
	char *big;

	(void)state;
	unit_join(path, sizeof(path), tmpdir, "ocserv.conf");
	assert_int_equal(ocserv_conf_load(path, &c, &ei), ERR_NOT_FOUND);
	assert_ptr_equal(c, (struct ocserv_conf *)0x1); /* untouched on failure */
	assert_non_null(strstr(ei.detail, "ocserv.conf"));

	assert_int_equal(unit_write_str(path, "tcp-port = 443\n"), 0);
	assert_int_equal(ocserv_conf_load(path, &conf, &ei), 0);
	assert_get("tcp-port", "443");
	ocserv_conf_free(conf);
	conf = NULL;

	/* Exactly the limit is read; one byte more is refused. */
	big = malloc(OCSERV_CONF_MAX + 1);
	assert_non_null(big);
	memset(big, '#', OCSERV_CONF_MAX + 1);
	memcpy(big, "a=b\n", 4);
	assert_int_equal(unit_write_file(path, big, OCSERV_CONF_MAX, 0644), 0);
	assert_int_equal(ocserv_conf_load(path, &conf, &ei), 0);
	assert_get("a", "b");
	ocserv_conf_free(conf);
	conf = NULL;
	assert_int_equal(unit_write_file(path, big, OCSERV_CONF_MAX + 1, 0644), 0);
	assert_int_equal(ocserv_conf_load(path, &conf, &ei), ERR_INTERNAL);
	assert_null(conf);
	assert_int_equal(ocserv_conf_parse(big, OCSERV_CONF_MAX + 1, &conf, &ei), ERR_INTERNAL);
	assert_null(conf);
	free(big);

	/* A directory cannot be read. */
	assert_int_equal(ocserv_conf_load(tmpdir, &conf, &ei), ERR_INTERNAL);
	assert_null(conf);
}

/* The lab's configuration, as tests/integration/lab.py writes it. */
static void test_lab_like(void **state)
{
	(void)state;
	parse("# ocserv-agent test lab\n"
	      "auth = \"plain[passwd=/tmp/lab/ocpasswd]\"\n"
	      "listen-host = 127.0.0.1\n"
	      "tcp-port = 4443\n"
	      "udp-port = 4443\n"
	      "occtl-socket-file = /tmp/lab/run/occtl.socket\n"
	      "use-occtl = true\n"
	      "server-cert = /tmp/lab/server-cert.pem\n"
	      "server-key = /tmp/lab/server-key.pem\n"
	      "tls-priorities = \"NORMAL:%SERVER_PRECEDENCE\"\n"
	      "config-per-user = /tmp/lab/config-per-user/\n");
	assert_get("auth", "plain[passwd=/tmp/lab/ocpasswd]");
	assert_get("occtl-socket-file", "/tmp/lab/run/occtl.socket");
	assert_true(ocserv_conf_bool(ocserv_conf_get(conf, "use-occtl"), false));
	assert_get("config-per-user", "/tmp/lab/config-per-user/");
	assert_int_equal(ocserv_conf_size(conf), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_pairs_and_comments, teardown),
		cmocka_unit_test_teardown(test_quotes_and_trailing_comments, teardown),
		cmocka_unit_test_teardown(test_multi_values_and_continuations, teardown),
		cmocka_unit_test_teardown(test_vhosts, teardown),
		cmocka_unit_test_teardown(test_bad_lines, teardown),
		cmocka_unit_test_teardown(test_line_endings_bom_nul, teardown),
		cmocka_unit_test_teardown(test_empty, teardown),
		cmocka_unit_test(test_bool),
		cmocka_unit_test_setup_teardown(test_load, setup, teardown),
		cmocka_unit_test_teardown(test_lab_like, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
