#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf_edit.h"
#include "ocserv_conf.h"
#include "strv.h"
#include "unit.h"

static struct conf_edit *ed;

static int teardown(void **state)
{
	(void)state;
	conf_edit_free(ed);
	ed = NULL;
	return 0;
}

static void parse_n(const char *text, size_t len)
{
	struct err_info ei;

	conf_edit_free(ed);
	ed = NULL;
	assert_int_equal(conf_edit_parse(text, len, OCSERV_CONF_MAX, &ed, &ei), 0);
}

static void parse(const char *text)
{
	parse_n(text, strlen(text));
}

static void assert_text_n(const char *want, size_t want_len)
{
	size_t len = 0;
	char *got = conf_edit_text(ed, &len);

	assert_non_null(got);
	if (len != want_len || memcmp(got, want, len) != 0)
		fail_msg("text:\n--- got (%zu) ---\n%s\n--- want (%zu) ---\n%s", len, got, want_len,
			 want);
	assert_int_equal(got[len], '\0');
	free(got);
}

static void assert_text(const char *want)
{
	assert_text_n(want, strlen(want));
}

/* conf_edit_set() with values from a NULL-ended list. */
static int set(const char *section, const char *key, bool *changed, ...)
{
	const char *v[16];
	size_t n = 0;
	struct err_info ei;
	va_list ap;

	va_start(ap, changed);
	while (n < 16 && (v[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	return conf_edit_set(ed, section, key, v, n, changed, &ei);
}

static void assert_sets(const char *section, const char *key, const char *value, const char *want)
{
	bool changed = false;

	assert_int_equal(set(section, key, &changed, value, NULL), 0);
	assert_true(changed);
	assert_text(want);
}

static void assert_unsets(const char *section, const char *key, const char *want)
{
	struct err_info ei;
	bool changed = false;

	assert_int_equal(conf_edit_unset(ed, section, key, &changed, &ei), 0);
	assert_true(changed);
	assert_text(want);
}

/* Every value line of the editor is, in order, an entry of ocserv_conf.c's
 * reading of the same text: key, value, section and line number. */
static void assert_reads_as_ocserv(const char *text, size_t len)
{
	struct ocserv_conf *c = NULL;
	struct err_info ei;
	size_t k = 0;

	parse_n(text, len);
	assert_text_n(text, len);
	assert_int_equal(ocserv_conf_parse(text, len, &c, &ei), 0);
	for (size_t i = 0; i < conf_edit_count(ed); i++) {
		const struct conf_line *l = conf_edit_line(ed, i);
		const struct ocserv_conf_entry *en;

		assert_int_equal(l->number, i + 1);
		if (l->kind != CONF_LINE_KEY && l->kind != CONF_LINE_CONT)
			continue;
		en = ocserv_conf_at(c, k++);
		assert_non_null(en);
		assert_string_equal(l->key, en->key);
		assert_string_equal(l->value, en->value);
		assert_int_equal(l->number, en->line);
		assert_true(l->section == NULL ? en->section == NULL
					       : strcmp(l->section, en->section) == 0);
	}
	assert_int_equal(k, ocserv_conf_size(c));
	assert_int_equal(conf_edit_first_bad(ed), ocserv_conf_first_bad_line(c));
	ocserv_conf_free(c);
}

static char *read_debian(const char *version, size_t *len)
{
	char path[512];
	char *text;

	snprintf(path, sizeof(path), "%s/ocserv-conf/debian-%s.conf", FIXTURES_DIR, version);
	text = unit_read_file(path, len);
	assert_non_null(text);
	assert_true(*len > 10000);
	return text;
}

/* ---- reading ---- */

static void test_round_trip_debian(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		size_t len;
		char *text = read_debian(unit_versions[v], &len);
		const char *route[4];

		assert_reads_as_ocserv(text, len);
		assert_int_equal(conf_edit_first_bad(ed), 0);
		assert_int_equal(conf_edit_values(ed, NULL, "route", route, 4), 3);
		assert_string_equal(route[0], "10.0.0.0/8");
		assert_string_equal(route[2], "192.168.0.0/16");
		free(text);
	}
}

static void test_round_trip_edges(void **state)
{
	static const char nul[] = "mtu = 1400\0 junk\nno-udp = true\0\n\0\n";
	static const char *const texts[] = {
		"",
		"\n",
		"\n\n\r\n",
		"a = 1",
		"a = 1\r\nb: 2\r\n# c\r\n\r\n",
		"a = 1\r\nb = 2\nc = 3",
		"a = 1\r",
		"route = 10.0.0.0/8\n   172.16.0.0/12\n# c\n\t192.168.0.0/16 \n\nx = \"q\"\n",
		"  indented = first\nk =\n=v\n",
		"a = 1\n[vhost:x]\na = 2\n  3\n[other]\nb = 4\n[vhost:x]\nc = 5\n",
		"a = 1\n[oops\nb = 2\njunk\n  c\n",
		"[vhost:x] trailing\n[ vhost:y ]\n[]\nk = v\n",
		"\xef\xbb\xbf# bom\nk = v\n",
		"\xef\xbb\xbf",
		"# only a comment",
		"; semicolon\n   ; indented comment\n",
		"a = x ; y # z\nb = \"\"\"\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		assert_reads_as_ocserv(texts[i], strlen(texts[i]));
	assert_reads_as_ocserv(nul, sizeof(nul) - 1);
	assert_int_equal(conf_edit_count(ed), 3);
	assert_string_equal(conf_edit_line(ed, 0)->value, "1400");
	assert_int_equal(conf_edit_line(ed, 2)->kind, CONF_LINE_BLANK);
}

static void test_lines(void **state)
{
	const struct conf_line *l;
	const char *v[2];

	(void)state;
	parse("# c\n\na = 1\n  2\n[vhost:x]\n b = 3\n[x\njunk\r\n");
	assert_int_equal(conf_edit_count(ed), 8);
	assert_int_equal(conf_edit_line(ed, 0)->kind, CONF_LINE_COMMENT);
	assert_int_equal(conf_edit_line(ed, 1)->kind, CONF_LINE_BLANK);
	l = conf_edit_line(ed, 3);
	assert_int_equal(l->kind, CONF_LINE_CONT);
	assert_string_equal(l->key, "a");
	assert_string_equal(l->value, "2");
	assert_string_equal(l->text, "  2");
	assert_null(l->section);
	l = conf_edit_line(ed, 4);
	assert_int_equal(l->kind, CONF_LINE_SECTION);
	assert_string_equal(l->section, "vhost:x");
	assert_null(l->key);
	/* Right after a header there is no key to continue: a pair. */
	l = conf_edit_line(ed, 5);
	assert_int_equal(l->kind, CONF_LINE_KEY);
	assert_string_equal(l->key, "b");
	assert_string_equal(l->section, "vhost:x");
	assert_int_equal(conf_edit_line(ed, 6)->kind, CONF_LINE_BAD);
	l = conf_edit_line(ed, 7);
	assert_int_equal(l->kind, CONF_LINE_BAD);
	assert_string_equal(l->text, "junk");
	assert_int_equal(l->number, 8);
	assert_null(conf_edit_line(ed, 8));
	assert_int_equal(conf_edit_first_bad(ed), 7);
	assert_true(conf_edit_has_section(ed, NULL));
	assert_true(conf_edit_has_section(ed, "vhost:x"));
	assert_false(conf_edit_has_section(ed, "vhost:y"));
	/* More values than room: the count, and the first ones. */
	parse("a = 1\na = 2\na = 3\n");
	assert_int_equal(conf_edit_values(ed, NULL, "a", v, 2), 3);
	assert_string_equal(v[1], "2");
	assert_int_equal(conf_edit_values(ed, "vhost:x", "a", v, 2), 0);
	/* A '#' after a blank ends the content (ocserv_conf.h); ';' does not. */
	parse("a = x # c\nb = y#z ; w\n  # only\n");
	assert_string_equal(conf_edit_line(ed, 0)->value, "x");
	assert_string_equal(conf_edit_line(ed, 1)->value, "y#z ; w");
	assert_int_equal(conf_edit_line(ed, 2)->kind, CONF_LINE_COMMENT);
}

static void test_parse_limit(void **state)
{
	struct conf_edit *e = NULL;
	struct err_info ei;

	(void)state;
	assert_int_equal(conf_edit_parse("a = 1\n", 6, 5, &e, &ei), ERR_INTERNAL);
	assert_null(e);
	assert_int_equal(conf_edit_parse("a = 1\n", 6, 6, &e, &ei), 0);
	conf_edit_free(e);
	conf_edit_free(NULL);
}

/* ---- editing ---- */

static void test_set_in_place(void **state)
{
	static const char text[] = "# head\na = 1\n# c\nb: \"2\"\n";
	bool changed = true;

	(void)state;
	parse(text);
	/* The same value (as ocserv reads it): nothing changes. */
	assert_int_equal(set(NULL, "b", &changed, "2", NULL), 0);
	assert_false(changed);
	assert_text(text);
	assert_sets(NULL, "a", "10", "# head\na = 10\n# c\nb: \"2\"\n");
	assert_sets(NULL, "b", "", "# head\na = 10\n# c\nb = \n");
	assert_int_equal(conf_edit_line(ed, 3)->kind, CONF_LINE_KEY);
	assert_string_equal(conf_edit_line(ed, 3)->value, "");
}

static void test_set_multi(void **state)
{
	static const char text[] = "route = a\n  b\n# keep\nroute = c\nmtu = 1\n";
	bool changed = true;

	(void)state;
	parse(text);
	assert_int_equal(set(NULL, "route", &changed, "a", "b", "c", NULL), 0);
	assert_false(changed);
	assert_text(text);
	/* Another order is another value. */
	assert_int_equal(set(NULL, "route", &changed, "b", "a", "c", NULL), 0);
	assert_true(changed);
	assert_text("route = b\nroute = a\nroute = c\n# keep\nmtu = 1\n");
	/* Fewer values: the first line is rewritten, the others go. */
	assert_int_equal(set(NULL, "route", &changed, "x", "y", NULL), 0);
	assert_text("route = x\nroute = y\n# keep\nmtu = 1\n");
	assert_sets(NULL, "route", "z", "route = z\n# keep\nmtu = 1\n");
	/* A repeated single key collapses at its first line. */
	parse("mtu = 1\n# x\nmtu = 2\n");
	assert_sets(NULL, "mtu", "2", "mtu = 2\n# x\n");
}

static const char vhosts[] = "a = 1\n"
			     "# global end\n"
			     "[vhost:x]\n"
			     "a = 2\n"
			     "  3\n"
			     "# x end\n"
			     "[vhost:y]\n"
			     "# nothing yet\n";

static void test_sections(void **state)
{
	const char *v[4];

	(void)state;
	parse(vhosts);
	/* The same key elsewhere is never touched. */
	assert_sets("vhost:x", "a", "4",
		    "a = 1\n# global end\n[vhost:x]\na = 4\n# x end\n[vhost:y]\n# nothing yet\n");
	assert_sets(NULL, "a", "5",
		    "a = 5\n# global end\n[vhost:x]\na = 4\n# x end\n[vhost:y]\n# nothing yet\n");
	/* A new key: after the section's last key line. */
	assert_sets("vhost:x", "b", "6",
		    "a = 5\n# global end\n[vhost:x]\na = 4\nb = 6\n# x end\n[vhost:y]\n"
		    "# nothing yet\n");
	/* A section without keys: after its last line. */
	assert_sets("vhost:y", "c", "7",
		    "a = 5\n# global end\n[vhost:x]\na = 4\nb = 6\n# x end\n[vhost:y]\n"
		    "# nothing yet\nc = 7\n");
	/* A new section goes at the end. */
	assert_sets("vhost:z", "a", "8",
		    "a = 5\n# global end\n[vhost:x]\na = 4\nb = 6\n# x end\n[vhost:y]\n"
		    "# nothing yet\nc = 7\n[vhost:z]\na = 8\n");
	assert_true(conf_edit_has_section(ed, "vhost:z"));
	assert_int_equal(conf_edit_values(ed, "vhost:z", "a", v, 4), 1);
	assert_string_equal(v[0], "8");
	assert_int_equal(conf_edit_values(ed, NULL, "a", v, 4), 1);
	assert_string_equal(v[0], "5");
	assert_unsets("vhost:x", "a",
		      "a = 5\n# global end\n[vhost:x]\nb = 6\n# x end\n[vhost:y]\n"
		      "# nothing yet\nc = 7\n[vhost:z]\na = 8\n");
	assert_unsets(NULL, "a",
		      "# global end\n[vhost:x]\nb = 6\n# x end\n[vhost:y]\n"
		      "# nothing yet\nc = 7\n[vhost:z]\na = 8\n");
	/* The global part without keys: after its last line, before the header. */
	assert_sets(NULL, "d", "9",
		    "# global end\nd = 9\n[vhost:x]\nb = 6\n# x end\n[vhost:y]\n"
		    "# nothing yet\nc = 7\n[vhost:z]\na = 8\n");
}

static void test_new_key_places(void **state)
{
	(void)state;
	parse("");
	assert_sets(NULL, "k", "v", "k = v\n");
	parse("a = 1");
	assert_sets(NULL, "k", "v", "a = 1\nk = v\n");
	parse("a = 1\n\n# tail\n");
	assert_sets(NULL, "k", "v", "a = 1\nk = v\n\n# tail\n");
	parse("a = 1\n  2\n# tail");
	assert_sets(NULL, "k", "v", "a = 1\n  2\nk = v\n# tail");
	/* Nothing before the first header: the key comes first. */
	parse("[vhost:x]\na = 1\n");
	assert_sets(NULL, "k", "v", "k = v\n[vhost:x]\na = 1\n");
	parse("[vhost:x]\na = 1");
	assert_sets("vhost:x", "k", "v", "[vhost:x]\na = 1\nk = v\n");
	parse("# c");
	assert_sets("vhost:x", "k", "v", "# c\n[vhost:x]\nk = v\n");
	/* userconf.h's rule: after the part's last line of any kind. */
	parse("a = 1\n\n# tail\n[vhost:x]\nb = 2\n# x tail\n");
	conf_edit_set_place(ed, CONF_EDIT_AT_SECTION_END);
	assert_sets(NULL, "k", "v", "a = 1\n\n# tail\nk = v\n[vhost:x]\nb = 2\n# x tail\n");
	assert_sets("vhost:x", "k", "w",
		    "a = 1\n\n# tail\nk = v\n[vhost:x]\nb = 2\n# x tail\nk = w\n");
	/* The choice survives an edit. */
	assert_sets(NULL, "m", "u",
		    "a = 1\n\n# tail\nk = v\nm = u\n[vhost:x]\nb = 2\n# x tail\nk = w\n");
}

static void test_line_endings(void **state)
{
	bool changed;

	(void)state;
	parse("a = 1\r\n# c\r\nb = 2\r\n");
	assert_sets(NULL, "b", "3", "a = 1\r\n# c\r\nb = 3\r\n");
	assert_int_equal(set(NULL, "c", &changed, "4", "5", NULL), 0);
	assert_text("a = 1\r\n# c\r\nb = 3\r\nc = 4\r\nc = 5\r\n");
	assert_sets("vhost:x", "d", "6",
		    "a = 1\r\n# c\r\nb = 3\r\nc = 4\r\nc = 5\r\n[vhost:x]\r\nd = 6\r\n");
	/* Mixed: most lines decide; the others keep theirs. */
	parse("a = 1\r\nb = 2\nc = 3\n");
	assert_sets(NULL, "a", "9", "a = 9\nb = 2\nc = 3\n");
	parse("a = 1\r\nb = 2\r\nc = 3\n");
	assert_sets(NULL, "c", "9", "a = 1\r\nb = 2\r\nc = 9\r\n");
	/* A last line without an ending gets one when rewritten or followed. */
	parse("a = 1\r\nb = 2");
	assert_sets(NULL, "b", "3", "a = 1\r\nb = 3\r\n");
	parse("a = 1\r\n# c");
	assert_sets(NULL, "k", "v", "a = 1\r\nk = v\r\n# c");
	assert_sets("vhost:x", "k", "w", "a = 1\r\nk = v\r\n# c\r\n[vhost:x]\r\nk = w\r\n");
	/* Removing the last line leaves the one before as it was. */
	parse("a = 1\nb = 2");
	assert_unsets(NULL, "b", "a = 1\n");
}

static void test_nul_and_bom(void **state)
{
	static const char nul[] = "a = 1\0x\nb = 2\n";
	static const char nul_done[] = "a = 1\0x\nb = 3\n";
	struct err_info ei;
	bool changed = false;

	(void)state;
	parse_n(nul, sizeof(nul) - 1);
	assert_int_equal(set(NULL, "b", &changed, "3", NULL), 0);
	assert_true(changed);
	assert_text_n(nul_done, sizeof(nul_done) - 1);
	/* The byte order mark stays first, whatever comes first after it. */
	parse("\xef\xbb\xbf[vhost:x]\n");
	assert_string_equal(conf_edit_line(ed, 0)->text, "[vhost:x]");
	assert_sets(NULL, "k", "v", "\xef\xbb\xbfk = v\n[vhost:x]\n");
	assert_sets(NULL, "k", "w", "\xef\xbb\xbfk = w\n[vhost:x]\n");
	assert_unsets(NULL, "k", "\xef\xbb\xbf[vhost:x]\n");
	parse("\xef\xbb\xbf");
	assert_sets(NULL, "k", "v", "\xef\xbb\xbfk = v\n");
	/* Not at the start, those bytes are part of the line: they must not
	 * become a mark ocserv skips. */
	parse("k = v\n\xef\xbb\xbf"
	      "dns = 1\n");
	assert_string_equal(conf_edit_line(ed, 1)->key, "\xef\xbb\xbf"
							"dns");
	assert_int_equal(conf_edit_unset(ed, NULL, "k", &changed, &ei), ERR_CONFLICT);
	assert_false(changed);
	assert_text("k = v\n\xef\xbb\xbf"
		    "dns = 1\n");
	assert_sets(NULL, "k", "w",
		    "k = w\n\xef\xbb\xbf"
		    "dns = 1\n");
}

static void test_unset(void **state)
{
	static const char text[] = "a = 1\n  2\n# c\n  3\nb = 4\na = 5\n[vhost:x]\na = 6\n";
	struct err_info ei;
	bool changed = true;

	(void)state;
	parse(text);
	assert_int_equal(conf_edit_unset(ed, NULL, "zz", &changed, &ei), 0);
	assert_false(changed);
	assert_int_equal(conf_edit_unset(ed, "vhost:nope", "a", &changed, &ei), 0);
	assert_false(changed);
	assert_text(text);
	/* Continuation lines go with their key, even after a comment. */
	assert_unsets(NULL, "a", "# c\nb = 4\n[vhost:x]\na = 6\n");
	assert_unsets("vhost:x", "a", "# c\nb = 4\n[vhost:x]\n");
	assert_int_equal(conf_edit_count(ed), 3);
}

static void test_refusals(void **state)
{
	static const char text[] = "a = 1\n[vhost:x]\n";
	static const char *const bad_values[] = {
		"x\ny", " x", "x ", "\"x", "x\"", "\tx", "x\r", "x\n", "#x", "x #y", "x\t#",
	};
	static const char *const bad_keys[] = {
		"", "a=b", "a:b", "a\nb", " a", "a ", "#a", ";a", "[a", "a\t", "a #b",
	};
	struct err_info ei;
	bool changed = true;
	const char *v = "ok";

	(void)state;
	parse(text);
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		assert_int_equal(conf_edit_set(ed, NULL, "a", &bad_values[i], 1, &changed, &ei),
				 ERR_BAD_REQUEST);
		assert_false(changed);
		assert_null(strchr(ei.detail, '\n'));
	}
	const char *two[] = {"ok", "x "};
	assert_int_equal(conf_edit_set(ed, "vhost:x", "a", two, 2, &changed, &ei), ERR_BAD_REQUEST);
	assert_non_null(strstr(ei.detail, "strip"));
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++)
		assert_int_equal(conf_edit_set(ed, NULL, bad_keys[i], &v, 1, &changed, &ei),
				 ERR_BAD_REQUEST);
	assert_int_equal(conf_edit_set(ed, "vhost:a]b", "a", &v, 1, &changed, &ei),
			 ERR_BAD_REQUEST);
	assert_int_equal(conf_edit_set(ed, "vhost:a\nb", "a", &v, 1, &changed, &ei),
			 ERR_BAD_REQUEST);
	assert_int_equal(conf_edit_set(ed, "vhost:a #b", "a", &v, 1, &changed, &ei),
			 ERR_BAD_REQUEST);
	assert_int_equal(conf_edit_set(ed, NULL, "a", &v, 0, &changed, &ei), ERR_BAD_REQUEST);
	assert_text(text);
	/* A header that is one only because no key comes before it. */
	parse("# c\n  [vhost:x]\n");
	assert_int_equal(conf_edit_set(ed, NULL, "a", &v, 1, &changed, &ei), ERR_CONFLICT);
	assert_non_null(strstr(ei.detail, "line 2"));
	assert_false(changed);
	assert_text("# c\n  [vhost:x]\n");
	assert_sets("vhost:x", "a", "ok", "# c\n  [vhost:x]\na = ok\n");
	parse(text);
	/* Inside a value, anything goes that reads back: quotes, '=', '#'
	 * after another character, ';'. */
	const char *fine[] = {"a \"b\" = c#d ; e", ""};
	assert_int_equal(conf_edit_set(ed, "vhost:x", "k", fine, 2, &changed, &ei), 0);
	assert_text("a = 1\n[vhost:x]\nk = a \"b\" = c#d ; e\nk = \n");
	assert_int_equal(conf_edit_values(ed, "vhost:x", "k", two, 2), 2);
	assert_string_equal(two[0], fine[0]);
	assert_string_equal(two[1], "");
}

/* ---- the Debian sample configurations ---- */

/* Lines of text (each with its ending), but those whose numbers are in
 * skip (a sorted list ending with 0) or equal to drop. */
static void split_lines(const char *text, size_t len, const unsigned *skip, const char *drop,
			struct strv *out)
{
	unsigned no = 0;

	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		char *line = strndup(p, n);

		assert_non_null(line);
		no++;
		while (*skip != 0 && *skip < no)
			skip++;
		if (*skip == no || (drop != NULL && strcmp(line, drop) == 0))
			free(line);
		else
			assert_int_equal(strv_take(out, line), 0);
		p += n;
	}
}

