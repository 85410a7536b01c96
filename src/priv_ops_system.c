/* Placeholder: the system operations of the privilege boundary (priv_ops.h). */
#include "priv_ops.h"

const struct priv_op_def priv_ops_system[] = {
	{.op = PRIV_OP_NONE},
};
