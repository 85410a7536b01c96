#include "array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int array_grow(void *pv, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t want = *cap ? *cap * 2 : first;
	void *old, *p;

	if (n < *cap)
		return 0;
	if (want < *cap || want > SIZE_MAX / elem)
		return ERR_NOMEM;
	memcpy(&old, pv, sizeof(old));
	if ((p = realloc(old, want * elem)) == NULL)
		return ERR_NOMEM;
	memcpy(pv, &p, sizeof(p));
	*cap = want;
	return 0;
}
