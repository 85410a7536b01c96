/* Placeholder: the ocserv operations of the privilege boundary (priv_ops.h). */
#include "priv_ops.h"

const struct priv_op_def priv_ops_ocserv[] = {
	{.op = PRIV_OP_NONE},
};
