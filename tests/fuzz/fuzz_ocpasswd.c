/* The ocpasswd file parser and its edits, on any bytes:
 *  - parse + serialise gives back the input exactly;
 *  - set / lock / unlock / delete of one user leaves every line of the
 *    other users as it was (the line before an appended one may gain its
 *    "\n"), and a refused edit changes nothing;
 *  - the input as an import text, merged into and replacing a small file,
 *    leaves files that parse back to what was imported. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ocpasswd.h"

#define H6                                                                             \
	"$6$fuzzsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./" \
	"0123456789abcdefghij"

struct lines {
	const char **p;
	size_t *len, n;
};

/* The lines of text whose first ':'-field is not name. */
static void other_lines(const char *text, size_t len, const char *name, struct lines *ret)
{
	size_t nl = strlen(name), i = 0;

	ret->p = malloc((len + 1) * sizeof(*ret->p));
	ret->len = malloc((len + 1) * sizeof(*ret->len));
	ret->n = 0;
	if (ret->p == NULL || ret->len == NULL)
		abort();
	while (i < len) {
		const char *e = memchr(text + i, '\n', len - i);
		size_t end = e ? (size_t)(e - text) + 1 : len;
		if (!(end - i > nl && memcmp(text + i, name, nl) == 0 && text[i + nl] == ':')) {
			ret->p[ret->n] = text + i;
			ret->len[ret->n++] = end - i;
		}
		i = end;
	}
}

static void lines_free(struct lines *l)
{
	free(l->p);
	free(l->len);
}

static void check_others_kept(const char *before, size_t blen, const char *after, size_t alen,
			      const char *name)
{
	struct lines a, b;

	other_lines(before, blen, name, &b);
	other_lines(after, alen, name, &a);
	if (a.n != b.n)
		abort();
	for (size_t i = 0; i < a.n; i++) {
		bool same = a.len[i] == b.len[i] && memcmp(a.p[i], b.p[i], a.len[i]) == 0;
		/* The last line of the input may have been given its newline. */
		bool ended = i == b.n - 1 && a.len[i] == b.len[i] + 1 &&
			     memcmp(a.p[i], b.p[i], b.len[i]) == 0 && a.p[i][b.len[i]] == '\n';
		if (!same && !ended)
			abort();
	}
	lines_free(&a);
	lines_free(&b);
}

static char *serialize_or_die(const struct ocpasswd *f, size_t *len)
{
	char *s = ocpasswd_serialize(f, len);

	if (s == NULL)
		abort();
	return s;
}

/* The user to edit: one of the file's, or a name that is not there. */
static char *pick_name(const struct ocpasswd *f, const uint8_t *data, size_t size)
{
	struct ocpasswd_account a;
	size_t n = ocpasswd_count(f);

	if (n > 0 && size > 0 && data[0] % 4 != 0 && ocpasswd_at(f, data[0] % n, &a))
		return strdup(a.username);
	return strdup("fuzz-user");
}

static void edit_one(const uint8_t *data, size_t size)
{
	struct ocpasswd *f = NULL;
	struct ocpasswd_account a;
	struct strv g = {0};
	unsigned op = size > 1 ? data[1] % 5 : 0;
	size_t len;
	char *name, *out;
	bool was_locked;
	int r;

	if (ocpasswd_parse((const char *)data, size, &f, NULL) != 0)
		abort();
	out = serialize_or_die(f, &len);
	if (len != size || memcmp(out, data, size) != 0)
		abort();
	free(out);

	name = pick_name(f, data, size);
	was_locked = ocpasswd_find(f, name, &a) && a.locked;
	if (strv_add(&g, "staff") != 0)
		abort();
	switch (op) {
	case 0:
		r = ocpasswd_set(f, name, H6, NULL, false, NULL);
		break;
	case 1:
		r = ocpasswd_set(f, name, NULL, &g, false, NULL);
		break;
	case 2:
		r = ocpasswd_lock(f, name, NULL);
		break;
	case 3:
		r = ocpasswd_unlock(f, name, NULL);
		break;
	default:
		r = ocpasswd_delete(f, name);
		break;
	}
	out = serialize_or_die(f, &len);
	if (r != 0 && (len != size || memcmp(out, data, size) != 0))
		abort();
	if (r == 0)
		check_others_kept((const char *)data, size, out, len, name);
	/* What the edit promised, as a fresh parse of the output sees it. */
	ocpasswd_free(f);
	if (ocpasswd_parse(out, len, &f, NULL) != 0)
		abort();
	if (r == 0 && op <= 2 && !ocpasswd_find(f, name, &a))
		abort();
	if (r == 0 && ((op == 0 && a.locked != was_locked) || (op == 2 && !a.locked)))
		abort();
	if (r == 0 && op == 4 && ocpasswd_find(f, name, &a))
		abort();
	ocpasswd_free(f);
	free(out);
	free(name);
	strv_free(&g);
}

static void import_into(const struct ocpasswd *in, bool replace)
{
	static const char file[] = "# kept\nroot:*:" H6 "\nfuzz-user:g1:!" H6 "\nlast:*:" H6;
	struct ocpasswd *f = NULL;
	struct ocpasswd_account a, b;
	size_t len;
	char *out;

	if (ocpasswd_parse(file, sizeof(file) - 1, &f, NULL) != 0)
		abort();
	if (ocpasswd_import(f, in, replace, NULL, NULL) != 0)
		abort();
	out = serialize_or_die(f, &len);
	ocpasswd_free(f);
	if (ocpasswd_parse(out, len, &f, NULL) != 0)
		abort();
	size_t imported = 0;

	/* Accounts of in with names we accept are the imported ones: the
	 * check let every other line through only as a comment. */
	for (size_t i = 0; i < ocpasswd_count(in); i++) {
		if (!ocpasswd_at(in, i, &a) || ocpasswd_check_name(a.username) != NULL)
			continue;
		imported++;
		if (!ocpasswd_find(f, a.username, &b) || b.locked != a.locked ||
		    strcmp(a.scheme, b.scheme) != 0 || a.groups->n != b.groups->n)
			abort();
	}
	if (memcmp(out, "# kept\n", 7) != 0 || (replace && ocpasswd_count(f) != imported))
		abort();
	ocpasswd_free(f);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocpasswd *in = NULL;

	edit_one(data, size);
	if (ocpasswd_parse((const char *)data, size, &in, NULL) != 0)
		abort();
	if (ocpasswd_import_check(in, NULL, NULL) == 0) {
		import_into(in, false);
		import_into(in, true);
	}
	ocpasswd_free(in);
	return 0;
}
