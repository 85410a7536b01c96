/* Growing an array one element at a time, by doubling. */
#pragma once

#include <stddef.h>

/* Make room for element n of the array whose pointer is at pv (a T **,
 * elements of elem bytes, *cap allocated): when n == *cap, double it
 * (first when empty). 0, or ERR_NOMEM with the array and *cap unchanged. */
int array_grow(void *pv, size_t *cap, size_t n, size_t elem, size_t first);
