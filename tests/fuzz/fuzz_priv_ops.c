/* The root side's checks of a call's arguments (priv_ops.h, both stages)
 * for every operation: the first two bytes choose the op (also values out
 * of range), the rest is the payload as the wire decodes it. Nothing runs:
 * priv_check_args() only checks. A refusal must be the kind the contract
 * says: a shape error tells the client nothing, a value error names the
 * member. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "priv_ops.h"
#include "priv_wire.h"
#include "secmem.h"

/* "name: why" with name a member of op's table. */
static bool names_a_member(enum priv_op op, const char *message)
{
	const struct priv_op_def *d = priv_op_def(op);
	const char *colon = strstr(message, ": ");

	if (d == NULL || colon == NULL)
		return false;
	for (const struct priv_arg *a = d->args; a->name != NULL; a++)
		if (strlen(a->name) == (size_t)(colon - message) &&
		    strncmp(a->name, message, (size_t)(colon - message)) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct priv_frame f = {0};
	struct priv_error pe = {0};
	struct err_info ei;
	enum priv_op op;
	int r;

	if (!init) {
		secmem_init_json(); /* jansson's allocator, as in the agent */
		init = true;
	}
	if (size < 2)
		return 0;
	op = (enum priv_op)(int16_t)(data[0] | data[1] << 8);
	if (priv_wire_decode_payload(data + 2, size - 2, &f, &ei) != 0)
		return 0;
	r = priv_check_args(op, f.payload, &pe);
	if (r == ERR_PRIV_PROTOCOL && pe.message[0] != '\0')
		abort();
	if (r == ERR_BAD_REQUEST && !names_a_member(op, pe.message))
		abort();
	if (r != 0 && r != ERR_PRIV_PROTOCOL && r != ERR_BAD_REQUEST)
		abort();
	if (r == 0 && priv_op_def(op) == NULL)
		abort();
	priv_error_clear(&pe);
	priv_frame_clear(&f);
	return 0;
}
