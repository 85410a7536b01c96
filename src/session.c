#include "session.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "json_lex.h"
#include "occtl_json.h"
#include "timefmt.h"

enum fkind {
	F_STR,	    /* string; "(invalid)" (occtl's mark for long strings) is absent */
	F_NAME,	    /* like F_STR, and "(none)" is absent too */
	F_INT,	    /* non-negative integer, as a number or a numeric string */
	F_STRV,	    /* list of strings; a lone string becomes a one-element list */
	F_INTERVAL, /* occtl's compact interval, in seconds */
};

#define S(m) offsetof(struct session, m)
#define K(k) k, sizeof(k) - 1
/* occtl's keys and where they go. Input order decides between duplicates:
 * the last one wins, as occtl means it ("Routes": [] then "Routes": "defaultroute"). */
static const struct field {
	const char *key;
	size_t key_len;
	enum fkind kind;
	size_t off;
} fields[] = {
	{K("ID"), F_INT, S(id)},
	{K("Username"), F_NAME, S(username)},
	{K("Groupname"), F_NAME, S(groupname)},
	{K("State"), F_STR, S(state)},
	{K("vhost"), F_STR, S(vhost)},
	{K("Device"), F_STR, S(device)},
	{K("MTU"), F_INT, S(mtu)},
	{K("Remote IP"), F_STR, S(client_ip)},
	{K("Local Device IP"), F_STR, S(local_device_ip)},
	{K("IPv4"), F_STR, S(vpn_ipv4)},
	{K("P-t-P IPv4"), F_STR, S(p2p_ipv4)},
	{K("IPv6"), F_STR, S(vpn_ipv6)},
	{K("User-Agent"), F_STR, S(user_agent)},
	{K("RX"), F_INT, S(rx_bytes)},
	{K("TX"), F_INT, S(tx_bytes)},
	{K("Average RX"), F_STR, S(avg_rx)},
	{K("Average TX"), F_STR, S(avg_tx)},
	{K("Connected at"), F_STR, S(connected_at)},
	{K("Last connected at"), F_STR, S(connected_at)}, /* 1.5.0's name */
	{K("_Connected at"), F_INTERVAL, S(since_seconds)},
	{K("_Last connected at"), F_INTERVAL, S(since_seconds)},
	{K("raw_connected_at"), F_INT, S(raw_connected_at)},
	{K("Full session"), F_STR, S(full_session)},
	{K("Session"), F_STR, S(session_id)},
	{K("TLS ciphersuite"), F_STR, S(tls_cipher)},
	{K("DTLS cipher"), F_STR, S(dtls_cipher)},
	{K("DNS"), F_STRV, S(dns)},
	{K("Routes"), F_STRV, S(routes)},
};
#undef K
#undef S

static const struct field *field_find(const char *key, size_t len)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].key_len == len && memcmp(fields[i].key, key, len) == 0)
			return &fields[i];
	return NULL;
}

static int set_str(char **dst, const char *s, enum fkind kind)
{
	free(*dst);
	*dst = NULL;
	if (s == NULL || strcmp(s, "(invalid)") == 0 ||
	    (kind == F_NAME && (strcmp(s, "(none)") == 0 || s[0] == '\0')))
		return 0;
	*dst = occtl_json_recover_utf8(s);
	return *dst ? 0 : ERR_NOMEM;
}

static void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static int strv_add(struct strv *sv, const char *s)
{
	char **v = realloc(sv->v, (sv->n + 1) * sizeof(char *));

	if (v == NULL)
		return ERR_NOMEM;
	sv->v = v;
	sv->v[sv->n] = occtl_json_recover_utf8(s);
	return sv->v[sv->n++] ? 0 : ERR_NOMEM;
}

/* A list of strings; a lone string is a list of one. Elements of other
 * types are skipped. */
static int read_strv(struct strv *sv, struct json_lex *lx, enum json_tok tok)
{
	strv_free(sv);
	if (tok == JT_STRING)
		return strv_add(sv, lx->str);
	if (tok != JT_BEGIN_ARRAY)
		return json_lex_skip(lx, tok) ? 0 : ERR_OCCTL_BAD_JSON;
	while ((tok = json_lex_next(lx)) != JT_END_ARRAY) {
		int r = 0;
		if (tok == JT_STRING)
			r = strv_add(sv, lx->str);
		else if (tok != JT_COMMA && !json_lex_skip(lx, tok))
			r = ERR_OCCTL_BAD_JSON;
		if (r < 0)
			return r;
	}
	return 0;
}

/* Read the value of field f, whose first token is tok. A value of an
 * unexpected type makes the field absent. */
static int read_field(struct session *s, const struct field *f, struct json_lex *lx,
		      enum json_tok tok)
{
	void *dst = (char *)s + f->off;
	int64_t *num = dst;

	if (tok == JT_ERROR || tok == JT_EOF)
		return ERR_OCCTL_BAD_JSON;
	switch (f->kind) {
	case F_STR:
	case F_NAME:
		if (set_str(dst, tok == JT_STRING ? lx->str : NULL, f->kind) < 0)
			return ERR_NOMEM;
		break;
	case F_INT:
		*num = tok == JT_INTEGER && lx->num >= 0 ? lx->num
		       : tok == JT_STRING		 ? occtl_json_uint_text(lx->str)
							 : SESSION_ABSENT;
		break;
	case F_INTERVAL:
		*num = tok == JT_STRING ? timefmt_parse_interval(lx->str) : SESSION_ABSENT;
		break;
	case F_STRV:
		return read_strv(dst, lx, tok);
	}
	if (tok == JT_BEGIN_ARRAY || tok == JT_BEGIN_OBJECT)
		return json_lex_skip(lx, tok) ? 0 : ERR_OCCTL_BAD_JSON;
	return 0;
}

