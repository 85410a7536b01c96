/* occtl's output → the streaming session reader, and the tolerant JSON
 * reader → status normaliser. */
#include <time.h>

#include "fuzz.h"
#include "occtl_json.h"
#include "session.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[160];
	struct err_info ei;
	struct session_list *l = NULL;
	json_t *j = occtl_json_load((const char *)data, size, err, sizeof(err)), *st = NULL;

	if (session_list_parse_occtl((const char *)data, size, 1700000000, &l, &ei) == 0) {
		session_list_keep_authenticated(l);
		session_list_free(l);
	}
	if (j != NULL && status_from_occtl(j, &st, &ei) == 0)
		json_decref(st);
	json_decref(j);
	return 0;
}
