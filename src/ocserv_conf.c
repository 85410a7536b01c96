#include "ocserv_conf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "array.h"
#include "readall.h"

/* Entries point into buf, a private copy of the text cut into strings in
 * place: one allocation for all the text, one for the entry array. */
struct ocserv_conf {
	char *buf;
	struct ocserv_conf_entry *e;
	size_t n, cap;
	size_t bad;
	unsigned first_bad;
};

/* Parser state across lines. */
struct cursor {
	const char *section, *vhost;
	const char *prev_key; /* the key a continuation line adds to, or NULL */
	unsigned line;
};

char *ocserv_conf_rstrip(char *s)
{
	char *p = s + strlen(s);

	while (p > s && isspace((unsigned char)p[-1]))
		*--p = '\0';
	return s;
}

char *ocserv_conf_lskip(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

/* ocserv strips blanks and `"` from both ends, never from the middle. */
char *ocserv_conf_unquote(char *s)
{
	char *end;

	while (*s && (isspace((unsigned char)*s) || *s == '"'))
		s++;
	end = s + strlen(s);
	while (end > s && (isspace((unsigned char)end[-1]) || end[-1] == '"'))
		*--end = '\0';
	return s;
}

static void bad_line(struct ocserv_conf *c, unsigned line)
{
	if (c->bad++ == 0)
		c->first_bad = line;
}

static int add(struct ocserv_conf *c, const struct cursor *cur, const char *key, char *value)
{
	if (array_grow(&c->e, &c->cap, c->n, sizeof(*c->e), 64) < 0)
		return ERR_NOMEM;
	c->e[c->n++] = (struct ocserv_conf_entry){.key = key,
						  .value = ocserv_conf_unquote(value),
						  .section = cur->section,
						  .vhost = cur->vhost,
						  .line = cur->line};
	return 0;
}

static void section(struct ocserv_conf *c, struct cursor *cur, char *start)
{
	char *end = strchr(start + 1, ']');

	if (end == NULL) {
		bad_line(c, cur->line);
		return;
	}
	*end = '\0';
	cur->section = start + 1;
	cur->vhost = strncmp(cur->section, "vhost:", 6) == 0 ? cur->section + 6 : NULL;
	cur->prev_key = NULL;
}

char *ocserv_conf_cut_comment(char *s)
{
	bool blank = false;

	for (char *p = s; *p; p++) {
		if (*p == '#' && blank) {
			*p = '\0';
			break;
		}
		blank = isspace((unsigned char)*p);
	}
	return s;
}

/* One line, NUL-terminated without its newline. The order of the tests is
 * inih's (which ocserv embeds): comment, continuation, section, pair. */
static int parse_line(struct ocserv_conf *c, struct cursor *cur, char *line)
{
	char *start = ocserv_conf_lskip(ocserv_conf_rstrip(line)), *sep;

	ocserv_conf_rstrip(ocserv_conf_cut_comment(start));

	if (*start == '\0' || *start == '#' || *start == ';')
		return 0;
	if (start > line && cur->prev_key != NULL)
		return add(c, cur, cur->prev_key, start);
	if (*start == '[') {
		section(c, cur, start);
		return 0;
	}
	sep = strpbrk(start, "=:");
	if (sep == NULL) {
		bad_line(c, cur->line);
		return 0;
	}
	*sep = '\0';
	cur->prev_key = ocserv_conf_rstrip(start);
	return add(c, cur, cur->prev_key, sep + 1);
}

int ocserv_conf_parse(const char *text, size_t len, struct ocserv_conf **ret, struct err_info *ei)
{
	struct ocserv_conf *c;
	struct cursor cur = {0};
	char *p, *end;
	int r = 0;

	if (len > OCSERV_CONF_MAX)
		return err_set(ei, ERR_INTERNAL, "more than %d bytes", OCSERV_CONF_MAX);
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->buf = malloc(len + 1)) == NULL) {
		free(c);
		return err_set(ei, ERR_NOMEM, "out of memory");
	}
	memcpy(c->buf, text, len);
	c->buf[len] = '\0';
	p = c->buf;
	end = c->buf + len;
	/* A UTF-8 byte order mark, as an editor may save it. */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (r == 0 && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl != NULL)
			*nl = '\0';
		cur.line++;
		r = parse_line(c, &cur, p);
		p = nl != NULL ? nl + 1 : end;
	}
	if (r < 0) {
		ocserv_conf_free(c);
		return err_set(ei, r, "out of memory");
	}
	*ret = c;
	return 0;
}

int ocserv_conf_load(const char *path, struct ocserv_conf **ret, struct err_info *ei)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r, e;
	char *text = NULL;
	size_t len = 0;

	if (fd < 0)
		return err_set(ei, errno == ENOENT ? ERR_NOT_FOUND : ERR_INTERNAL, "%s: %s", path,
			       strerror(errno));
	r = read_all(fd, OCSERV_CONF_MAX, 0, &text, &len);
	e = errno;
	close(fd);
	if (r < 0)
		return e == EFBIG ? err_set(ei, ERR_INTERNAL, "more than %d bytes", OCSERV_CONF_MAX)
		       : e == ENOMEM ? err_set(ei, ERR_NOMEM, "out of memory")
				     : err_set(ei, ERR_INTERNAL, "read: %s", strerror(e));
	r = ocserv_conf_parse(text, len, ret, ei);
	free(text);
	return r;
}

void ocserv_conf_free(struct ocserv_conf *c)
{
	if (c == NULL)
		return;
	free(c->buf);
	free(c->e);
	free(c);
}

static bool same_vhost(const struct ocserv_conf_entry *e, const char *vhost)
{
	if (vhost == NULL)
		return e->section == NULL;
	return e->vhost != NULL && strcmp(e->vhost, vhost) == 0;
}

const struct ocserv_conf_entry *ocserv_conf_next(const struct ocserv_conf *c, const char *vhost,
						 const char *key,
						 const struct ocserv_conf_entry *prev)
{
	size_t i = prev != NULL ? (size_t)(prev - c->e) + 1 : 0;

	for (; i < c->n; i++) {
		if (same_vhost(&c->e[i], vhost) && (key == NULL || strcmp(c->e[i].key, key) == 0))
			return &c->e[i];
	}
	return NULL;
}

const char *ocserv_conf_get_vhost(const struct ocserv_conf *c, const char *vhost, const char *key)
{
	const struct ocserv_conf_entry *e = ocserv_conf_next(c, vhost, key, NULL);

	return e != NULL ? e->value : NULL;
}

const char *ocserv_conf_get(const struct ocserv_conf *c, const char *key)
{
	return ocserv_conf_get_vhost(c, NULL, key);
}

size_t ocserv_conf_count(const struct ocserv_conf *c, const char *key)
{
	size_t n = 0;

	for (const struct ocserv_conf_entry *e = ocserv_conf_next(c, NULL, key, NULL); e != NULL;
	     e = ocserv_conf_next(c, NULL, key, e))
		n++;
	return n;
}

size_t ocserv_conf_size(const struct ocserv_conf *c)
{
	return c->n;
}

const struct ocserv_conf_entry *ocserv_conf_at(const struct ocserv_conf *c, size_t i)
{
	return i < c->n ? &c->e[i] : NULL;
}

size_t ocserv_conf_bad_lines(const struct ocserv_conf *c)
{
	return c->bad;
}

unsigned ocserv_conf_first_bad_line(const struct ocserv_conf *c)
{
	return c->first_bad;
}

bool ocserv_conf_bool(const char *value, bool def)
{
	if (value == NULL)
		return def;
	return strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0;
}
