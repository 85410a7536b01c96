/* json_writer.h: the response writer for session lists. Output is checked
 * byte for byte and re-parsed with jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "json_writer.h"

static void test_document(void **state)
{
	struct json_writer w;
	size_t len;
	char *out;

	(void)state;
	json_writer_init(&w);
	jw_begin_object(&w);
	jw_key(&w, "ok");
	jw_bool(&w, true);
	jw_key(&w, "list");
	jw_begin_array(&w);
	jw_int(&w, -3);
	jw_uint_or_null(&w, -1);
	jw_uint_or_null(&w, 7);
	jw_string(&w, NULL);
	jw_begin_object(&w);
	jw_end_object(&w);
	jw_begin_array(&w);
	jw_end_array(&w);
	jw_end_array(&w);
	jw_key(&w, "no");
	jw_bool(&w, false);
	jw_end_object(&w);
	out = json_writer_finish(&w, &len);
	assert_non_null(out);
	assert_string_equal(out, "{\"ok\":true,\"list\":[-3,null,7,null,{},[]],\"no\":false}");
	assert_int_equal(len, strlen(out));
	free(out);
}

static void test_escaping_round_trips(void **state)
{
	static const char nasty[] = "q\"b\\s/\n\r\t\x01\x1f\x7f J\xc3\xbcrgen \xf0\x9f\x98\x80";
	struct json_writer w;
	json_error_t jerr;
	size_t len;
	char *out;
	json_t *j;

	(void)state;
	json_writer_init(&w);
	jw_begin_array(&w);
	jw_string(&w, nasty);
	jw_end_array(&w);
	out = json_writer_finish(&w, &len);
	assert_non_null(out);
	assert_null(strchr(out, '\n'));
	j = json_loadb(out, len, 0, &jerr);
	if (j == NULL)
		fail_msg("jansson rejects %s: %s", out, jerr.text);
	assert_string_equal(json_string_value(json_array_get(j, 0)), nasty);
	json_decref(j);
	free(out);
}

static void test_unbalanced_is_refused(void **state)
{
	struct json_writer w;
	size_t len = 99;

	(void)state;
	json_writer_init(&w);
	jw_begin_object(&w);
	assert_null(json_writer_finish(&w, &len));
	assert_int_equal(len, 99);

	json_writer_init(&w);
	jw_end_array(&w);
	assert_null(json_writer_finish(&w, &len));
}

static void test_depth_limit(void **state)
{
	struct json_writer w;
	size_t len;

	(void)state;
	json_writer_init(&w);
	for (int i = 0; i < JSON_WRITER_MAX_DEPTH + 1; i++)
		jw_begin_array(&w);
	for (int i = 0; i < JSON_WRITER_MAX_DEPTH + 1; i++)
		jw_end_array(&w);
	assert_null(json_writer_finish(&w, &len));
}

static void test_large_output_grows(void **state)
{
	struct json_writer w;
	size_t len;
	char *out;
	json_t *j;

	(void)state;
	json_writer_init(&w);
	jw_begin_array(&w);
	for (int i = 0; i < 20000; i++)
		jw_string(&w, "0123456789abcdef");
	jw_end_array(&w);
	out = json_writer_finish(&w, &len);
	assert_non_null(out);
	j = json_loadb(out, len, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 20000);
	json_decref(j);
	free(out);
}

static void test_int64_extremes_and_reuse(void **state)
{
	struct json_writer w;
	size_t len;
	char *out;

	(void)state;
	json_writer_init(&w);
	jw_begin_array(&w);
	jw_int(&w, INT64_MIN);
	jw_int(&w, INT64_MAX);
	jw_uint_or_null(&w, 0);
	jw_uint_or_null(&w, INT64_MIN);
	jw_end_array(&w);
	out = json_writer_finish(&w, &len);
	assert_non_null(out);
	assert_string_equal(out, "[-9223372036854775808,9223372036854775807,0,null]");
	free(out);
	/* finish resets the writer: it starts afresh, without a leading comma. */
	jw_begin_object(&w);
	jw_key(&w, "k\"\n");
	jw_string(&w, "v");
	jw_end_object(&w);
	out = json_writer_finish(&w, &len);
	assert_non_null(out);
	assert_string_equal(out, "{\"k\\\"\\u000a\":\"v\"}");
	free(out);
	/* An empty writer has nothing to give. */
	assert_null(json_writer_finish(&w, &len));
	/* A failure is sticky: later balanced calls do not revive it. */
	jw_end_array(&w);
	jw_begin_array(&w);
	jw_end_array(&w);
	assert_null(json_writer_finish(&w, &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_escaping_round_trips),
		cmocka_unit_test(test_unbalanced_is_refused),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_large_output_grows),
		cmocka_unit_test(test_int64_extremes_and_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
