#include "diff.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* One line of a text, its '\n' included when it has one (only the last
 * line of a text may lack it). The hash makes most comparisons one integer
 * compare. */
struct line {
	const char *p;
	size_t len;
	uint64_t hash;
};

struct text {
	struct line *l;
	bool *changed; /* per line: removed (in a) or added (in b) */
	ptrdiff_t n;
};

/* The state of one comparison. Coordinates are line indices, x in a and
 * y in b; diagonal k holds the points with x - y = k, and fd/bd hold, per
 * diagonal, the furthest x the forward and the backward search reached
 * (indexed from the lowest possible diagonal, -b.n - 1). */
struct diff_ctx {
	struct text a, b;
	ptrdiff_t *fd, *bd;
	ptrdiff_t max_d; /* steps each search may take */
};

static uint64_t line_hash(const char *p, size_t len)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static bool line_eq(const struct line *x, const struct line *y)
{
	return x->hash == y->hash && x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
}

static ptrdiff_t count_lines(const char *s, size_t len)
{
	const char *end = s + len;
	ptrdiff_t n = 0;

	for (const char *p = s; p < end; n++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	return n;
}

/* Split s into lines; -1 on ENOMEM (t->l and t->changed may be set). */
static int text_split(const char *s, size_t len, struct text *t)
{
	const char *p = s, *end = s + len;

	t->n = count_lines(s, len);
	t->l = calloc((size_t)t->n + 1, sizeof(*t->l));
	t->changed = calloc((size_t)t->n + 1, sizeof(*t->changed));
	if (t->l == NULL || t->changed == NULL)
		return -1;
	for (ptrdiff_t i = 0; i < t->n; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		t->l[i] = (struct line){p, n, line_hash(p, n)};
		p += n;
	}
	return 0;
}

static bool eq(const struct diff_ctx *c, ptrdiff_t x, ptrdiff_t y)
{
	return line_eq(&c->a.l[x], &c->b.l[y]);
}

/* Myers' "middle snake": search from both corners of a[xoff,xlim) x
 * b[yoff,ylim) at once, one more edit per step, until the two frontiers
 * meet on a diagonal; the meeting point lies on a shortest edit path, so
 * the two halves can be compared on their own (linear space, and each half
 * costs at most half the edits). The first and last lines of both ranges
 * differ (the caller trims). Moves to the right (removals) are preferred on
 * ties, so removals print before additions as in diff -u. The x of a
 * diagonal not yet reached is a sentinel beyond the other side's reach.
 * Returns -1 when no meeting point is found within c->max_d steps. */
static int middle_snake(struct diff_ctx *c, ptrdiff_t xoff, ptrdiff_t xlim, ptrdiff_t yoff,
			ptrdiff_t ylim, ptrdiff_t *rx, ptrdiff_t *ry)
{
	ptrdiff_t *fd = c->fd + c->b.n + 1, *bd = c->bd + c->b.n + 1; /* index by diagonal */
	const ptrdiff_t dmin = xoff - ylim, dmax = xlim - yoff;
	const ptrdiff_t fmid = xoff - yoff, bmid = xlim - ylim;
	const bool odd = (fmid - bmid) & 1;
	ptrdiff_t fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;

	fd[fmid] = xoff;
	bd[bmid] = xlim;
	for (ptrdiff_t d = 1; d <= c->max_d; d++) {
		/* Widen the range of diagonals by one each side while inside
		 * the grid, else narrow it to keep the parity of this step. */
		fmin > dmin ? (fd[--fmin - 1] = -1) : ++fmin;
		fmax < dmax ? (fd[++fmax + 1] = -1) : --fmax;
		for (ptrdiff_t k = fmax; k >= fmin; k -= 2) {
			ptrdiff_t x = fd[k - 1] >= fd[k + 1] ? fd[k - 1] + 1 : fd[k + 1];
			ptrdiff_t y = x - k;

			while (x < xlim && y < ylim && eq(c, x, y))
				x++, y++;
			fd[k] = x;
			if (odd && bmin <= k && k <= bmax && bd[k] <= x) {
				*rx = x, *ry = y;
				return 0;
			}
		}
		bmin > dmin ? (bd[--bmin - 1] = PTRDIFF_MAX) : ++bmin;
		bmax < dmax ? (bd[++bmax + 1] = PTRDIFF_MAX) : --bmax;
		for (ptrdiff_t k = bmax; k >= bmin; k -= 2) {
			ptrdiff_t x = bd[k - 1] < bd[k + 1] ? bd[k - 1] : bd[k + 1] - 1;
			ptrdiff_t y = x - k;

			while (x > xoff && y > yoff && eq(c, x - 1, y - 1))
				x--, y--;
			bd[k] = x;
			if (!odd && fmin <= k && k <= fmax && x <= fd[k]) {
				*rx = x, *ry = y;
				return 0;
			}
		}
	}
	return -1;
}

static void mark(struct text *t, ptrdiff_t from, ptrdiff_t to)
{
	for (ptrdiff_t i = from; i < to; i++)
		t->changed[i] = true;
}

/* Mark the lines of a[xoff,xlim) and b[yoff,ylim) that a shortest edit
 * script removes or adds. Recursion depth is about log2 of the edits, as
 * each half of a split costs at most half. A split that is not strictly
 * inside the range (cannot happen with a correct search, but would loop
 * forever) or a search over budget marks the whole range changed: still a
 * correct diff. */
static void compare(struct diff_ctx *c, ptrdiff_t xoff, ptrdiff_t xlim, ptrdiff_t yoff,
		    ptrdiff_t ylim)
{
	ptrdiff_t x, y;

	while (xoff < xlim && yoff < ylim && eq(c, xoff, yoff))
		xoff++, yoff++;
	while (xoff < xlim && yoff < ylim && eq(c, xlim - 1, ylim - 1))
		xlim--, ylim--;
	if (xoff == xlim || yoff == ylim || middle_snake(c, xoff, xlim, yoff, ylim, &x, &y) < 0 ||
	    (x == xoff && y == yoff) || (x == xlim && y == ylim) || x < xoff || x > xlim ||
	    y < yoff || y > ylim) {
		mark(&c->a, xoff, xlim);
		mark(&c->b, yoff, ylim);
		return;
	}
	compare(c, xoff, x, yoff, y);
	compare(c, x, xlim, y, ylim);
}

/* A run of changed lines [s, e) of one text while it slides; u counts the
 * unchanged lines before it. */
struct run {
	ptrdiff_t s, e, u;
};

/* Move the run one line up (it must fit: the line before it equals its
 * last), then take in a run it now touches. */
static void run_up(struct text *t, struct run *r)
{
	t->changed[--r->s] = true;
	t->changed[--r->e] = false;
	r->u--;
	while (r->s > 0 && t->changed[r->s - 1])
		r->s--;
}

static void run_down(struct text *t, struct run *r)
{
	t->changed[r->s++] = false;
	t->changed[r->e++] = true;
	r->u++;
	while (r->e < t->n && t->changed[r->e])
		r->e++;
}

static bool can_up(const struct text *t, const struct run *r)
{
	return r->s > 0 && line_eq(&t->l[r->s - 1], &t->l[r->e - 1]);
}

static bool can_down(const struct text *t, const struct run *r)
{
	return r->e < t->n && line_eq(&t->l[r->s], &t->l[r->e]);
}

/* gap[u]: whether t has changed lines between its unchanged lines u - 1
 * and u (u from 0 to the number of unchanged lines); malloc'd, NULL on
 * ENOMEM. */
static bool *text_gaps(const struct text *t)
{
	bool *gap = calloc((size_t)t->n + 2, sizeof(*gap));
	ptrdiff_t u = 0;

	if (gap == NULL)
		return NULL;
	for (ptrdiff_t i = 0; i < t->n; i++) {
		if (t->changed[i])
			gap[u] = true;
		else
			u++;
	}
	return gap;
}

/* A run of equal lines removed or added could be shown at several places;
 * choose diff -u's: slide each run of changed lines of t up, then down as
 * far as equal lines allow, taking in the runs it meets (again until it
 * stops growing), then back up to the lowest place where it sits beside a
 * change of the other text (gap, from text_gaps()) so that the two print
 * as one change, else stay lowest (an inserted paragraph then shows its
 * blank line last). The unchanged lines keep their order and content, so
 * the script stays correct and as short. */
static void slide(struct text *t, const bool *gap)
{
	struct run r = {0, 0, 0};

	for (;;) {
		ptrdiff_t len, beside;

		while (r.s < t->n && !t->changed[r.s])
			r.s++, r.u++;
		if (r.s == t->n)
			return;
		for (r.e = r.s; r.e < t->n && t->changed[r.e];)
			r.e++;
		do {
			len = r.e - r.s;
			while (can_up(t, &r))
				run_up(t, &r);
			beside = gap[r.u] ? r.e : -1;
			while (can_down(t, &r)) {
				run_down(t, &r);
				beside = gap[r.u] ? r.e : beside;
			}
		} while (r.e - r.s != len);
		while (beside >= 0 && r.e > beside)
			run_up(t, &r);
		r.s = r.e;
	}
}

static bool slide_both(struct diff_ctx *c)
{
	bool *gap = text_gaps(&c->b);

	if (gap == NULL)
		return false;
	slide(&c->a, gap);
	free(gap);
	gap = text_gaps(&c->a);
	if (gap == NULL)
		return false;
	slide(&c->b, gap);
	free(gap);
	return true;
}

static void put(struct strbuf *o, const char *p, size_t len)
{
	strbuf_add(o, p, len);
}

static void put_line(struct strbuf *o, char prefix, const struct line *l)
{
	static const char no_nl[] = "\n\\ No newline at end of file\n";

	put(o, &prefix, 1);
	put(o, l->p, l->len);
	if (l->len == 0 || l->p[l->len - 1] != '\n')
		put(o, no_nl, sizeof(no_nl) - 1);
}

/* diff -u's range: "START,COUNT", "START" alone for one line, and for no
 * line the number of the line before the empty range. */
static void put_range(struct strbuf *o, char sign, ptrdiff_t start, ptrdiff_t count)
{
	char buf[64];

	if (count == 1)
		snprintf(buf, sizeof(buf), "%c%td", sign, start + 1);
	else
		snprintf(buf, sizeof(buf), "%c%td,%td", sign, count ? start + 1 : start, count);
	put(o, buf, strlen(buf));
}

/* From the first change of a hunk at (*i, *j), move past every change
 * whose context touches the previous one's, then past the trailing context:
 * *i and *j end at the hunk's end. */
static void hunk_end(const struct text *a, const struct text *b, ptrdiff_t *i, ptrdiff_t *j)
{
	for (;;) {
		ptrdiff_t g = 0;

		while (*i < a->n && a->changed[*i])
			(*i)++;
		while (*j < b->n && b->changed[*j])
			(*j)++;
		while (*i + g < a->n && *j + g < b->n && !a->changed[*i + g] && !b->changed[*j + g])
			g++;
		if ((*i + g == a->n && *j + g == b->n) || g > 2 * DIFF_CONTEXT) {
			g = g < DIFF_CONTEXT ? g : DIFF_CONTEXT;
			*i += g;
			*j += g;
			return;
		}
		*i += g;
		*j += g;
	}
}

/* Print the hunk a[i,ie) b[j,je): unchanged lines as context, and at each
 * change its removed lines, then its added ones. */
static void put_hunk(struct strbuf *o, const struct text *a, const struct text *b, ptrdiff_t i,
		     ptrdiff_t ie, ptrdiff_t j, ptrdiff_t je)
{
	put(o, "@@ ", 3);
	put_range(o, '-', i, ie - i);
	put(o, " ", 1);
	put_range(o, '+', j, je - j);
	put(o, " @@\n", 4);
	while (i < ie || j < je) {
		if ((i < ie && a->changed[i]) || (j < je && b->changed[j])) {
			while (i < ie && a->changed[i])
				put_line(o, '-', &a->l[i++]);
			while (j < je && b->changed[j])
				put_line(o, '+', &b->l[j++]);
		} else {
			put_line(o, ' ', &a->l[i++]);
			j++;
		}
	}
}

static void put_hunks(struct strbuf *o, const struct text *a, const struct text *b)
{
	ptrdiff_t i = 0, j = 0;

	for (;;) {
		ptrdiff_t ctx, ie, je;

		while (i < a->n && j < b->n && !a->changed[i] && !b->changed[j])
			i++, j++;
		if (i == a->n && j == b->n)
			return;
		ctx = i < DIFF_CONTEXT ? i : DIFF_CONTEXT;
		ie = i, je = j;
		hunk_end(a, b, &ie, &je);
		put_hunk(o, a, b, i - ctx, ie, j - ctx, je);
		i = ie, j = je;
	}
}

static void text_free(struct text *t)
{
	free(t->l);
	free(t->changed);
}

/* Mark the changed lines of c->a and c->b; false on ENOMEM. */
static bool diff_lines(struct diff_ctx *c)
{
	size_t diagonals = (size_t)c->a.n + (size_t)c->b.n + 3;

	c->fd = malloc(diagonals * sizeof(*c->fd));
	c->bd = malloc(diagonals * sizeof(*c->bd));
	if (c->fd == NULL || c->bd == NULL)
		return false;
	compare(c, 0, c->a.n, 0, c->b.n);
	return slide_both(c);
}

static void put_diff(struct strbuf *o, const struct diff_ctx *c, const char *label_a,
		     const char *label_b)
{
	put(o, "--- ", 4);
	put(o, label_a, strlen(label_a));
	put(o, "\n+++ ", 5);
	put(o, label_b, strlen(label_b));
	put(o, "\n", 1);
	put_hunks(o, &c->a, &c->b);
}

char *diff_unified(const char *a, size_t alen, const char *b, size_t blen, const char *label_a,
		   const char *label_b, size_t *len)
{
	struct diff_ctx c = {.max_d = (DIFF_MAX_EDITS + 1) / 2};
	struct strbuf o = {0};
	bool ok =
		text_split(a, alen, &c.a) == 0 && text_split(b, blen, &c.b) == 0 && diff_lines(&c);

	if (ok && (alen != blen || (alen > 0 && memcmp(a, b, alen) != 0)))
		put_diff(&o, &c, label_a, label_b);
	free(c.fd);
	free(c.bd);
	text_free(&c.a);
	text_free(&c.b);
	if (!ok) {
		free(o.p);
		return NULL;
	}
	return strbuf_done(&o, len); /* "" when equal */
}
