#include "cert_info.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readall.h"

/* openconnect's pin is the SHA-256 of the DER SubjectPublicKeyInfo, which
 * is what GnuTLS calls the SHA-256 key id; certtool prints the same. */
static int pin_of(gnutls_x509_crt_t crt, char *out, size_t len, struct err_info *ei)
{
	unsigned char id[32];
	size_t id_len = sizeof(id);
	gnutls_datum_t raw, b64 = {NULL, 0};
	int r = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id, &id_len);

	if (r < 0)
		return err_set(ei, ERR_BAD_REQUEST, "key id: %s", gnutls_strerror(r));
	raw = (gnutls_datum_t){id, (unsigned)id_len};
	r = gnutls_base64_encode2(&raw, &b64);
	if (r < 0)
		return err_set(ei, r == GNUTLS_E_MEMORY_ERROR ? ERR_NOMEM : ERR_INTERNAL,
			       "base64: %s", gnutls_strerror(r));
	r = (size_t)snprintf(out, len, "pin-sha256:%.*s", (int)b64.size, (char *)b64.data) < len
		    ? 0
		    : err_set(ei, ERR_INTERNAL, "pin longer than expected");
	gnutls_free(b64.data);
	return r;
}

static void subject_of(gnutls_x509_crt_t crt, char *out, size_t len)
{
	gnutls_datum_t dn = {NULL, 0};

	out[0] = '\0';
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0)
		return;
	snprintf(out, len, "%.*s", (int)dn.size, (char *)dn.data);
	gnutls_free(dn.data);
}

int cert_info_from_pem(const void *pem, size_t len, struct cert_info *ret, struct err_info *ei)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
	struct cert_info ci = {0};
	int r;

	if (len > CERT_INFO_MAX_FILE)
		return err_set(ei, ERR_BAD_REQUEST, "more than %d bytes", CERT_INFO_MAX_FILE);
	if (gnutls_x509_crt_init(&crt) < 0)
		return err_set(ei, ERR_NOMEM, "out of memory");
	r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		r = err_set(ei, ERR_BAD_REQUEST, "no PEM certificate: %s", gnutls_strerror(r));
		goto out;
	}
	ci.not_before = gnutls_x509_crt_get_activation_time(crt);
	ci.not_after = gnutls_x509_crt_get_expiration_time(crt);
	if (ci.not_before == (time_t)-1 || ci.not_after == (time_t)-1) {
		r = err_set(ei, ERR_BAD_REQUEST, "certificate without a validity period");
		goto out;
	}
	r = pin_of(crt, ci.pin, sizeof(ci.pin), ei);
	if (r < 0)
		goto out;
	subject_of(crt, ci.subject, sizeof(ci.subject));
	*ret = ci;
out:
	gnutls_x509_crt_deinit(crt);
	return r;
}

int cert_info_read_file(const char *path, struct cert_info *ret, struct err_info *ei)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r, e;
	char *buf = NULL;
	size_t len = 0;

	if (fd < 0)
		return err_set(ei, errno == ENOENT ? ERR_NOT_FOUND : ERR_INTERNAL, "%s: %s", path,
			       strerror(errno));
	r = read_all(fd, CERT_INFO_MAX_FILE, 0, &buf, &len);
	e = errno;
	close(fd);
	if (r < 0 && e == EFBIG)
		r = err_set(ei, ERR_INTERNAL, "%s: more than %d bytes", path, CERT_INFO_MAX_FILE);
	else if (r < 0 && e == ENOMEM)
		r = err_set(ei, ERR_NOMEM, "out of memory");
	else if (r < 0)
		r = err_set(ei, ERR_INTERNAL, "%s: %s", path, strerror(e));
	else
		r = cert_info_from_pem(buf, len, ret, ei);
	free(buf);
	return r;
}

enum cert_state cert_info_state(const struct cert_info *ci, time_t now, int min_days,
				long *days_left)
{
	/* Floor division: one second past notAfter is day -1, not day 0. */
	long long secs = (long long)ci->not_after - (long long)now;
	long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);

	*days_left = (long)days;
	if (now < ci->not_before)
		return CERT_NOT_YET_VALID;
	if (now > ci->not_after)
		return CERT_EXPIRED;
	return days < min_days ? CERT_EXPIRING : CERT_VALID;
}
