#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

void strbuf_add(struct strbuf *b, const void *s, size_t len)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->failed)
		return;
	if (b->len + len + 1 > b->cap) {
		while (cap < b->len + len + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void strbuf_str(struct strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

char *strbuf_done(struct strbuf *b, size_t *len)
{
	if (b->failed || (b->p == NULL && (b->p = calloc(1, 1)) == NULL)) {
		free(b->p);
		b->p = NULL;
		return NULL;
	}
	*len = b->len;
	return b->p;
}
