#include "priv_ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const struct priv_op_def *const tables[] = {
	priv_ops_ocserv, priv_ops_accounts, priv_ops_userconf, priv_ops_config, priv_ops_system,
};

const struct priv_op_def *priv_op_def(enum priv_op op)
{
	if (op <= PRIV_OP_NONE || op >= PRIV_OP_MAX)
		return NULL;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct priv_op_def *d = tables[t]; d->op != PRIV_OP_NONE; d++)
			if (d->op == op)
				return d;
	return NULL;
}

bool priv_op_audited(enum priv_op op)
{
	switch (op) {
	case PRIV_OCSERV_DISCONNECT_ID:
	case PRIV_OCSERV_DISCONNECT_USER:
	case PRIV_OCSERV_UNBAN:
	case PRIV_OCSERV_RELOAD:
	case PRIV_OCSERV_TERMINATE_ID:
	case PRIV_OCSERV_TERMINATE_USER:
	case PRIV_OCSERV_TERMINATE_COOKIE:
	case PRIV_ACCOUNTS_PUT:
	case PRIV_ACCOUNTS_PATCH:
	case PRIV_ACCOUNTS_DELETE:
	case PRIV_ACCOUNTS_LOCK:
	case PRIV_ACCOUNTS_IMPORT:
	case PRIV_ACCOUNTS_EXPORT:
	case PRIV_USERCONF_CHANGE:
	case PRIV_USERCONF_DELETE:
	case PRIV_CONFIG_CHANGE:
	case PRIV_SERVICE_ACTION:
		return true;
	default:
		return false;
	}
}

int priv_fail(struct priv_error *pe, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pe->message, sizeof(pe->message), fmt, ap);
	va_end(ap);
	return err;
}

static const char *kind_name(enum priv_arg_kind k)
{
	static const char *const names[] = {"string", "integer", "boolean",
					    "object", "array",	 "string or null"};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static bool shape_ok(const struct priv_arg *a, const json_t *v)
{
	switch (a->kind) {
	case PRIV_ARG_STRING:
		return json_is_string(v);
	case PRIV_ARG_NULLABLE_STRING:
		return json_is_string(v) || json_is_null(v);
	case PRIV_ARG_INT:
		return json_is_integer(v);
	case PRIV_ARG_BOOL:
		return json_is_boolean(v);
	case PRIV_ARG_OBJECT:
		return json_is_object(v);
	case PRIV_ARG_ARRAY:
		return json_is_array(v);
	}
	return false;
}

/* Stage one: the shape our api code always produces. */
static int check_shape(const struct priv_op_def *d, const json_t *args, struct priv_error *pe)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(args))
		return err_set(&pe->ei, ERR_PRIV_PROTOCOL, "%s: arguments are not an object",
			       d->name);
	json_object_foreach((json_t *)args, key, v)
	{
		const struct priv_arg *a = d->args;

		while (a->name != NULL && strcmp(a->name, key) != 0)
			a++;
		if (a->name == NULL)
			return err_set(&pe->ei, ERR_PRIV_PROTOCOL, "%s: unknown argument '%.64s'",
				       d->name, key);
		if (!shape_ok(a, v))
			return err_set(&pe->ei, ERR_PRIV_PROTOCOL, "%s: %s is not a %s", d->name,
				       a->name, kind_name(a->kind));
	}
	for (const struct priv_arg *a = d->args; a->name != NULL; a++)
		if (a->required && json_object_get(args, a->name) == NULL)
			return err_set(&pe->ei, ERR_PRIV_PROTOCOL, "%s: %s is missing", d->name,
				       a->name);
	return 0;
}

/* Stage two: the values, whoever sent them. */
static int check_values(const struct priv_op_def *d, const json_t *args, struct priv_error *pe)
{
	for (const struct priv_arg *a = d->args; a->name != NULL; a++) {
		const json_t *v = json_object_get(args, a->name);
		const char *why = NULL;

		if (v == NULL || json_is_null(v))
			continue;
		switch (a->kind) {
		case PRIV_ARG_STRING:
		case PRIV_ARG_NULLABLE_STRING:
			if (strlen(json_string_value(v)) != json_string_length(v))
				why = "contains a NUL byte";
			else if (json_string_length(v) > (size_t)a->max)
				why = "is too long";
			else if (a->check != NULL)
				why = a->check(json_string_value(v));
			break;
		case PRIV_ARG_INT:
			if (json_integer_value(v) < a->min || json_integer_value(v) > a->max)
				why = "is out of range";
			break;
		case PRIV_ARG_ARRAY:
			if (json_array_size(v) > (size_t)a->max)
				why = "has too many items";
			break;
		default:
			break;
		}
		if (why != NULL) {
			err_set(&pe->ei, ERR_BAD_REQUEST, "%s: %s %s", d->name, a->name, why);
			return priv_fail(pe, ERR_BAD_REQUEST, "%s: %s", a->name, why);
		}
	}
	return 0;
}

int priv_check_args(enum priv_op op, const json_t *args, struct priv_error *pe)
{
	const struct priv_op_def *d = priv_op_def(op);
	int e;

	if (d == NULL)
		return err_set(&pe->ei, ERR_PRIV_PROTOCOL, "unknown operation %d", (int)op);
	if ((e = check_shape(d, args, pe)) < 0 || (e = check_values(d, args, pe)) < 0)
		return e;
	return 0;
}

int priv_dispatch(struct priv_root *r, const char *request_id, enum priv_op op, const json_t *args,
		  json_t **ret, struct priv_error *pe)
{
	const struct priv_op_def *d = priv_op_def(op);
	int e;

	*ret = NULL;
	if ((e = priv_check_args(op, args, pe)) < 0)
		return e;
	e = d->run(r, request_id, args, ret, pe);
	if (e == 0 && *ret == NULL)
		e = err_set(&pe->ei, ERR_NOMEM, "%s: no memory for the result", d->name);
	return e;
}

const char *priv_arg_str(const json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

int64_t priv_arg_int(const json_t *args, const char *name, int64_t absent)
{
	const json_t *v = json_object_get(args, name);

	return json_is_integer(v) ? json_integer_value(v) : absent;
}

bool priv_arg_bool(const json_t *args, const char *name, bool absent)
{
	const json_t *v = json_object_get(args, name);

	return json_is_boolean(v) ? json_is_true(v) : absent;
}

/* ---- one-process mode ---- */

static int local_call(void *impl, const char *request_id, enum priv_op op, json_t *args,
		      json_t **ret, struct priv_error *pe)
{
	int r = priv_dispatch(impl, request_id, op, args, ret, pe);

	json_decref(args);
	/* In one process a shape error is our own bug, not an attack. */
	if (r == ERR_PRIV_PROTOCOL)
		log_msg(LOG_ERR, request_id, "internal call refused: %s", pe->ei.detail);
	return r;
}

static void local_free(void *impl)
{
	(void)impl;
}

static const struct priv_vtable local_vt = {local_call, local_free};

struct priv *priv_local_new(struct priv_root *r)
{
	return priv_new(&local_vt, r);
}