static void session_clear(struct session *s)
{
	char **strs[] = {&s->username,	      &s->groupname,  &s->state,      &s->vhost,
			 &s->device,	      &s->client_ip,  &s->vpn_ipv4,   &s->vpn_ipv6,
			 &s->local_device_ip, &s->p2p_ipv4,   &s->user_agent, &s->connected_at,
			 &s->avg_rx,	      &s->avg_tx,     &s->session_id, &s->full_session,
			 &s->tls_cipher,      &s->dtls_cipher};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	strv_free(&s->dns);
	strv_free(&s->routes);
}

static void session_init(struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->id = s->raw_connected_at = s->since_seconds = SESSION_ABSENT;
	s->rx_bytes = s->tx_bytes = s->mtu = SESSION_ABSENT;
}

/* One session object, after its '{'. Stray commas are tolerated (occtl
 * ≤1.3.0 leaves trailing ones). */
static int read_session(struct session *s, struct json_lex *lx, int64_t now)
{
	enum json_tok tok;
	int r;

	session_init(s);
	while ((tok = json_lex_next(lx)) != JT_END_OBJECT) {
		if (tok == JT_COMMA)
			continue;
		if (tok != JT_STRING)
			return ERR_OCCTL_BAD_JSON;
		/* Before the next token overwrites the key in the lexer. */
		const struct field *f = field_find(lx->str, lx->str_len);
		if (json_lex_next(lx) != JT_COLON)
			return ERR_OCCTL_BAD_JSON;
		tok = json_lex_next(lx);
		if (f != NULL)
			r = read_field(s, f, lx, tok);
		else
			r = json_lex_skip(lx, tok) ? 0 : ERR_OCCTL_BAD_JSON;
		if (r < 0)
			return r;
	}
	if (s->id <= 0)
		return ERR_OCCTL_BAD_JSON;
	/* The exact start beats occtl's rounded interval when ocserv gives it. */
	if (s->raw_connected_at != SESSION_ABSENT)
		s->since_seconds = now > s->raw_connected_at ? now - s->raw_connected_at : 0;
	return 0;
}

static int list_grow(struct session_list *l, size_t *cap)
{
	struct session *v;

	if (l->n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 8;
	v = realloc(l->v, *cap * sizeof(*v));
	if (v == NULL)
		return ERR_NOMEM;
	l->v = v;
	return 0;
}

static int read_list(struct session_list *l, struct json_lex *lx, int64_t now)
{
	enum json_tok tok;
	size_t cap = 0;
	int r;

	if (json_lex_next(lx) != JT_BEGIN_ARRAY)
		return ERR_OCCTL_BAD_JSON;
	while ((tok = json_lex_next(lx)) != JT_END_ARRAY) {
		if (tok == JT_COMMA)
			continue;
		if (tok != JT_BEGIN_OBJECT)
			return ERR_OCCTL_BAD_JSON;
		if ((r = list_grow(l, &cap)) < 0)
			return r;
		r = read_session(&l->v[l->n], lx, now);
		if (r < 0) {
			session_clear(&l->v[l->n]);
			return r;
		}
		l->n++;
	}
	return json_lex_next(lx) == JT_EOF ? 0 : ERR_OCCTL_BAD_JSON;
}

int session_list_parse_occtl(const char *text, size_t len, int64_t now, struct session_list **ret,
			     struct err_info *ei)
{
	struct session_list *l = calloc(1, sizeof(*l));
	struct json_lex lx;
	int r;

	if (l == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	json_lex_init(&lx, text, len);
	r = read_list(l, &lx, now);
	if (r == ERR_OCCTL_BAD_JSON)
		err_set(ei, r, "session list: %s at byte %zu",
			lx.err ? lx.err : "unexpected token or session without ID",
			json_lex_offset(&lx, text));
	else if (r < 0)
		err_set(ei, r, "out of memory");
	json_lex_free(&lx);
	if (r < 0) {
		session_list_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

bool session_is_authenticated(const struct session *s)
{
	static const char *pre[] = {"pre-auth", "authenticating", "auth failed"};

	if (s->username == NULL)
		return false;
	for (size_t i = 0; s->state != NULL && i < sizeof(pre) / sizeof(pre[0]); i++)
		if (strcmp(s->state, pre[i]) == 0)
			return false;
	return true;
}

/* Keep authenticated sessions, of username only when it is not NULL. */
static void keep(struct session_list *l, const char *username)
{
	size_t kept = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct session *s = &l->v[i];
		if (session_is_authenticated(s) &&
		    (username == NULL || strcmp(s->username, username) == 0))
			l->v[kept++] = l->v[i];
		else
			session_clear(&l->v[i]);
	}
	l->n = kept;
}

void session_list_keep_authenticated(struct session_list *l)
{
	keep(l, NULL);
}

void session_list_keep_user(struct session_list *l, const char *username)
{
	keep(l, username);
}

void session_list_free(struct session_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		session_clear(&l->v[i]);
	free(l->v);
	free(l);
}
