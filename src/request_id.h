/* Request ids: unique per request and across restarts, cheap to make. */
#pragma once

#include <stddef.h>

#define REQUEST_ID_LEN 32 /* buffer size including the NUL */

/* Seed the per-process random prefix. Call once at start. Returns 0 or
 * ERR_INTERNAL when the kernel gave no randomness. */
int request_id_init(void);

/* Write a new id ("<8 hex random>-<counter hex>") into buf. Thread-safe. */
void request_id_new(char buf[REQUEST_ID_LEN]);

/* The id of the request this thread is serving (set by the API router for
 * the handler's duration), so that layers below it that take no request id
 * (the ocserv backend) can still name it across the privilege boundary.
 * "" when none; the pointer is valid until the thread's next set. */
void request_id_set_current(const char *id);
const char *request_id_current(void);
