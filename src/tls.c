/* Placeholder (issue 7 in progress). */
#include "tls.h"

#include <string.h>

int tls_files_load(const struct agent_config *cfg, struct tls_files *f, struct err_info *ei)
{
	memset(f, 0, sizeof(*f));
	if (cfg->tls_cert == NULL)
		return 0;
	return err_set(ei, ERR_NOT_SUPPORTED, "TLS is not implemented yet");
}

void tls_files_material(const struct tls_files *f, struct http_tls_material *m)
{
	memset(m, 0, sizeof(*m));
	(void)f;
}

void tls_files_free(struct tls_files *f)
{
	if (f != NULL)
		memset(f, 0, sizeof(*f));
}

bool tls_peer_allowed(const struct agent_config *cfg, const struct http_peer_cert *peer)
{
	(void)cfg;
	(void)peer;
	return false;
}
