#include "auth.h"

#include <string.h>
#include <strings.h>

bool auth_token_equal(const char *presented, size_t presented_len, const char *expected)
{
	size_t elen = strlen(expected);
	unsigned char diff = presented_len != elen;

	for (size_t i = 0; i < elen; i++) {
		unsigned char p = i < presented_len ? (unsigned char)presented[i] : 0;
		diff |= p ^ (unsigned char)expected[i];
	}
	return diff == 0 && elen > 0;
}

bool auth_check(const char *header, const char *current, const char *previous)
{
	const char *tok;
	size_t len;
	bool ok;

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	tok = header + 7;
	while (*tok == ' ')
		tok++;
	len = strlen(tok);
	while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
		len--;
	if (len == 0)
		return false;
	ok = auth_token_equal(tok, len, current);
	if (previous != NULL)
		ok |= auth_token_equal(tok, len, previous);
	return ok;
}

/* Placeholder (issue 7 in progress): token mode only. */
int auth_request(const struct agent_config *cfg, const struct http_request *rq, struct err_info *ei)
{
	if (auth_check(rq->authorization, cfg->token_current, cfg->token_previous))
		return 0;
	return err_set(ei, ERR_UNAUTHORIZED, "missing or invalid bearer token");
}
