/* What the health check needs from ocserv's server certificate, read with
 * GnuTLS: the validity period of the first certificate of a PEM file (the
 * server's own; a chain follows it) and the pin of its public key in the
 * form openconnect's --servercert accepts. */
#pragma once

#include <stddef.h>
#include <time.h>

#include "err.h"

#define CERT_INFO_MAX_FILE (1024 * 1024) /* bytes of PEM we read at most */
#define CERT_INFO_PIN_LEN  (11 + 44 + 1) /* "pin-sha256:" + base64(32 bytes) + NUL */

struct cert_info {
	time_t not_before, not_after;
	char pin[CERT_INFO_PIN_LEN]; /* "pin-sha256:<base64 of SHA-256 of the SPKI>" */
	char subject[256];	     /* RFC 4514 DN, truncated; "" when GnuTLS gives none */
};

/* Parse the first certificate of len bytes of PEM. Returns ERR_OK and fills
 * *ret, or ERR_BAD_REQUEST when there is no readable certificate, ERR_NOMEM;
 * detail in *ei. *ret is untouched on failure. */
int cert_info_from_pem(const void *pem, size_t len, struct cert_info *ret, struct err_info *ei);

/* The same for a file (at most CERT_INFO_MAX_FILE bytes): ERR_NOT_FOUND when
 * it does not exist, ERR_INTERNAL when it cannot be read. */
int cert_info_read_file(const char *path, struct cert_info *ret, struct err_info *ei);

enum cert_state {
	CERT_VALID,
	CERT_EXPIRING, /* valid, but for fewer than min_days more days */
	CERT_EXPIRED,
	CERT_NOT_YET_VALID,
};

/* Where ci stands at now; *days_left gets whole days until notAfter,
 * rounded down (negative once expired). */
enum cert_state cert_info_state(const struct cert_info *ci, time_t now, int min_days,
				long *days_left);
