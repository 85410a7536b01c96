/* Placeholder: the config operations of the privilege boundary (priv_ops.h). */
#include "priv_ops.h"

const struct priv_op_def priv_ops_config[] = {
	{.op = PRIV_OP_NONE},
};
