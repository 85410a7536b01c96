/* A per-user/per-group settings file (userconf.h): parse, serialise (must
 * give the input back), read as ocserv would, and apply a PATCH whose keys
 * and values come from the input's first line as JSON. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "userconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *nl = memchr(data, '\n', size);
	struct ocserv_version v;
	struct userconf *f = NULL;
	struct err_info ei;
	json_t *settings = NULL, *issues = NULL, *patch;
	size_t len;
	char why[256], *out;
	bool changed;

	ocserv_version_parse(size && data[0] & 1 ? "1.5.0" : "1.1.6", &v);
	if (userconf_parse(text, size, &f, &ei) < 0)
		return 0;
	out = userconf_serialize(f, &len);
	if (out != NULL && (len != size || memcmp(out, text, size) != 0))
		__builtin_trap(); /* untouched files must round-trip byte for byte */
	free(out);
	if (userconf_to_json(f, &v, &settings, &issues) == 0) {
		json_decref(settings);
		json_decref(issues);
	}
	patch = nl ? json_loadb(text, (size_t)(nl - text), 0, NULL) : NULL;
	if (json_is_object(patch) && userconf_apply(f, patch, size > 1 && data[1] & 1, &v, &changed,
						    why, sizeof(why)) == 0) {
		out = userconf_serialize(f, &len);
		free(out);
	}
	json_decref(patch);
	userconf_free(f);
	return 0;
}