struct change {
	const char *section, *key;
	const char *values[4]; /* NULL-ended; none: unset */
};

static const struct change debian_changes[] = {
	{NULL, "route", {"10.10.0.0/16", "192.168.77.0/24", NULL}},
	{NULL, "dns", {"9.9.9.9", NULL}},
	{NULL, "max-clients", {"64", NULL}},
	{NULL, "udp-port", {NULL}},
	{NULL, "no-route", {"192.168.5.0/255.255.255.0", NULL}},
	{"vhost:vpn.example.com", "ipv4-network", {"10.20.0.0/24", NULL}},
};
#define N_CHANGES (sizeof(debian_changes) / sizeof(debian_changes[0]))

static const struct change *changed_key(const char *section, const char *key)
{
	for (size_t i = 0; i < N_CHANGES; i++) {
		const struct change *c = &debian_changes[i];
		if (strcmp(c->key, key) == 0 &&
		    (c->section == NULL ? section == NULL
					: section != NULL && strcmp(c->section, section) == 0))
			return c;
	}
	return NULL;
}

/* The line numbers (sorted, 0-ended) of the values of changed keys. */
static unsigned *changed_lines(const struct ocserv_conf *c)
{
	unsigned *v = calloc(ocserv_conf_size(c) + 1, sizeof(*v));
	size_t n = 0;

	assert_non_null(v);
	for (size_t i = 0; i < ocserv_conf_size(c); i++) {
		const struct ocserv_conf_entry *e = ocserv_conf_at(c, i);
		if (changed_key(e->section, e->key) != NULL)
			v[n++] = e->line;
	}
	return v;
}

