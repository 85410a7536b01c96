#include "conf_view.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_edit.h"
#include "conf_schema.h"
#include "diff.h"
#include "ocserv_conf.h"
#include "strbuf.h"

/* ---- ETag ---- */

static unsigned char etag_key[32];
static pthread_once_t etag_once = PTHREAD_ONCE_INIT;

static void etag_key_init(void)
{
	/* Without randomness the key is all zeros: ETags then still detect
	 * every change, they only stop hiding short secrets. */
	if (gnutls_rnd(GNUTLS_RND_KEY, etag_key, sizeof(etag_key)) < 0)
		memset(etag_key, 0, sizeof(etag_key));
}

void conf_etag(const char *text, size_t len, char out[CONF_ETAG_LEN])
{
	unsigned char mac[32];
	static const char hex[] = "0123456789abcdef";

	pthread_once(&etag_once, etag_key_init);
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, etag_key, sizeof(etag_key), text, len, mac) < 0)
		memset(mac, 0, sizeof(mac));
	out[0] = '"';
	for (size_t i = 0; i < 16; i++) {
		out[1 + 2 * i] = hex[mac[i] >> 4];
		out[2 + 2 * i] = hex[mac[i] & 15];
	}
	out[33] = '"';
	out[34] = '\0';
}

/* ---- redaction ---- */

/* Where the line that starts at text+off ends, and its ending's length. */
static size_t line_end(const char *text, size_t len, size_t off, size_t *eol)
{
	const char *nl = memchr(text + off, '\n', len - off);
	size_t end = nl ? (size_t)(nl - text) : len;

	*eol = nl ? 1 : 0;
	if (nl && end > off && text[end - 1] == '\r') {
		end--;
		*eol = 2;
	}
	return end;
}

char *conf_view_redact(const char *text, size_t len, size_t *out_len)
{
	struct conf_edit *e = NULL;
	struct err_info ei;
	struct strbuf b = {0};
	size_t off = 0;

	if (conf_edit_parse(text, len, (size_t)-1, &e, &ei) < 0)
		return NULL;
	for (size_t i = 0; i < conf_edit_count(e) && off < len; i++) {
		const struct conf_line *l = conf_edit_line(e, i);
		size_t eol, end = line_end(text, len, off, &eol);
		bool secret = (l->kind == CONF_LINE_KEY || l->kind == CONF_LINE_CONT) &&
			      conf_schema_is_secret(l->key);

		if (!secret) {
			strbuf_add(&b, text + off, end - off);
		} else if (l->kind == CONF_LINE_KEY) {
			strbuf_str(&b, l->key);
			strbuf_str(&b, " = " CONF_SCHEMA_REDACTED);
		} else {
			strbuf_add(&b, text + off, strspn(text + off, " \t"));
			strbuf_str(&b, CONF_SCHEMA_REDACTED);
		}
		strbuf_add(&b, text + end, eol);
		off = end + eol;
	}
	conf_edit_free(e);
	return strbuf_done(&b, out_len);
}

char *conf_view_diff(const char *a, size_t alen, const char *b, size_t blen, const char *label_a,
		     const char *label_b)
{
	size_t ra_len = 0, rb_len = 0, len;
	char *ra = conf_view_redact(a, alen, &ra_len), *rb = conf_view_redact(b, blen, &rb_len);
	char *d = NULL;

	if (ra != NULL && rb != NULL)
		d = diff_unified(ra, ra_len, rb, rb_len, label_a, label_b, &len);
	free(ra);
	free(rb);
	return d;
}

/* ---- the parsed view ---- */

/* The object of one section: global, or vhosts[NAME] (created). */
static json_t *section_obj(json_t *global, json_t *vhosts, const char *vhost)
{
	json_t *o;

	if (vhost == NULL)
		return global;
	o = json_object_get(vhosts, vhost);
	if (o == NULL && (o = json_object()) != NULL && json_object_set_new(vhosts, vhost, o) < 0)
		return NULL;
	return o;
}

static int add_issue(json_t *issues, const struct ocserv_conf_entry *en, const char *msg)
{
	return json_array_append_new(
		issues, json_pack("{s:I,s:s,s:o,s:s}", "line", (json_int_t)en->line, "key", en->key,
				  "section", en->section ? json_string(en->section) : json_null(),
				  "message", msg));
}

