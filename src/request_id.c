#include "request_id.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>

#include "err.h"

static uint32_t prefix;
static atomic_uint_fast64_t counter;

int request_id_init(void)
{
	return getrandom(&prefix, sizeof(prefix), 0) == sizeof(prefix) ? 0 : ERR_INTERNAL;
}

void request_id_new(char buf[REQUEST_ID_LEN])
{
	uint64_t n = atomic_fetch_add(&counter, 1) + 1;

	snprintf(buf, REQUEST_ID_LEN, "%08x-%012llx", prefix, (unsigned long long)n);
}

static _Thread_local char current[REQUEST_ID_LEN];

void request_id_set_current(const char *id)
{
	snprintf(current, sizeof(current), "%s", id ? id : "");
}

const char *request_id_current(void)
{
	return current;
}
