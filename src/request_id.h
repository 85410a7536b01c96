/* Request ids: unique per request and across restarts, cheap to make. */
#pragma once

#include <stddef.h>

#define REQUEST_ID_LEN 32 /* buffer size including the NUL */

/* Seed the per-process random prefix. Call once at start. Returns 0 or
 * ERR_INTERNAL when the kernel gave no randomness. */
int request_id_init(void);

/* Write a new id ("<8 hex random>-<counter hex>") into buf. Thread-safe. */
void request_id_new(char buf[REQUEST_ID_LEN]);
