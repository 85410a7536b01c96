#include "priv.h"

#include <stdlib.h>
#include <string.h>

#include "priv_ops.h"
#include "request_id.h"

struct priv {
	const struct priv_vtable *vt;
	void *impl;
};

struct priv *priv_new(const struct priv_vtable *vt, void *impl)
{
	struct priv *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		vt->free(impl);
		return NULL;
	}
	p->vt = vt;
	p->impl = impl;
	return p;
}

void priv_free(struct priv *p)
{
	if (p == NULL)
		return;
	p->vt->free(p->impl);
	free(p);
}

int priv_call(struct priv *p, const char *request_id, enum priv_op op, json_t *args, json_t **ret,
	      struct priv_error *pe)
{
	memset(pe, 0, sizeof(*pe));
	*ret = NULL;
	if (args == NULL)
		return err_set(&pe->ei, ERR_NOMEM, "%s: no memory for the arguments",
			       priv_op_name(op) ? priv_op_name(op) : "?");
	if (request_id == NULL)
		request_id = request_id_current();
	return p->vt->call(p->impl, request_id, op, args, ret, pe);
}

const char *priv_op_name(enum priv_op op)
{
	const struct priv_op_def *d = priv_op_def(op);

	return d ? d->name : NULL;
}

void priv_error_clear(struct priv_error *pe)
{
	json_decref(pe->extra);
	pe->extra = NULL;
}
