/* cert_info.h: validity and pin of the server certificate, over the fixed
 * certificates of tests/data/certs (see its README.md for how they were made). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cert_info.h"
#include "err.h"
#include "unit.h"

#define T_2000_01_01 946684800
#define T_2001_01_01 978307200
#define T_2020_01_01 1577836800
#define T_2024_06_01 1717243200 /* 12:00:00 */
#define T_2030_06_01 1906545600 /* 12:00:00 */
#define T_2090_01_01 3786912000
#define T_2091_01_01 3818448000
#define T_2099_12_31 4102444799 /* 23:59:59 */
#define DAY	     86400

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return unit_mkdtemp(tmpdir, sizeof(tmpdir), "certinfotest") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

static void read_cert(const char *name, struct cert_info *ci)
{
	char path[512];
	struct err_info ei = {{0}};

	snprintf(path, sizeof(path), "%s/certs/%s", FIXTURES_DIR, name);
	if (cert_info_read_file(path, ci, &ei) != 0)
		fail_msg("%s: %s", path, ei.detail);
}

static void test_valid(void **state)
{
	struct cert_info ci;
	long days;

	(void)state;
	read_cert("valid.pem", &ci);
	assert_int_equal(ci.not_before, T_2020_01_01);
	assert_int_equal(ci.not_after, T_2099_12_31);
	assert_string_equal(ci.pin, "pin-sha256:1glAAouTxI/cAR1+kRCPKM8oRoXlbRfvK3a18byna1U=");
	assert_string_equal(ci.subject, "CN=valid.test,O=ocserv-agent tests");
	assert_int_equal(cert_info_state(&ci, T_2024_06_01, 7, &days), CERT_VALID);
	assert_int_equal(days, (T_2099_12_31 - T_2024_06_01) / DAY);
}

static void test_expired_and_future(void **state)
{
	struct cert_info ci;
	long days;

	(void)state;
	read_cert("expired.pem", &ci);
	assert_int_equal(ci.not_before, T_2000_01_01);
	assert_int_equal(ci.not_after, T_2001_01_01);
	assert_string_equal(ci.pin, "pin-sha256:v+ki6C/r3V83Bq7z0S/8DIinMPwC0G1p+9MiCuXZf2w=");
	assert_int_equal(cert_info_state(&ci, T_2024_06_01, 7, &days), CERT_EXPIRED);
	assert_true(days < -8000);

	read_cert("future.pem", &ci);
	assert_int_equal(ci.not_before, T_2090_01_01);
	assert_int_equal(ci.not_after, T_2091_01_01);
	assert_int_equal(cert_info_state(&ci, T_2024_06_01, 7, &days), CERT_NOT_YET_VALID);
	assert_true(days > 365 * 60);
	assert_int_equal(cert_info_state(&ci, T_2090_01_01 + DAY, 7, &days), CERT_VALID);
}

/* A file with the chain after the server's certificate: the first one counts. */
static void test_chain_first_certificate(void **state)
{
	struct cert_info ci;

	(void)state;
	read_cert("chain.pem", &ci);
	assert_int_equal(ci.not_before, T_2024_06_01);
	assert_int_equal(ci.not_after, T_2030_06_01);
	assert_string_equal(ci.pin, "pin-sha256:i+5cKSap5Ktz+wjy49PZGYkHTNgZx9X8K5PbCKbDCZ0=");
	assert_string_equal(ci.subject, "CN=leaf.test");
}

