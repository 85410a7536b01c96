/* The api side's struct ocserv in privilege-separated mode: every backend
 * operation (ocserv.h) is a priv_call() of the matching PRIV_OCSERV_* op,
 * its result decoded with priv_codec.h. Wrap it with ocserv_new() like any
 * backend: coalescing and the read cache then work on the api side. */
#pragma once

#include "ocserv.h"
#include "priv.h"

/* p must outlive the backend. NULL on ENOMEM. */
struct ocserv *priv_backend_new(struct priv *p);
