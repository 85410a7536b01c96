/* readall.h: the bounded whole-file reader behind every file the agent
 * reads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "readall.h"

/* A pipe holding len bytes of 'x' (at most the pipe's buffer). */
static int pipe_of(size_t len)
{
	int p[2];
	char buf[8192];

	assert_int_equal(pipe(p), 0);
	memset(buf, 'x', sizeof(buf));
	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		assert_int_equal(write(p[1], buf, n), (ssize_t)n);
		done += n;
	}
	close(p[1]);
	return p[0];
}

static void check(size_t len, size_t max, size_t hint)
{
	int fd = pipe_of(len);
	char *text = NULL;
	size_t got = 0;
	int r = read_all(fd, max, hint, &text, &got);

	close(fd);
	if (len <= max) {
		assert_int_equal(r, 0);
		assert_int_equal(got, len);
		assert_int_equal(text[got], '\0');
		for (size_t i = 0; i < got; i++)
			assert_int_equal(text[i], 'x');
		free(text);
	} else {
		assert_int_equal(r, -1);
		assert_int_equal(errno, EFBIG);
	}
}

static void test_bounds(void **state)
{
	(void)state;
	check(0, 100, 0);
	check(100, 100, 0);	 /* exactly the limit */
	check(101, 100, 0);	 /* one byte more */
	check(60000, 60000, 10); /* grows past a small hint */
	check(60000, 59999, 60000);
	check(5, 60000, 60000); /* a hint larger than what comes */
	check(40000, 65536, 0);
}

static void test_read_error(void **state)
{
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(read_all(-1, 10, 0, &text, &len), -1);
	assert_int_equal(errno, EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_read_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
