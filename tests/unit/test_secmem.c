/* secmem.h: jansson through the wiping allocator still works (sizes,
 * alignment, reallocation inside the parser), under ASan in CI. */
#include <jansson.h>
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "secmem.h"
#include "unit.h"

static void test_json_round_trip(void **state)
{
	json_error_t jerr;
	json_t *a, *b;
	void (*jfree)(void *);
	char *text, big[70000];

	(void)state;
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a = json_pack("{s:s,s:[i,f,b],s:s}", "password", "S3cret", "list", 1, 2.5, 1, "big", big);
	assert_non_null(a);
	text = json_dumps(a, JSON_COMPACT);
	assert_non_null(text);
	b = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(b);
	assert_true(json_equal(a, b));
	assert_string_equal(json_string_value(json_object_get(b, "password")), "S3cret");
	/* The allocator's blocks are aligned for any type. */
	assert_int_equal((uintptr_t)text % alignof(max_align_t), 0);
	/* json_dumps allocates with jansson's functions: free with them. */
	json_get_alloc_funcs(NULL, &jfree);
	jfree(text);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip),
	};

	secmem_init_json();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
