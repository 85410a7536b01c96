/* The agent's instance id: a UUID v4 created once and kept in
 * AGENT_STATE_DIR/instance-id so a backend recognises the node across
 * restarts. */
#pragma once

#include <stdbool.h>

#include "err.h"

#define INSTANCE_ID_LEN 37 /* including the NUL */

/* Generate a random UUID v4. Returns 0 or ERR_INTERNAL. */
int instance_uuid_v4(char out[INSTANCE_ID_LEN]);

/* Read the id from state_dir, or create and store a new one (creating
 * state_dir itself when missing). When it cannot be stored, *persisted is
 * false, out still holds a fresh id and ei says why; when an existing file
 * was not a valid id and got replaced, ei says so too (ei->detail is empty
 * otherwise). Returns 0, or ERR_INTERNAL when not even a fresh id could be
 * generated. */
int instance_id_load(const char *state_dir, char out[INSTANCE_ID_LEN], bool *persisted,
		     struct err_info *ei);

/* True if s is a UUID in canonical lower-case 8-4-4-4-12 form. */
bool instance_uuid_valid(const char *s);
