/* Memory that may have held secrets (passwords and tokens in request
 * bodies) is wiped when freed. */
#pragma once

#include <jansson.h>

/* Make jansson allocate through a wiping allocator: every JSON value and
 * parser buffer is zeroed before it is freed. Call once, before any other
 * thread uses jansson. */
void secmem_init_json(void);

/* json_dumps() into memory of the C library's malloc: the caller frees the
 * text with free(), whichever allocator jansson was given. NULL on
 * failure. */
char *secmem_json_dumps(const json_t *json, size_t flags);
