/* The server status model: occtl's `show status` normalised to camelCase
 * with numbers as numbers, times as ISO-8601 UTC beside their epoch seconds.
 * Every known field is always present (null when this ocserv version does not
 * print it), so clients see one stable shape. */
#pragma once

#include <jansson.h>

#include "err.h"

/* Normalise occtl's parsed status object. Returns ERR_OCCTL_BAD_JSON when obj
 * is not an object, ERR_NOMEM; on success *ret is a new reference. */
int status_from_occtl(const json_t *obj, json_t **ret, struct err_info *ei);
