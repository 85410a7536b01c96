#include "strv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int strv_take(struct strv *sv, char *s)
{
	char **v;

	if (s == NULL || sv->n >= SIZE_MAX / sizeof(char *) - 1)
		goto nomem;
	v = realloc(sv->v, (sv->n + 1) * sizeof(char *));
	if (v == NULL)
		goto nomem;
	sv->v = v;
	sv->v[sv->n++] = s;
	return 0;
nomem:
	free(s);
	return ERR_NOMEM;
}

int strv_add(struct strv *sv, const char *s)
{
	return strv_take(sv, strdup(s));
}

void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

bool strv_equal(const struct strv *a, const struct strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}
