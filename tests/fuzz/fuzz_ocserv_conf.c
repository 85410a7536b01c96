/* ocserv.conf as the health checks (and later the config editor) read it:
 * parsed from memory and from a file, then walked with every look-up. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "ocserv_conf.h"

/* What every parse must hold, whatever the input. */
static void check(const struct ocserv_conf *c)
{
	unsigned last = 0;

	for (size_t i = 0; i < ocserv_conf_size(c); i++) {
		const struct ocserv_conf_entry *e = ocserv_conf_at(c, i);
		if (e->key == NULL || e->value == NULL || e->line < last ||
		    (e->vhost != NULL && (e->section == NULL || strncmp(e->section, "vhost:", 6))))
			abort();
		last = e->line;
		if (ocserv_conf_next(c, e->vhost, e->key, NULL) == NULL && e->section == NULL)
			abort();
		(void)ocserv_conf_count(c, e->key);
		(void)ocserv_conf_bool(e->value, false);
	}
	if (ocserv_conf_at(c, ocserv_conf_size(c)) != NULL)
		abort();
	(void)ocserv_conf_get(c, "server-cert");
	(void)ocserv_conf_get_vhost(c, "x", "server-cert");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocserv_conf *c = NULL;
	struct err_info ei;
	char path[64];
	int fd;

	if (ocserv_conf_parse((const char *)data, size, &c, &ei) == 0) {
		check(c);
		ocserv_conf_free(c);
	}
	fd = fuzz_memfd(data, size, path);
	if (fd < 0)
		return 0;
	c = NULL;
	if (ocserv_conf_load(path, &c, &ei) == 0) {
		check(c);
		ocserv_conf_free(c);
	}
	close(fd);
	return 0;
}