/* Every entry of a key not changed is the same, in the same order. */
static void assert_same_others(const struct ocserv_conf *a, const struct ocserv_conf *b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < ocserv_conf_size(a) &&
		       changed_key(ocserv_conf_at(a, i)->section, ocserv_conf_at(a, i)->key))
			i++;
		while (j < ocserv_conf_size(b) &&
		       changed_key(ocserv_conf_at(b, j)->section, ocserv_conf_at(b, j)->key))
			j++;
		if (i == ocserv_conf_size(a) || j == ocserv_conf_size(b))
			break;
		assert_string_equal(ocserv_conf_at(a, i)->key, ocserv_conf_at(b, j)->key);
		assert_string_equal(ocserv_conf_at(a, i)->value, ocserv_conf_at(b, j)->value);
		assert_null(ocserv_conf_at(b, j)->section);
		i++, j++;
	}
	assert_int_equal(i, ocserv_conf_size(a));
	assert_int_equal(j, ocserv_conf_size(b));
}

static void assert_values(const struct ocserv_conf *c, const struct change *ch)
{
	const char *vhost = ch->section ? ch->section + strlen("vhost:") : NULL;
	const struct ocserv_conf_entry *e = NULL;
	size_t k = 0;

	while ((e = ocserv_conf_next(c, vhost, ch->key, e)) != NULL) {
		assert_non_null(ch->values[k]);
		assert_string_equal(e->value, ch->values[k]);
		k++;
	}
	assert_null(ch->values[k]);
}

