/* Unified diffs (diff.h): the input is two texts a and b (split at the
 * first NUL byte, else in the middle). The diff of a to b, applied to a by
 * the small patch program below, must give b byte for byte; equal texts
 * must give "". The patch program is strict: every hunk's line counts,
 * its place in a and in b, and each context and removed line must match. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "fuzz.h"

struct buf {
	const char *p, *end;
};

/* The next line of a text, its '\n' included when it has one. */
static bool take_line(struct buf *t, const char **line, size_t *len)
{
	const char *nl;

	if (t->p == t->end)
		return false;
	nl = memchr(t->p, '\n', (size_t)(t->end - t->p));
	*line = t->p;
	*len = nl ? (size_t)(nl + 1 - t->p) : (size_t)(t->end - t->p);
	t->p += *len;
	return true;
}

/* The next line of the diff, without its '\n' (every line has one). */
static bool diff_line(struct buf *d, const char **line, size_t *len)
{
	const char *nl = d->p < d->end ? memchr(d->p, '\n', (size_t)(d->end - d->p)) : NULL;

	if (nl == NULL)
		return false;
	*line = d->p;
	*len = (size_t)(nl - d->p);
	d->p = nl + 1;
	return true;
}

struct patch {
	struct buf a, diff;
	char *out;
	size_t out_len;
	long a_lines;		      /* in a */
	long a_line, out_line, hunks; /* lines of a consumed, lines written */
};

static void emit(struct patch *p, const char *s, size_t n)
{
	memcpy(p->out + p->out_len, s, n);
	p->out_len += n;
	p->out_line++;
}

/* Copy lines of a to the output until line index `to` of a (LONG_MAX:
 * to its end); false when a ends before, or `to` lies behind. */
static bool copy_until(struct patch *p, long to)
{
	const char *l;
	size_t n;

	if (to < p->a_line)
		return false;
	while (p->a_line < to) {
		if (to == LONG_MAX && p->a.p == p->a.end)
			return true;
		if (!take_line(&p->a, &l, &n))
			return false;
		emit(p, l, n);
		p->a_line++;
	}
	return true;
}

/* "-S,L" or "-S" (L = 1): the hunk's first line index. */
static bool parse_range(const char **s, char sign, long *start, long *count)
{
	char *end;

	if (**s != sign)
		return false;
	*start = strtol(*s + 1, &end, 10);
	*count = 1;
	if (*end == ',')
		*count = strtol(end + 1, &end, 10);
	*s = end;
	return *start >= (*count > 0) && *count >= 0;
}

/* One hunk body line: its kind (' ', '-', '+') and text as it was in the
 * file (with '\n' unless a "\ No newline" marker follows). */
static bool body_line(struct patch *p, char *kind, char *text, size_t *len)
{
	static const char marker[] = "\\ No newline at end of file";
	const char *l;
	size_t n;

	if (!diff_line(&p->diff, &l, &n) || n == 0 || !memchr(" -+", l[0], 3))
		return false;
	*kind = l[0];
	memcpy(text, l + 1, n - 1);
	*len = n - 1;
	if ((size_t)(p->diff.end - p->diff.p) >= sizeof(marker) &&
	    memcmp(p->diff.p, marker, sizeof(marker) - 1) == 0 &&
	    p->diff.p[sizeof(marker) - 1] == '\n')
		p->diff.p += sizeof(marker);
	else
		text[(*len)++] = '\n';
	return true;
}

/* The context diff -u gives a change with avail lines on that side. */
static long min_ctx(long avail)
{
	return avail < DIFF_CONTEXT ? avail : DIFF_CONTEXT;
}

/* Apply one hunk, checking diff -u's shape too: 3 lines of context around
 * (fewer only at a file's ends), changes less than 2 * 3 + 1 context lines
 * apart within a hunk, hunks further apart than that. */
static bool apply_hunk(struct patch *p, const char *hdr, size_t hlen, char *text)
{
	long as, al, bs, bl, start, ctx = 0, lead = -1;
	const char *s = hdr + 3;

	if (hlen < 3 || memcmp(hdr, "@@ ", 3) != 0 || !parse_range(&s, '-', &as, &al) ||
	    *s++ != ' ' || !parse_range(&s, '+', &bs, &bl) || strncmp(s, " @@", 3) != 0 ||
	    s + 3 != hdr + hlen || al + bl == 0)
		return false;
	start = al ? as - 1 : as;
	if ((p->hunks++ > 0 && start <= p->a_line) || !copy_until(p, start) ||
	    p->out_line != (bl ? bs - 1 : bs))
		return false;
	while (al > 0 || bl > 0) {
		const char *l;
		size_t n, tlen;
		char kind;

		if (!body_line(p, &kind, text, &tlen))
			return false;
		if (kind == ' ') {
			ctx++;
		} else {
			if (lead >= 0 && ctx > 2 * DIFF_CONTEXT)
				return false;
			lead = lead < 0 ? ctx : lead;
			ctx = 0;
		}
		if (kind != '+') {
			if (al-- == 0 || !take_line(&p->a, &l, &n) || n != tlen ||
			    memcmp(l, text, n) != 0)
				return false;
			p->a_line++;
		}
		if (kind != '-') {
			if (bl-- == 0)
				return false;
			emit(p, text, tlen);
		}
	}
	return lead == min_ctx(start + lead) && ctx == min_ctx(ctx + p->a_lines - p->a_line);
}

/* Apply diff to a; true when it parses and its result is b. */
static bool patch_gives(const char *a, size_t alen, const char *b, size_t blen, const char *diff,
			size_t dlen)
{
	struct patch p = {.a = {a, a + alen}, .diff = {diff, diff + dlen}};
	char *text = malloc(dlen + 1);
	const char *l;
	size_t n;
	bool ok;

	p.out = malloc(alen + dlen + 1);
	for (struct buf t = p.a; take_line(&t, &l, &n);)
		p.a_lines++;
	ok = text && p.out && diff_line(&p.diff, &l, &n) && n == 5 && memcmp(l, "--- a", 5) == 0 &&
	     diff_line(&p.diff, &l, &n) && n == 5 && memcmp(l, "+++ b", 5) == 0;
	while (ok && diff_line(&p.diff, &l, &n))
		ok = apply_hunk(&p, l, n, text);
	ok = ok && copy_until(&p, LONG_MAX) && p.out_len == blen && memcmp(p.out, b, blen) == 0;
	free(text);
	free(p.out);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *a = (const char *)data, *nul = memchr(data, '\0', size);
	size_t alen = nul ? (size_t)(nul - a) : size / 2;
	const char *b = a + alen + (nul ? 1 : 0);
	size_t blen = size - (size_t)(b - a), len;
	char *diff = diff_unified(a, alen, b, blen, "a", "b", &len);

	if (diff == NULL)
		return 0; /* out of memory */
	if (diff[len] != '\0')
		__builtin_trap();
	if (alen == blen && memcmp(a, b, alen) == 0 ? len != 0
						    : !patch_gives(a, alen, b, blen, diff, len))
		__builtin_trap();
	free(diff);
	return 0;
}