static int mark_redacted(json_t *redacted, const char *key)
{
	size_t i;
	json_t *k;

	json_array_foreach(redacted, i, k) if (strcmp(json_string_value(k), key) == 0) return 0;
	return json_array_append_new(redacted, json_string(key));
}

/* Put one entry's value into its section's object. A key the schema does
 * not know is a string until it occurs again in the section, then an
 * array of all its values. */
static int view_entry(json_t *sec, const struct ocserv_conf_entry *en,
		      const struct conf_schema_key *k, json_t *redacted)
{
	bool secret = k ? k->secret : conf_schema_is_secret(en->key);
	json_t *val, *cur = json_object_get(sec, en->key);
	bool as_array = k ? k->multi : cur != NULL;

	if (secret) {
		val = json_string(CONF_SCHEMA_REDACTED);
		if (mark_redacted(redacted, en->key) < 0)
			return -1;
	} else {
		val = k && !k->multi ? conf_schema_typed(k, en->value) : json_string(en->value);
	}
	if (val == NULL)
		return -1;
	if (!as_array)
		return json_object_set_new(sec, en->key, val); /* the last one wins, as in ocserv */
	if (cur == NULL || !json_is_array(cur)) {
		json_t *a = json_array();
		if (a == NULL || (cur != NULL && json_array_append(a, cur) < 0)) {
			json_decref(a);
			json_decref(val);
			return -1;
		}
		if (json_object_set_new(sec, en->key, a) < 0) { /* a is released */
			json_decref(val);
			return -1;
		}
		cur = a;
	}
	return json_array_append_new(cur, val);
}

static int view_entries(const struct ocserv_conf *c, const struct ocserv_version *v, json_t *global,
			json_t *vhosts, json_t *redacted, json_t *issues)
{
	char why[256];

	for (size_t i = 0; i < ocserv_conf_size(c); i++) {
		const struct ocserv_conf_entry *en = ocserv_conf_at(c, i);
		const struct conf_schema_key *k;
		json_t *sec;

		if (en->section != NULL && en->vhost == NULL) {
			char msg[300];
			snprintf(msg, sizeof(msg), "in section [%.250s], which ocserv skips",
				 en->section);
			if (add_issue(issues, en, msg) < 0)
				return -1;
			continue;
		}
		k = conf_schema_find(en->key, v, why, sizeof(why));
		if (k == NULL && add_issue(issues, en, why) < 0)
			return -1;
		if (k != NULL && k->global_only && en->vhost != NULL &&
		    add_issue(issues, en, "may not be set in a virtual host") < 0)
			return -1;
		sec = section_obj(global, vhosts, en->vhost);
		if (sec == NULL || view_entry(sec, en, k, redacted) < 0)
			return -1;
	}
	return 0;
}

static int bad_line_issues(const char *text, size_t len, json_t *issues)
{
	struct conf_edit *e = NULL;
	struct err_info ei;
	int r = 0;

	if (conf_edit_parse(text, len, (size_t)-1, &e, &ei) < 0)
		return -1;
	for (size_t i = 0; i < conf_edit_count(e) && r == 0; i++) {
		const struct conf_line *l = conf_edit_line(e, i);
		if (l->kind == CONF_LINE_BAD)
			r = json_array_append_new(
				issues,
				json_pack("{s:I,s:s}", "line", (json_int_t)l->number, "message",
					  "no '=' or ':': ocserv cannot read this line"));
	}
	conf_edit_free(e);
	return r;
}

json_t *conf_view_json(const char *path, const char *text, size_t len,
		       const struct ocserv_version *v)
{
	struct ocserv_conf *c = NULL;
	struct err_info ei;
	char etag[CONF_ETAG_LEN];
	json_t *global = json_object(), *vhosts = json_object(), *redacted = json_array(),
	       *issues = json_array(), *o = NULL;

	if (global == NULL || vhosts == NULL || redacted == NULL || issues == NULL ||
	    ocserv_conf_parse(text, len, &c, &ei) < 0 ||
	    view_entries(c, v, global, vhosts, redacted, issues) < 0 ||
	    bad_line_issues(text, len, issues) < 0)
		goto out;
	conf_etag(text, len, etag);
	o = json_pack("{s:s,s:s,s:I,s:o,s:O,s:O,s:O,s:O}", "path", path, "etag", etag, "size",
		      (json_int_t)len, "ocservVersion",
		      v && v->text[0] ? json_string(v->text) : json_null(), "global", global,
		      "vhosts", vhosts, "redacted", redacted, "issues", issues);
out:
	ocserv_conf_free(c);
	json_decref(global);
	json_decref(vhosts);
	json_decref(redacted);
	json_decref(issues);
	return o;
}