static void edit_debian(const char *version)
{
	struct ocserv_conf *before = NULL, *after = NULL;
	struct strv old_lines = {0}, new_lines = {0};
	struct err_info ei;
	unsigned *skip_old, *skip_new;
	size_t len, new_len;
	char *text = read_debian(version, &len), *out;
	bool changed;

	parse_n(text, len);
	for (size_t i = 0; i < N_CHANGES; i++) {
		const struct change *c = &debian_changes[i];
		size_t n = 0;

		while (c->values[n] != NULL)
			n++;
		if (n == 0)
			assert_int_equal(conf_edit_unset(ed, c->section, c->key, &changed, &ei), 0);
		else
			assert_int_equal(
				conf_edit_set(ed, c->section, c->key, c->values, n, &changed, &ei),
				0);
		assert_true(changed);
	}
	out = conf_edit_text(ed, &new_len);
	assert_non_null(out);
	/* What ocserv reads: exactly the values set, everything else as it was. */
	assert_int_equal(ocserv_conf_parse(text, len, &before, &ei), 0);
	assert_int_equal(ocserv_conf_parse(out, new_len, &after, &ei), 0);
	assert_int_equal(ocserv_conf_bad_lines(after), 0);
	for (size_t i = 0; i < N_CHANGES; i++)
		assert_values(after, &debian_changes[i]);
	assert_same_others(before, after);
	/* Rewritten in place: the first route follows the line the first one
	 * followed. */
	split_lines(text, len, (const unsigned[]){0}, NULL, &old_lines);
	split_lines(out, new_len, (const unsigned[]){0}, NULL, &new_lines);
	assert_string_equal(old_lines.v[ocserv_conf_next(before, NULL, "route", NULL)->line - 2],
			    new_lines.v[ocserv_conf_next(after, NULL, "route", NULL)->line - 2]);
	assert_string_equal(new_lines.v[ocserv_conf_next(after, NULL, "route", NULL)->line - 1],
			    "route = 10.10.0.0/16\n");
	strv_free(&old_lines);
	strv_free(&new_lines);
	/* Byte for byte, the file less the lines of the changed keys (and the
	 * new section's header) is the original less those lines. */
	skip_old = changed_lines(before);
	skip_new = changed_lines(after);
	split_lines(text, len, skip_old, NULL, &old_lines);
	split_lines(out, new_len, skip_new, "[vhost:vpn.example.com]\n", &new_lines);
	assert_int_equal(old_lines.n, new_lines.n);
	for (size_t i = 0; i < old_lines.n; i++)
		assert_string_equal(old_lines.v[i], new_lines.v[i]);
	assert_true(old_lines.n > 700);
	/* Setting the same values again changes nothing. */
	for (size_t i = 0; i < N_CHANGES; i++) {
		const struct change *c = &debian_changes[i];
		if (c->values[0] == NULL)
			continue;
		assert_int_equal(conf_edit_set(ed, c->section, c->key, c->values,
					       c->values[1] ? (c->values[2] ? 3 : 2) : 1, &changed,
					       &ei),
				 0);
		assert_false(changed);
	}
	assert_text_n(out, new_len);
	strv_free(&old_lines);
	strv_free(&new_lines);
	free(skip_old);
	free(skip_new);
	ocserv_conf_free(before);
	ocserv_conf_free(after);
	free(out);
	free(text);
}

static void test_debian_edits(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++)
		edit_debian(unit_versions[v]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_round_trip_debian, teardown),
		cmocka_unit_test_teardown(test_round_trip_edges, teardown),
		cmocka_unit_test_teardown(test_lines, teardown),
		cmocka_unit_test_teardown(test_parse_limit, teardown),
		cmocka_unit_test_teardown(test_set_in_place, teardown),
		cmocka_unit_test_teardown(test_set_multi, teardown),
		cmocka_unit_test_teardown(test_sections, teardown),
		cmocka_unit_test_teardown(test_new_key_places, teardown),
		cmocka_unit_test_teardown(test_line_endings, teardown),
		cmocka_unit_test_teardown(test_nul_and_bom, teardown),
		cmocka_unit_test_teardown(test_unset, teardown),
		cmocka_unit_test_teardown(test_refusals, teardown),
		cmocka_unit_test_teardown(test_debian_edits, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
