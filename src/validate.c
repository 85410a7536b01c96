#include "validate.h"

#include <string.h>

#include "utf8.h"

const char *validate_username(const char *s)
{
	size_t len = strlen(s);

	if (len == 0)
		return "username must not be empty";
	if (len > USERNAME_MAX)
		return "username is longer than 63 bytes";
	if (s[0] == '-')
		return "username must not start with '-'";
	/* occtl joins its arguments with spaces and trims them: " alice" would
	 * name alice. */
	if (s[0] == ' ' || s[len - 1] == ' ' || strstr(s, "  ") != NULL)
		return "username must not start or end with a space or hold two in a row";
	/* occtl reads a lone "?" as a request for help, not as a name. */
	if (strcmp(s, "?") == 0)
		return "username must not be \"?\"";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "username contains a control character";
	if (!utf8_valid((const unsigned char *)s, len))
		return "username is not valid UTF-8";
	return NULL;
}

bool validate_session_id(int64_t v)
{
	return v > 0 && v <= SESSION_ID_MAX;
}

bool validate_session_id_text(const char *s, int64_t *ret)
{
	int64_t v = 0;
	size_t len = strlen(s);

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (!validate_session_id(v))
		return false;
	*ret = v;
	return true;
}
