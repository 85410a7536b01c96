#include "secmem.h"

#include <jansson.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The size sits before the block, keeping the block maximally aligned. */
#define HEADER alignof(max_align_t)

static void *wipe_malloc(size_t size)
{
	unsigned char *p;

	if (size > SIZE_MAX - HEADER || (p = malloc(size + HEADER)) == NULL)
		return NULL;
	memcpy(p, &size, sizeof(size));
	return p + HEADER;
}

static void wipe_free(void *ptr)
{
	unsigned char *p;
	size_t size;

	if (ptr == NULL)
		return;
	p = (unsigned char *)ptr - HEADER;
	memcpy(&size, p, sizeof(size));
	explicit_bzero(ptr, size);
	free(p);
}

void secmem_init_json(void)
{
	json_set_alloc_funcs(wipe_malloc, wipe_free);
}

char *secmem_json_dumps(const json_t *json, size_t flags)
{
	void (*jfree)(void *);
	char *text = json_dumps(json, flags), *copy;

	if (text == NULL)
		return NULL;
	copy = strdup(text);
	json_get_alloc_funcs(NULL, &jfree);
	jfree(text);
	return copy;
}
