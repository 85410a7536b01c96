/* radcli's radiusclient.conf and servers file, and server entries. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "radius.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct radius_info ri;
	char path[64], *entry, *host;
	int port, fd = fuzz_memfd(data, size, path);

	if (fd < 0)
		return 0;
	/* The same bytes as the conf and as the servers file. */
	if (radius_read(path, path, &ri) == 0)
		radius_info_free(&ri);
	close(fd);
	entry = strndup((const char *)data, size);
	if (entry != NULL && radius_split_server(entry, &host, &port) == 0)
		free(host);
	free(entry);
	return 0;
}