static void test_state_boundaries(void **state)
{
	struct cert_info ci = {.not_before = 1000000, .not_after = 2000000};
	long days;

	(void)state;
	assert_int_equal(cert_info_state(&ci, 999999, 7, &days), CERT_NOT_YET_VALID);
	assert_int_equal(cert_info_state(&ci, 1000000, 7, &days), CERT_VALID);
	/* Exactly 7 days left is still fine; a second less is not. */
	assert_int_equal(cert_info_state(&ci, 2000000 - 7 * DAY, 7, &days), CERT_VALID);
	assert_int_equal(days, 7);
	assert_int_equal(cert_info_state(&ci, 2000000 - 7 * DAY + 1, 7, &days), CERT_EXPIRING);
	assert_int_equal(days, 6);
	assert_int_equal(cert_info_state(&ci, 2000000, 7, &days), CERT_EXPIRING);
	assert_int_equal(days, 0);
	/* One second after notAfter is day -1, not day 0. */
	assert_int_equal(cert_info_state(&ci, 2000001, 7, &days), CERT_EXPIRED);
	assert_int_equal(days, -1);
	assert_int_equal(cert_info_state(&ci, 2000000 + DAY, 7, &days), CERT_EXPIRED);
	assert_int_equal(days, -1);
	assert_int_equal(cert_info_state(&ci, 2000000 + DAY + 1, 7, &days), CERT_EXPIRED);
	assert_int_equal(days, -2);
	/* min_days 0: valid until the end. */
	assert_int_equal(cert_info_state(&ci, 2000000, 0, &days), CERT_VALID);
}

static void test_pem_in_memory(void **state)
{
	char path[512], *pem, *text;
	size_t len = 0;
	struct cert_info ci;
	struct err_info ei = {{0}};

	(void)state;
	snprintf(path, sizeof(path), "%s/certs/valid.pem", FIXTURES_DIR);
	pem = unit_read_file(path, &len);
	assert_non_null(pem);
	/* Text before the PEM block (as `certtool -i` writes it) is skipped. */
	text = malloc(len + 64);
	assert_non_null(text);
	len = (size_t)sprintf(text, "Subject: whatever\n\n%s", pem);
	assert_int_equal(cert_info_from_pem(text, len, &ci, &ei), 0);
	assert_int_equal(ci.not_after, T_2099_12_31);
	free(text);
	free(pem);
}

static void refused(const char *text, int want)
{
	struct cert_info ci = {.not_after = 42};
	struct err_info ei = {{0}};

	assert_int_equal(cert_info_from_pem(text, strlen(text), &ci, &ei), want);
	assert_int_equal(ci.not_after, 42); /* untouched */
	assert_true(ei.detail[0] != '\0');
}

static void test_not_certificates(void **state)
{
	(void)state;
	refused("", ERR_BAD_REQUEST);
	refused("hello\n", ERR_BAD_REQUEST);
	refused("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", ERR_BAD_REQUEST);
	refused("-----BEGIN CERTIFICATE-----\n", ERR_BAD_REQUEST);
	refused("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n", ERR_BAD_REQUEST);
}

static void test_files(void **state)
{
	char path[128], *big;
	struct cert_info ci = {.not_after = 42};
	struct err_info ei = {{0}};

	(void)state;
	unit_join(path, sizeof(path), tmpdir, "missing.pem");
	assert_int_equal(cert_info_read_file(path, &ci, &ei), ERR_NOT_FOUND);
	assert_int_equal(cert_info_read_file(tmpdir, &ci, &ei), ERR_INTERNAL);
	unit_join(path, sizeof(path), tmpdir, "empty.pem");
	assert_int_equal(unit_write_str(path, ""), 0);
	assert_int_equal(cert_info_read_file(path, &ci, &ei), ERR_BAD_REQUEST);
	big = malloc(CERT_INFO_MAX_FILE + 1);
	assert_non_null(big);
	memset(big, 'A', CERT_INFO_MAX_FILE + 1);
	unit_join(path, sizeof(path), tmpdir, "big.pem");
	assert_int_equal(unit_write_file(path, big, CERT_INFO_MAX_FILE + 1, 0644), 0);
	assert_int_equal(cert_info_read_file(path, &ci, &ei), ERR_INTERNAL);
	assert_non_null(strstr(ei.detail, "more than"));
	free(big);
	assert_int_equal(ci.not_after, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_expired_and_future),
		cmocka_unit_test(test_chain_first_certificate),
		cmocka_unit_test(test_state_boundaries),
		cmocka_unit_test(test_pem_in_memory),
		cmocka_unit_test(test_not_certificates),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
