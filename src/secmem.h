/* Memory that may have held secrets (passwords and tokens in request
 * bodies) is wiped when freed. */
#pragma once

/* Make jansson allocate through a wiping allocator: every JSON value and
 * parser buffer is zeroed before it is freed. Call once, before any other
 * thread uses jansson. */
void secmem_init_json(void);
