/* The domain values that cross the privilege boundary as JSON: what the
 * root side's ocserv backend returns (sessions, cookies, iroutes, bans, the
 * version) and the events it forwards. Every member of each struct is
 * carried, so a value decoded on the api side equals the one encoded on
 * the root side (tests check the round trip member by member).
 *
 * Decoding is strict: an unknown member, a member of the wrong JSON type,
 * a string with a NUL, or a list that is not an array of strings makes the
 * whole value ERR_PRIV_PROTOCOL (the root side sent what it never sends).
 * Absent members decode as absent (-1 / NULL / empty).
 *
 * The format: a record is an object whose member names are the struct's
 * (snake_case: "client_ip", "full_session"); an absent value (-1, NULL, an
 * empty list) is left out, never null. Lists of records are arrays; a
 * struct strv is an array of strings. An event's type is "connect",
 * "disconnect" or "resync" and its id is left out while 0.
 *
 * Strings carry arbitrary bytes (ocserv passes on what clients send, and
 * jansson holds only UTF-8): valid UTF-8 is a JSON string, anything else
 * the object {"hex": "<two lowercase hex digits per byte>"}. A decoder
 * accepts either form wherever a string belongs; neither may hold a NUL. */
#pragma once

#include <jansson.h>

#include "ban.h"
#include "cookie.h"
#include "err.h"
#include "events.h"
#include "iroute.h"
#include "ocserv.h"
#include "session.h"

/* Encoders: a new JSON value, or NULL on ENOMEM. */
json_t *priv_codec_sessions(const struct session_list *l);
json_t *priv_codec_cookies(const struct cookie_list *l);
json_t *priv_codec_iroutes(const struct iroute_list *l);
json_t *priv_codec_bans(const struct ban_list *l);
json_t *priv_codec_version(const struct ocserv_version *v);
/* {"source": "ctl"|"hook", "event": {...every member of struct event}} */
json_t *priv_codec_event(enum event_source src, const struct event *ev);

/* Decoders: 0 and a new value the caller frees, or ERR_PRIV_PROTOCOL
 * (reason in ei) / ERR_NOMEM with *ret untouched. */
int priv_decode_sessions(const json_t *j, struct session_list **ret, struct err_info *ei);
int priv_decode_cookies(const json_t *j, struct cookie_list **ret, struct err_info *ei);
int priv_decode_iroutes(const json_t *j, struct iroute_list **ret, struct err_info *ei);
int priv_decode_bans(const json_t *j, struct ban_list **ret, struct err_info *ei);
int priv_decode_version(const json_t *j, struct ocserv_version *ret, struct err_info *ei);
int priv_decode_event(const json_t *j, enum event_source *src, struct event **ret,
		      struct err_info *ei);
