/* The env file parser and every validator behind config_load. */
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config cfg;
	char path[64], err[512];
	int fd = fuzz_memfd(data, size, path);

	if (fd < 0)
		return 0;
	if (config_load(&cfg, path, err, sizeof(err)) == 0)
		config_free(&cfg);
	close(fd);
	return 0;
}
