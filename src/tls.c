#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readall.h"

#define TLS_FILE_MAX (1u << 20)

/* Free a buffer that may hold key material. */
static void wipe_free(char *p, size_t len)
{
	if (p != NULL)
		explicit_bzero(p, len);
	free(p);
}

/* A key others could read is given away; one its group can write can be
 * swapped for the attacker's. */
static int check_key_mode(const char *var, const char *path, mode_t mode, struct err_info *ei)
{
	if ((mode & 0007) != 0 || (mode & 0020) != 0)
		return err_set(ei, ERR_BAD_REQUEST,
			       "%s %s has mode %04o: a private key must not be accessible by "
			       "others nor writable by its group (chmod 0600 or 0640)",
			       var, path, (unsigned)(mode & 07777));
	return 0;
}

/* Read one of the files: a regular file of at most TLS_FILE_MAX bytes. */
static int read_tls_file(const char *var, const char *path, bool is_key, char **ret,
			 size_t *ret_len, struct err_info *ei)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int r = 0;

	if (fd < 0)
		return err_set(ei, ERR_BAD_REQUEST, "%s %s: cannot open: %s", var, path,
			       strerror(errno));
	if (fstat(fd, &st) < 0)
		r = err_set(ei, ERR_BAD_REQUEST, "%s %s: %s", var, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		r = err_set(ei, ERR_BAD_REQUEST, "%s %s is not a regular file", var, path);
	else if (st.st_size > (off_t)TLS_FILE_MAX)
		r = err_set(ei, ERR_BAD_REQUEST, "%s %s is larger than 1 MiB", var, path);
	else if (is_key)
		r = check_key_mode(var, path, st.st_mode, ei);
	if (r == 0 && read_all(fd, TLS_FILE_MAX, (size_t)st.st_size, ret, ret_len) < 0)
		r = err_set(ei, ERR_BAD_REQUEST, "%s %s: cannot read: %s", var, path,
			    strerror(errno));
	close(fd);
	return r;
}

/* The number of certificates in a PEM text (0 when it holds none or does
 * not parse); what went wrong in *gerr. */
static unsigned count_certs(const char *pem, size_t len, int *gerr)
{
	gnutls_datum_t d = {.data = (unsigned char *)pem, .size = (unsigned)len};
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;

	*gerr = gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (*gerr < 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return n;
}

static int check_key(const struct agent_config *cfg, const struct tls_files *f, struct err_info *ei)
{
	gnutls_datum_t d = {.data = (unsigned char *)f->key, .size = (unsigned)f->key_len};
	gnutls_x509_privkey_t k;
	int g;

	if (gnutls_x509_privkey_init(&k) < 0)
		return err_set(ei, ERR_NOMEM, "out of memory");
	g = gnutls_x509_privkey_import2(k, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_x509_privkey_deinit(k);
	if (g < 0)
		return err_set(ei, ERR_BAD_REQUEST,
			       "AGENT_TLS_KEY %s: not an unencrypted PEM private key: %s",
			       cfg->tls_key, gnutls_strerror(g));
	return 0;
}

/* Load the pair into a scratch credential: GnuTLS checks that the key
 * belongs to the (first) certificate. */
static int check_pair(const struct agent_config *cfg, const struct tls_files *f,
		      struct err_info *ei)
{
	struct http_tls_material m;
	struct err_info why = {{0}};
	int r;

	tls_files_material(f, &m);
	if ((r = http_tls_check_pair(&m, &why)) < 0)
		return err_set(ei, r, "AGENT_TLS_CERT %s and AGENT_TLS_KEY %s: %s", cfg->tls_cert,
			       cfg->tls_key, why.detail);
	return 0;
}

static int check_files(const struct agent_config *cfg, const struct tls_files *f,
		       struct err_info *ei)
{
	int g, r;

	if (count_certs(f->cert, f->cert_len, &g) == 0)
		return err_set(ei, ERR_BAD_REQUEST, "AGENT_TLS_CERT %s: no PEM certificate: %s",
			       cfg->tls_cert, g < 0 ? gnutls_strerror(g) : "empty");
	if ((r = check_key(cfg, f, ei)) < 0 || (r = check_pair(cfg, f, ei)) < 0)
		return r;
	if (f->client_ca != NULL && count_certs(f->client_ca, f->client_ca_len, &g) == 0)
		return err_set(ei, ERR_BAD_REQUEST,
			       "AGENT_TLS_CLIENT_CA %s: no PEM certificate: %s", cfg->tls_client_ca,
			       g < 0 ? gnutls_strerror(g) : "empty");
	return 0;
}

int tls_files_load(const struct agent_config *cfg, struct tls_files *f, struct err_info *ei)
{
	int r;

	memset(f, 0, sizeof(*f));
	if (cfg->tls_cert == NULL)
		return 0;
	r = read_tls_file("AGENT_TLS_CERT", cfg->tls_cert, false, &f->cert, &f->cert_len, ei);
	if (r == 0)
		r = read_tls_file("AGENT_TLS_KEY", cfg->tls_key, true, &f->key, &f->key_len, ei);
	if (r == 0 && cfg->tls_client_ca != NULL)
		r = read_tls_file("AGENT_TLS_CLIENT_CA", cfg->tls_client_ca, false, &f->client_ca,
				  &f->client_ca_len, ei);
	if (r == 0)
		r = check_files(cfg, f, ei);
	/* In token mode certificates are not asked for (config.h): the CA file
	 * is checked, so that a broken one is noticed, but not handed on. */
	if (r == 0 && cfg->auth_mode == AUTH_MODE_TOKEN && f->client_ca != NULL) {
		free(f->client_ca);
		f->client_ca = NULL;
		f->client_ca_len = 0;
	}
	if (r < 0)
		tls_files_free(f);
	return r;
}

void tls_files_material(const struct tls_files *f, struct http_tls_material *m)
{
	memset(m, 0, sizeof(*m));
	m->cert = f->cert;
	m->cert_len = f->cert_len;
	m->key = f->key;
	m->key_len = f->key_len;
	m->client_ca = f->client_ca;
	m->client_ca_len = f->client_ca_len;
}

void tls_files_free(struct tls_files *f)
{
	if (f == NULL)
		return;
	free(f->cert);
	wipe_free(f->key, f->key_len);
	free(f->client_ca);
	memset(f, 0, sizeof(*f));
}

bool tls_peer_allowed(const struct agent_config *cfg, const struct http_peer_cert *peer)
{
	if (!peer->present || !peer->verified)
		return false;
	if (cfg->tls_client_allowed.n == 0)
		return true;
	for (size_t i = 0; i < cfg->tls_client_allowed.n; i++) {
		const char *e = cfg->tls_client_allowed.v[i];

		/* Entries are normalised by config.c: pins are "sha256:" and
		 * lowercase hex; anything else is a CN, compared exactly. */
		if (strncmp(e, "sha256:", 7) == 0 ? strcmp(e, peer->pin) == 0
						  : peer->cn[0] != '\0' && strcmp(e, peer->cn) == 0)
			return true;
	}
	return false;
}
