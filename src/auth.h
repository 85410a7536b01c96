/* Bearer-token authentication. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Compare presented with expected in time that depends only on the length
 * of expected. */
bool auth_token_equal(const char *presented, size_t presented_len, const char *expected);

/* Check an Authorization header value ("Bearer <token>", scheme in any case)
 * against the current and, when not NULL, the previous token. Both are
 * always compared, so timing does not tell which one matched. header may be
 * NULL. */
bool auth_check(const char *header, const char *current, const char *previous);
