/* ipaddr.h: client-given IP addresses, normalised as ocserv prints them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "ipaddr.h"

static void ok(const char *in, const char *want)
{
	char out[IPADDR_TEXT_MAX];
	int r = ipaddr_normalize(in, out, sizeof(out));

	if (r != 0)
		fail_msg("'%s' refused (%d), want '%s'", in, r, want);
	assert_string_equal(out, want);
}

static void refused(const char *in)
{
	char out[IPADDR_TEXT_MAX] = "untouched";
	int r = ipaddr_normalize(in, out, sizeof(out));

	if (r != ERR_BAD_REQUEST)
		fail_msg("'%s' gave %d ('%s'), want ERR_BAD_REQUEST", in, r, out);
}

static void test_ipv4(void **state)
{
	(void)state;
	ok("1.2.3.4", "1.2.3.4");
	ok("127.0.0.2", "127.0.0.2");
	ok("0.0.0.0", "0.0.0.0");
	ok("255.255.255.255", "255.255.255.255");
	ok("10.0.0.1", "10.0.0.1");
}

static void test_ipv6(void **state)
{
	(void)state;
	ok("::1", "::1");
	ok("0:0::1", "::1");
	ok("0:0:0:0:0:0:0:1", "::1");
	ok("::", "::");
	ok("FE80::ABCD", "fe80::abcd");
	ok("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
	ok("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1");
	ok("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
	ok("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0");
	/* 45 characters, the longest text form, is still accepted. */
	ok("0000:0000:0000:0000:0000:ffff:255.255.255.255", "255.255.255.255");
}

/* ocserv records a client that came over IPv4 with its IPv4 address. */
static void test_mapped(void **state)
{
	(void)state;
	ok("::ffff:10.1.2.3", "10.1.2.3");
	ok("::FFFF:10.1.2.3", "10.1.2.3");
	ok("::ffff:0a01:0203", "10.1.2.3");
	ok("0:0:0:0:0:ffff:127.0.0.2", "127.0.0.2");
	/* Not mapped: the (deprecated) compatible form and the translated one stay IPv6. */
	ok("::1.2.3.4", "::1.2.3.4");
	ok("::ffff:0:1.2.3.4", "::ffff:0:102:304");
}

static void test_refused(void **state)
{
	static const char *bad[] = {
		"",
		"1.2.3",
		"10.0.0.256",
		"1.2.3.4.",
		"1.2.3.4.5",
		"01.2.3.4", /* leading zeros read as octal elsewhere */
		"1.2.3.04",
		"0x1.2.3.4",
		"abc",
		"localhost",
		"1.2.3.4/24",
		"::1/128",
		" 1.2.3.4",
		"1.2.3.4 ",
		"1.2.3.4\n",
		"fe80::1%eth0",
		"[::1]",
		"1.2.3.4:80",
		":::1",
		"1::2::3",
		"1:2:3:4:5:6:7:8:9",
		"gggg::1",
		"0000:0000:0000:0000:0000:ffff:0255.255.255.255",
	};
	char big[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i]);
	/* Too long: IPADDR_TEXT_MAX characters and beyond, whatever they are. */
	memset(big, '0', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big);
	memcpy(big, "0000:0000:0000:0000:0000:0000:0000:0000:", 40);
	big[IPADDR_TEXT_MAX] = '\0';
	assert_int_equal(strlen(big), IPADDR_TEXT_MAX);
	refused(big);
}

static void test_small_buffer(void **state)
{
	char out[8];

	(void)state;
	/* The output buffer is honoured: no overflow, an error instead. */
	assert_int_equal(ipaddr_normalize("1.2.3.4", out, sizeof(out)), 0);
	assert_string_equal(out, "1.2.3.4");
	assert_int_equal(ipaddr_normalize("10.20.30.40", out, sizeof(out)), ERR_BAD_REQUEST);
	assert_int_equal(ipaddr_normalize("2001:db8::1", out, sizeof(out)), ERR_BAD_REQUEST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),	     cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_mapped),	     cmocka_unit_test(test_refused),
		cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
