/* occtl's output → every record reader (sessions, cookies, bans, iroutes)
 * and the tolerant JSON reader → status normaliser. One target for all:
 * the readers share their code and their inputs look alike. */
#include <time.h>

#include "ban.h"
#include "cookie.h"
#include "fuzz.h"
#include "iroute.h"
#include "occtl_json.h"
#include "session.h"
#include "status.h"

#define NOW 1700000000

static void lists(const char *text, size_t size)
{
	struct err_info ei;
	struct session_list *sl = NULL;
	struct cookie_list *cl = NULL;
	struct ban_list *bl = NULL;
	struct iroute_list *il = NULL;

	if (session_list_parse_occtl(text, size, NOW, &sl, &ei) == 0) {
		session_list_keep_authenticated(sl);
		session_list_free(sl);
	}
	if (cookie_list_parse_occtl(text, size, &cl, &ei) == 0) {
		for (size_t i = 0; i < cl->n; i++)
			(void)cookie_is_resumable(&cl->v[i], NOW);
		cookie_list_free(cl);
	}
	if (ban_list_parse_occtl(text, size, NOW, &bl, &ei) == 0)
		ban_list_free(bl);
	if (iroute_list_parse_occtl(text, size, &il, &ei) == 0)
		iroute_list_free(il);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[160];
	struct err_info ei;
	json_t *j = occtl_json_load((const char *)data, size, err, sizeof(err)), *st = NULL;

	lists((const char *)data, size);
	if (j != NULL && status_from_occtl(j, &st, &ei) == 0)
		json_decref(st);
	json_decref(j);
	return 0;
}
