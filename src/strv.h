/* A list of owned strings: v[0..n-1], each malloc'd, owned by the list. A
 * zeroed struct strv is an empty list. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct strv {
	char **v;
	size_t n;
};

/* Append a copy of s, byte for byte. ERR_NOMEM (sv unchanged) or 0. */
int strv_add(struct strv *sv, const char *s);

/* Append s itself: the list takes ownership whatever the result, so a
 * caller that has just built s need not copy it again. ERR_NOMEM (s freed,
 * sv unchanged) or 0. */
int strv_take(struct strv *sv, char *s);

/* Whether a and b hold the same strings in the same order. */
bool strv_equal(const struct strv *a, const struct strv *b);

/* Free every string and the array; leaves sv empty. */
void strv_free(struct strv *sv);
