/* conf_schema_render on arbitrary JSON for a key: input = one byte (ocserv
 * version and vhost or not), the key's name, '\n', the JSON value. A name
 * that is no key picks one by the input's second byte. The rendered text
 * must be what the file can hold and read back as given. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf_schema.h"
#include "fuzz.h"

static const char *const versions[] = {"", "1.1.6", "1.3.0", "1.5.0"};

/* The name of the key number i of version v's schema (NULL past the end). */
static const char *nth_key(const struct ocserv_version *v, size_t i, json_t **schema)
{
	json_t *keys;

	*schema = conf_schema_json(v);
	keys = json_object_get(*schema, "keys");
	if (json_array_size(keys) == 0)
		return NULL;
	return json_string_value(
		json_object_get(json_array_get(keys, i % json_array_size(keys)), "name"));
}

static void check_value(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > CONF_SCHEMA_VALUE_MAX || strpbrk(s, "\n\r") != NULL)
		__builtin_trap();
	if (isspace((unsigned char)s[0]) || s[0] == '"' || isspace((unsigned char)s[len - 1]) ||
	    s[len - 1] == '"' || s[0] == '#' || strstr(s, " #") != NULL)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char name[64], why[256], *values[CONF_SCHEMA_VALUES_MAX];
	const struct conf_schema_key *k;
	struct ocserv_version v = {0};
	json_t *value, *problems, *schema = NULL;
	size_t n = 0, nlen = nl ? (size_t)(nl - data) - 1 : 0;
	int r;

	if (nl == NULL || nl == data || nlen >= sizeof(name))
		return 0;
	if (versions[data[0] & 3][0] != '\0')
		ocserv_version_parse(versions[data[0] & 3], &v);
	memcpy(name, data + 1, nlen);
	name[nlen] = '\0';
	k = conf_schema_find(name, &v, why, sizeof(why));
	(void)conf_schema_is_secret(name);
	if (k == NULL) {
		const char *other = nth_key(&v, size > 1 ? data[1] : 0, &schema);
		k = other ? conf_schema_find(other, &v, why, sizeof(why)) : NULL;
	}
	value = json_loadb((const char *)nl + 1, size - nlen - 2, JSON_DECODE_ANY | JSON_ALLOW_NUL,
			   NULL);
	problems = json_array();
	if (k != NULL && problems != NULL) {
		r = conf_schema_render(k, data[0] & 4 ? "v.example" : NULL, value, values, &n,
				       problems);
		if (r == 0 && (n == 0 || n > CONF_SCHEMA_VALUES_MAX))
			__builtin_trap();
		if (r == 1 && (n != 0 || json_array_size(problems) == 0))
			__builtin_trap();
		for (size_t i = 0; i < n; i++) {
			json_t *typed = conf_schema_typed(k, values[i]);
			check_value(values[i]);
			json_decref(typed);
			free(values[i]);
		}
	}
	json_decref(problems);
	json_decref(value);
	json_decref(schema);
	return 0;
}
