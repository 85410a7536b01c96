/* The line-preserving editor (conf_edit.h): parse (must give the input
 * back byte for byte), then set or unset one key in one section, both
 * taken from the input: the first line "key = v1,v2" gives the key and
 * the values (or the file's first key line gives the key), and the last
 * byte's bits pick the section (global, the file's first section, a vhost
 * of ours), set or unset, and whether values are cleaned first. After the
 * edit: the text reads back, in a fresh parse and in ocserv_conf's, as
 * exactly what was set; the key's values in every other section and the
 * lines ocserv cannot read are as they were. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_edit.h"
#include "fuzz.h"
#include "ocserv_conf.h"
#include "strv.h"

#define MAX_VALUES 8

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* The key and values of the first line "key = v1,v2,..." (no '=': no key,
 * the whole line as values). */
static char *first_line(const uint8_t *data, size_t size, bool clean, struct strv *values)
{
	const char *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - (const char *)data) : size;
	char *line = strndup((const char *)data, n), *save = NULL, *tok, *eq, *key = NULL;

	if (line == NULL)
		return NULL;
	eq = strchr(line, '=');
	if (eq != NULL) {
		*eq = '\0';
		key = strdup(ocserv_conf_lskip(ocserv_conf_rstrip(line)));
	}
	for (tok = strtok_r(eq ? eq + 1 : line, ",", &save); tok != NULL && values->n < MAX_VALUES;
	     tok = strtok_r(NULL, ",", &save))
		strv_add(values, clean ? ocserv_conf_unquote(tok) : tok);
	free(line);
	return key;
}

/* The section to edit: NULL, the file's first section, or one of ours. */
static const char *pick_section(const struct conf_edit *e, unsigned how)
{
	if (how == 2)
		return "vhost:fuzz";
	for (size_t i = 0; how == 1 && i < conf_edit_count(e); i++)
		if (conf_edit_line(e, i)->kind == CONF_LINE_SECTION)
			return conf_edit_line(e, i)->section;
	return NULL;
}

static bool same_section(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* For every section but section (the global part included): its name
 * ("" for global), how many values key has there, and the first ones. */
static void others(const struct conf_edit *e, const char *section, const char *key,
		   struct strv *out)
{
	const char *v[MAX_VALUES];
	char count[32];

	for (size_t i = 0; i <= conf_edit_count(e); i++) {
		const struct conf_line *l = i ? conf_edit_line(e, i - 1) : NULL;
		const char *sec = l ? l->section : NULL;
		size_t n;
		if ((l != NULL && l->kind != CONF_LINE_SECTION) || same_section(sec, section))
			continue;
		n = conf_edit_values(e, sec, key, v, MAX_VALUES);
		snprintf(count, sizeof(count), "%zu", n);
		strv_add(out, sec ? sec : "");
		strv_add(out, count);
		for (size_t k = 0; k < n && k < MAX_VALUES; k++)
			strv_add(out, v[k]);
	}
}

static size_t bad_lines(const struct conf_edit *e)
{
	size_t n = 0;

	for (size_t i = 0; i < conf_edit_count(e); i++)
		n += conf_edit_line(e, i)->kind == CONF_LINE_BAD;
	return n;
}

/* What a fresh reader makes of e's text: key's values in section are want. */
static void check_reads_back(const struct conf_edit *e, const char *section, const char *key,
			     const struct strv *want)
{
	const char *v[MAX_VALUES + 1];
	struct conf_edit *g = NULL;
	struct ocserv_conf *c = NULL;
	const struct ocserv_conf_entry *en = NULL;
	struct err_info ei;
	size_t len, n = 0;
	char *text = conf_edit_text(e, &len), *again;

	if (text == NULL || conf_edit_parse(text, len, (size_t)-1, &g, &ei) < 0) {
		free(text);
		return;
	}
	check(conf_edit_values(g, section, key, v, MAX_VALUES + 1) == want->n);
	for (size_t i = 0; i < want->n; i++)
		check(strcmp(v[i], want->v[i]) == 0);
	again = conf_edit_text(g, &n);
	check(again == NULL || (n == len && memcmp(again, text, len) == 0));
	free(again);
	conf_edit_free(g);
	/* ocserv_conf.c, the reader the rest of the agent uses, agrees. */
	if ((section == NULL || strncmp(section, "vhost:", 6) == 0) &&
	    ocserv_conf_parse(text, len, &c, &ei) == 0) {
		const char *vhost = section ? section + 6 : NULL;
		n = 0;
		while ((en = ocserv_conf_next(c, vhost, key, en)) != NULL) {
			check(n < want->n && strcmp(en->value, want->v[n]) == 0);
			n++;
		}
		check(n == want->n);
		ocserv_conf_free(c);
	}
	free(text);
}

static void edit(struct conf_edit *e, const uint8_t *data, size_t size)
{
	const unsigned how = data[size - 1];
	struct strv values = {0}, before = {0}, after = {0};
	struct err_info ei;
	const char *section = pick_section(e, how & 3);
	char *key = first_line(data, size, !(how & 16), &values), *old, *now;
	size_t old_len, len, bad = bad_lines(e);
	bool unset = how & 4, changed = false;
	int r;

	for (size_t i = 0; (how & 8) && i < conf_edit_count(e); i++) {
		if (conf_edit_line(e, i)->kind == CONF_LINE_KEY) {
			free(key);
			key = strdup(conf_edit_line(e, i)->key);
			break;
		}
	}
	section = section ? strdup(section) : NULL; /* lines change under the edit */
	old = conf_edit_text(e, &old_len);
	if (key == NULL || old == NULL)
		goto out;
	others(e, section, key, &before);
	if (unset) {
		r = conf_edit_unset(e, section, key, &changed, &ei);
		strv_free(&values);
	} else {
		r = conf_edit_set(e, section, key, (const char *const *)values.v, values.n,
				  &changed, &ei);
	}
	/* Unchanged means byte for byte; a refusal changes nothing. */
	check(r == 0 || !changed);
	if (!changed && (now = conf_edit_text(e, &len)) != NULL) {
		check(len == old_len && memcmp(now, old, len) == 0);
		free(now);
	}
	if (r == 0) {
		check_reads_back(e, section, key, &values);
		check(bad_lines(e) == bad);
		others(e, section, key, &after);
		check(strv_equal(&before, &after));
		/* Again: nothing to do. */
		if (!unset)
			r = conf_edit_set(e, section, key, (const char *const *)values.v, values.n,
					  &changed, &ei);
		else
			r = conf_edit_unset(e, section, key, &changed, &ei);
		check(r == 0 && !changed);
	}
out:
	strv_free(&before);
	strv_free(&after);
	free(old);
	free((char *)section);
	free(key);
	strv_free(&values);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_edit *e = NULL;
	struct err_info ei;
	size_t len;
	char *out;

	if (conf_edit_parse((const char *)data, size, OCSERV_CONF_MAX, &e, &ei) < 0)
		return 0;
	out = conf_edit_text(e, &len);
	if (out != NULL && (len != size || memcmp(out, data, size) != 0))
		__builtin_trap(); /* untouched files must round-trip byte for byte */
	free(out);
	if (size > 0)
		edit(e, data, size);
	conf_edit_free(e);
	return 0;
}
