#include "auth.h"

#include <string.h>
#include <strings.h>

#include "tls.h"

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

/* What the certificate of rq amounts to, for auth_request(). */
enum cert_verdict { CERT_NONE, CERT_BAD, CERT_UNLISTED, CERT_OK };

static enum cert_verdict cert_verdict(const struct agent_config *cfg, const struct http_request *rq)
{
	if (!rq->tls || !rq->peer.present)
		return CERT_NONE;
	if (!rq->peer.verified)
		return CERT_BAD;
	return tls_peer_allowed(cfg, &rq->peer) ? CERT_OK : CERT_UNLISTED;
}

static const char *cert_text(enum cert_verdict v)
{
	static const char *const text[] = {"none presented", "not verified",
					   "not in "
					   "AGENT_TLS_CLIENT_ALLOWED",
					   "accepted"};
	return text[v];
}

int auth_request(const struct agent_config *cfg, const struct http_request *rq, struct err_info *ei)
{
	bool tok = cfg->token_current != NULL &&
		   auth_check(rq->authorization, cfg->token_current, cfg->token_previous);
	enum cert_verdict v = cfg->auth_mode == AUTH_MODE_TOKEN ? CERT_NONE : cert_verdict(cfg, rq);
	bool cert = v == CERT_OK, ok;

	switch (cfg->auth_mode) {
	case AUTH_MODE_MTLS:
		ok = cert;
		break;
	case AUTH_MODE_BOTH:
		ok = tok && cert;
		break;
	case AUTH_MODE_EITHER:
		ok = tok || cert;
		break;
	default:
		ok = tok;
		break;
	}
	if (ok)
		return 0;
	/* Forbidden only when the listing is all that stands in the way:
	 * with the certificate allowed the request would have passed. */
	bool forbidden = v == CERT_UNLISTED && (cfg->auth_mode != AUTH_MODE_BOTH || tok);
	return err_set(ei, forbidden ? ERR_FORBIDDEN : ERR_UNAUTHORIZED,
		       "auth_mode=%s token=%s certificate=%s%s%s%s%s",
		       config_auth_mode_name(cfg->auth_mode), tok ? "valid" : "missing or invalid",
		       cert_text(v), rq->peer.cn[0] ? " cn=" : "", rq->peer.cn,
		       rq->peer.problem[0] ? " problem=" : "", rq->peer.problem);
}