json_t *conf_view_raw_json(const char *path, const char *text, size_t len)
{
	char etag[CONF_ETAG_LEN], *red;
	size_t rlen;
	json_t *o;

	red = conf_view_redact(text, len, &rlen);
	if (red == NULL)
		return NULL;
	conf_etag(text, len, etag);
	o = json_pack("{s:s,s:s,s:I,s:s%}", "path", path, "etag", etag, "size", (json_int_t)len,
		      "text", red, rlen);
	free(red);
	return o;
}

/* ---- what differs ---- */

/* "KEY" or "vhost:NAME/KEY" (or "SECTION/KEY") of an entry. */
static void entry_name(const struct ocserv_conf_entry *en, char *buf, size_t len)
{
	if (en->section == NULL)
		snprintf(buf, len, "%s", en->key);
	else
		snprintf(buf, len, "%s/%s", en->section, en->key);
}

/* Whether a and b hold the same values, in order, for the entry's key
 * and section. */
static bool same_values(const struct ocserv_conf *a, const struct ocserv_conf *b,
			const struct ocserv_conf_entry *en)
{
	const struct ocserv_conf_entry *x = NULL, *y = NULL;
	char n1[512], n2[512], want[512];
	size_t i = 0, j = 0;

	entry_name(en, want, sizeof(want));
	for (;;) {
		for (x = NULL; i < ocserv_conf_size(a) && x == NULL; i++) {
			entry_name(ocserv_conf_at(a, i), n1, sizeof(n1));
			if (strcmp(n1, want) == 0)
				x = ocserv_conf_at(a, i);
		}
		for (y = NULL; j < ocserv_conf_size(b) && y == NULL; j++) {
			entry_name(ocserv_conf_at(b, j), n2, sizeof(n2));
			if (strcmp(n2, want) == 0)
				y = ocserv_conf_at(b, j);
		}
		if (x == NULL || y == NULL)
			return x == y;
		if (strcmp(x->value, y->value) != 0)
			return false;
	}
}

static int add_changed(json_t *out, const struct ocserv_conf *a, const struct ocserv_conf *b)
{
	char name[512];
	size_t i;
	json_t *k;

	for (size_t n = 0; n < ocserv_conf_size(a); n++) {
		const struct ocserv_conf_entry *en = ocserv_conf_at(a, n);
		bool seen = false;

		entry_name(en, name, sizeof(name));
		json_array_foreach(out, i, k) seen |= strcmp(json_string_value(k), name) == 0;
		if (!seen && !same_values(a, b, en) &&
		    json_array_append_new(out, json_string(name)))
			return -1;
	}
	return 0;
}

static int cmp_json_str(const void *x, const void *y)
{
	return strcmp(json_string_value(*(json_t *const *)x),
		      json_string_value(*(json_t *const *)y));
}

json_t *conf_view_changed_keys(const char *a, size_t alen, const char *b, size_t blen)
{
	struct ocserv_conf *ca = NULL, *cb = NULL;
	struct err_info ei;
	json_t *out = json_array(), *sorted = NULL;

	if (out == NULL || ocserv_conf_parse(a, alen, &ca, &ei) < 0 ||
	    ocserv_conf_parse(b, blen, &cb, &ei) < 0 || add_changed(out, ca, cb) < 0 ||
	    add_changed(out, cb, ca) < 0)
		goto out;
	{
		size_t n = json_array_size(out);
		json_t **v = calloc(n ? n : 1, sizeof(*v));
		if (v == NULL)
			goto out;
		for (size_t i = 0; i < n; i++)
			v[i] = json_array_get(out, i);
		qsort(v, n, sizeof(*v), cmp_json_str);
		sorted = json_array();
		for (size_t i = 0; sorted && i < n; i++)
			if (json_array_append(sorted, v[i]) < 0) {
				json_decref(sorted);
				sorted = NULL;
			}
		free(v);
	}
out:
	ocserv_conf_free(ca);
	ocserv_conf_free(cb);
	json_decref(out);
	return sorted;
}
