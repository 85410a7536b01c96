/* Placeholder: the userconf operations of the privilege boundary (priv_ops.h). */
#include "priv_ops.h"

const struct priv_op_def priv_ops_userconf[] = {
	{.op = PRIV_OP_NONE},
};
