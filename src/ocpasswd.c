#include "ocpasswd.h"

#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "utf8.h"

/* ocserv reads the file with fgets() into a 512-byte buffer, so at most
 * 510 bytes at a time: that much of a line, cut at a NUL, is all it ever
 * matches against. */
#define OCSERV_READ_MAX (OCPASSWD_LINE_MAX - 1)

enum {
	L_GONE = 1,    /* deleted: not serialised */
	L_ACCOUNT = 2, /* ocserv would read it as an account of name */
	L_PRIMARY = 4, /* ... and it is the first one of that name: the account */
	L_SHARED = 8,  /* name is in f->names, not malloc'd on its own */
};

struct line {
	const char *p; /* its bytes, terminator included: in f->text, or own */
	size_t len;
	char *own;
	char *name; /* account-shaped lines only */
	struct strv groups;
	/* Offsets in p, within the part ocserv reads (< 512). */
	uint16_t groups_off, groups_len, hash_off, hash_len;
	uint8_t term_len; /* the trailing "\n", "\r\n", or "\r" at the very end */
	uint8_t flags;
};

/* An entry of the table of accounts by name (open addressing, linear
 * probing, at most half full). */
struct slot {
	size_t line; /* index in l + 1; 0: empty */
	size_t hash; /* of the name: most probes end without a strcmp */
};

/* The lines of the file in order; deleted ones stay as L_GONE so that
 * indexes never move. The accounts (L_PRIMARY lines) are found by name in
 * the table and listed in file order in acct. */
struct ocpasswd {
	char *text;
	struct line *l;
	size_t n, cap;
	size_t *acct;
	size_t nacct, acap;
	char *names; /* the names of the lines as parsed, one block */
	struct slot *slot;
	size_t nslot, nused;
	bool stale; /* a line changed whether it is an account: reindex() */
};

static void line_clear(struct line *ln)
{
	free(ln->own);
	if (!(ln->flags & L_SHARED))
		free(ln->name);
	strv_free(&ln->groups);
	ln->own = ln->name = NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Groups as ocserv reads them: comma-separated, white space around each
 * trimmed, one-character entries ("*") skipped. */
static int split_groups(const char *s, size_t len, struct strv *ret)
{
	size_t i = 0;

	while (i <= len) {
		const char *e = memchr(s + i, ',', len - i);
		size_t end = e ? (size_t)(e - s) : len, a = i, b = end;

		while (a < b && is_space(s[a]))
			a++;
		while (b > a && is_space(s[b - 1]))
			b--;
		if (b - a > 1 && strv_take(ret, strndup(s + a, b - a)) < 0)
			return ERR_NOMEM;
		i = end + 1;
	}
	return 0;
}

/* How ocserv sees the line: at most OCSERV_READ_MAX bytes, cut at a NUL,
 * skipped when fgets() returned 4 bytes or fewer, one trailing "\n" and
 * then one "\r" removed. Sets *view to what remains, false when skipped. */
static bool ocserv_view(const struct line *ln, size_t *view)
{
	size_t raw = ln->len, ll;
	bool nl = raw > 0 && ln->p[raw - 1] == '\n';
	const char *nul;

	raw -= nl;
	*view = raw < OCSERV_READ_MAX ? raw : OCSERV_READ_MAX;
	ll = raw < OCSERV_READ_MAX ? raw + nl : OCSERV_READ_MAX;
	nul = memchr(ln->p, '\0', *view);
	if (nul != NULL)
		*view = ll = (size_t)(nul - ln->p);
	if (ll <= 4)
		return false;
	if (*view > 0 && ln->p[*view - 1] == '\r')
		(*view)--;
	return true;
}

/* Fill in the fields of the line at ln->p: account-shaped when ocserv
 * would match its first field against a user name (a non-empty name and
 * two ':'); the hash is the third field. The name goes to *arena when
 * given (parsing a whole file: one allocation), else to its own. ERR_NOMEM
 * or 0. */
static int parse_line(struct line *ln, char **arena)
{
	const char *p = ln->p, *c1, *c2, *h;
	bool nl = ln->len > 0 && p[ln->len - 1] == '\n';
	size_t view;

	ln->flags &= L_GONE;
	ln->term_len = nl + (ln->len > nl && p[ln->len - nl - 1] == '\r');
	if (!ocserv_view(ln, &view))
		return 0;
	c1 = memchr(p, ':', view);
	if (c1 == NULL || c1 == p)
		return 0;
	c2 = memchr(c1 + 1, ':', view - (size_t)(c1 + 1 - p));
	if (c2 == NULL)
		return 0;
	h = memchr(c2 + 1, ':', view - (size_t)(c2 + 1 - p));
	ln->groups_off = (uint16_t)(c1 + 1 - p);
	ln->groups_len = (uint16_t)(c2 - c1 - 1);
	ln->hash_off = (uint16_t)(c2 + 1 - p);
	ln->hash_len = (uint16_t)((h ? h : p + view) - (c2 + 1));
	if (arena != NULL) {
		ln->name = *arena;
		*arena = mempcpy(*arena, p, (size_t)(c1 - p));
		*(*arena)++ = '\0';
		ln->flags |= L_SHARED;
	} else {
		ln->name = strndup(p, (size_t)(c1 - p));
	}
	if (ln->name == NULL || split_groups(c1 + 1, ln->groups_len, &ln->groups) < 0)
		return ERR_NOMEM;
	ln->flags |= L_ACCOUNT;
	return 0;
}

static size_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

/* The slot of name (hash h): where it is, or the empty one where it
 * would go. */
static size_t slot_find(const struct ocpasswd *f, const char *name, size_t h)
{
	size_t mask = f->nslot - 1, s = h & mask;

	while (f->slot[s].line != 0 &&
	       (f->slot[s].hash != h || strcmp(f->l[f->slot[s].line - 1].name, name) != 0))
		s = (s + 1) & mask;
	return s;
}

static size_t slot_of(const struct ocpasswd *f, const char *name)
{
	return slot_find(f, name, name_hash(name));
}

static struct line *lookup(const struct ocpasswd *f, const char *name)
{
	size_t s = slot_of(f, name);

	return f->slot[s].line != 0 ? &f->l[f->slot[s].line - 1] : NULL;
}

/* Make line i the account of its name, in the empty slot s. */
static void slot_set(struct ocpasswd *f, size_t s, size_t i, size_t h)
{
	f->slot[s] = (struct slot){.line = i + 1, .hash = h};
	f->nused++;
	f->l[i].flags |= L_PRIMARY;
}

/* Linear probing deletion: move later entries of the same run back so that
 * every entry stays reachable from its home slot. */
static void slot_remove(struct ocpasswd *f, size_t s)
{
	size_t mask = f->nslot - 1, j = s;

	f->slot[s].line = 0;
	f->nused--;
	for (;;) {
		j = (j + 1) & mask;
		if (f->slot[j].line == 0)
			return;
		size_t home = f->slot[j].hash & mask;
		bool stays = s <= j ? (home > s && home <= j) : (home > s || home <= j);
		if (!stays) {
			f->slot[s] = f->slot[j];
			f->slot[j].line = 0;
			s = j;
		}
	}
}

static int acct_push(struct ocpasswd *f, size_t i)
{
	if (array_grow(&f->acct, &f->acap, f->nacct, sizeof(*f->acct), 64) < 0)
		return ERR_NOMEM;
	f->acct[f->nacct++] = i;
	return 0;
}

/* Decide again, from the lines, which ones are the accounts: the first
 * account-shaped line of each name, as ocserv picks it. O(lines). */
static int reindex(struct ocpasswd *f, size_t extra)
{
	size_t want = 16, count = extra;
	struct slot *slot;

	for (size_t i = 0; i < f->n; i++)
		count += (f->l[i].flags & (L_ACCOUNT | L_GONE)) == L_ACCOUNT;
	while (want < 2 * count + 2)
		want *= 2;
	slot = calloc(want, sizeof(*slot));
	if (slot == NULL)
		return ERR_NOMEM;
	free(f->slot);
	f->slot = slot;
	f->nslot = want;
	f->nused = f->nacct = 0;
	for (size_t i = 0; i < f->n; i++) {
		struct line *ln = &f->l[i];
		ln->flags &= (uint8_t)~L_PRIMARY;
		if ((ln->flags & (L_ACCOUNT | L_GONE)) != L_ACCOUNT)
			continue;
		size_t h = name_hash(ln->name), s = slot_find(f, ln->name, h);
		if (f->slot[s].line != 0)
			continue;
		if (acct_push(f, i) < 0)
			return ERR_NOMEM;
		slot_set(f, s, i, h);
	}
	f->stale = false;
	return 0;
}

static int line_push(struct ocpasswd *f, const char *p, size_t len, char *own, char **arena)
{
	if (array_grow(&f->l, &f->cap, f->n, sizeof(*f->l), 64) < 0) {
		free(own);
		return ERR_NOMEM;
	}
	f->l[f->n] = (struct line){.p = p, .len = len, .own = own};
	return parse_line(&f->l[f->n++], arena);
}

int ocpasswd_parse(const char *text, size_t len, struct ocpasswd **ret, struct err_info *ei)
{
	struct ocpasswd *f = calloc(1, sizeof(*f));
	size_t i = 0, lines = 1;
	char *arena;
	int r = 0;

	for (const char *e = text; len > 0 && (e = memchr(e, '\n', len - (size_t)(e - text)));)
		lines++, e++;
	/* Every name is shorter than its line: len bytes and a NUL each. */
	if (f == NULL || (f->text = malloc(len + 1)) == NULL ||
	    (f->names = arena = malloc(len + lines)) == NULL ||
	    (f->l = malloc(lines * sizeof(*f->l))) == NULL)
		goto nomem;
	f->cap = lines;
	if (len > 0)
		memcpy(f->text, text, len);
	while (i < len && r == 0) {
		const char *e = memchr(f->text + i, '\n', len - i);
		size_t end = e ? (size_t)(e - f->text) + 1 : len;
		r = line_push(f, f->text + i, end - i, NULL, &arena);
		i = end;
	}
	if (r < 0 || reindex(f, 0) < 0)
		goto nomem;
	*ret = f;
	return 0;
nomem:
	ocpasswd_free(f);
	return err_set(ei, ERR_NOMEM, "out of memory");
}

char *ocpasswd_serialize(const struct ocpasswd *f, size_t *len)
{
	size_t total = 0, o = 0;
	char *out;

	for (size_t i = 0; i < f->n; i++)
		total += f->l[i].flags & L_GONE ? 0 : f->l[i].len;
	out = malloc(total + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < f->n; i++) {
		if (f->l[i].flags & L_GONE)
			continue;
		memcpy(out + o, f->l[i].p, f->l[i].len);
		o += f->l[i].len;
	}
	out[o] = '\0';
	*len = o;
	return out;
}

void ocpasswd_free(struct ocpasswd *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++)
		line_clear(&f->l[i]);
	free(f->l);
	free(f->acct);
	free(f->slot);
	free(f->names);
	free(f->text);
	free(f);
}

size_t ocpasswd_count(const struct ocpasswd *f)
{
	return f->nacct;
}

static bool des_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '/';
}

static bool starts(const char *h, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(h, prefix, n) == 0;
}

/* The scheme named by a hash's prefix (after any '!' of a lock). */
static const char *scheme_of(const char *h, size_t len)
{
	while (len > 0 && *h == '!')
		h++, len--;
	if (len == 0)
		return "none";
	if (starts(h, len, "$6$"))
		return "sha512";
	if (starts(h, len, "$y$"))
		return "yescrypt";
	if (starts(h, len, "$5$"))
		return "sha256";
	if (starts(h, len, "$1$"))
		return "md5";
	if (starts(h, len, "$2a$") || starts(h, len, "$2b$") || starts(h, len, "$2y$"))
		return "bcrypt";
	if (len == 13) {
		size_t i = 0;
		while (i < 13 && des_char(h[i]))
			i++;
		if (i == 13)
			return "des";
	}
	return "unknown";
}

static void view_of(const struct line *ln, struct ocpasswd_account *ret)
{
	ret->username = ln->name;
	ret->groups = &ln->groups;
	ret->locked = ln->hash_len > 0 && ln->p[ln->hash_off] == '!';
	ret->scheme = scheme_of(ln->p + ln->hash_off, ln->hash_len);
}

bool ocpasswd_at(const struct ocpasswd *f, size_t i, struct ocpasswd_account *ret)
{
	if (i >= f->nacct)
		return false;
	view_of(&f->l[f->acct[i]], ret);
	return true;
}

bool ocpasswd_find(const struct ocpasswd *f, const char *username, struct ocpasswd_account *ret)
{
	const struct line *ln = lookup(f, username);

	if (ln == NULL)
		return false;
	view_of(ln, ret);
	return true;
}

/* Give line i new bytes (buf, owned from now on). When that changes
 * whether it is an account, or of whom, the index is rebuilt later. */
static int reline(struct ocpasswd *f, size_t i, char *buf, size_t len)
{
	struct line *ln = &f->l[i], nl = {.p = buf, .len = len, .own = buf};
	bool same;

	if (parse_line(&nl, NULL) < 0) {
		line_clear(&nl);
		return ERR_NOMEM;
	}
	same = (ln->flags & L_ACCOUNT) == (nl.flags & L_ACCOUNT) &&
	       (!(nl.flags & L_ACCOUNT) || strcmp(ln->name, nl.name) == 0);
	if (same)
		nl.flags |= ln->flags & L_PRIMARY;
	else
		f->stale = true;
	line_clear(ln);
	*ln = nl;
	return 0;
}

/* Mark every account-shaped line of name, from line i on, deleted. The
 * slot of the name is freed; acct is left to the caller. */
static void remove_name(struct ocpasswd *f, size_t i)
{
	char *name = f->l[i].name;

	slot_remove(f, slot_of(f, name));
	/* Backwards: line i, whose name is compared, goes last. */
	for (size_t j = f->n; j-- > i;) {
		struct line *ln = &f->l[j];
		if ((ln->flags & (L_ACCOUNT | L_GONE)) == L_ACCOUNT &&
		    strcmp(ln->name, name) == 0) {
			line_clear(ln);
			ln->flags = L_GONE;
		}
	}
}

/* Drop deleted lines from acct, in one pass. */
static void acct_compact(struct ocpasswd *f)
{
	size_t o = 0;

	for (size_t k = 0; k < f->nacct; k++)
		if (!(f->l[f->acct[k]].flags & L_GONE))
			f->acct[o++] = f->acct[k];
	f->nacct = o;
}

int ocpasswd_delete(struct ocpasswd *f, const char *username)
{
	struct line *ln = lookup(f, username);

	if (ln == NULL)
		return ERR_NOT_FOUND;
	remove_name(f, (size_t)(ln - f->l));
	acct_compact(f);
	return 0;
}

/* Whether a line of the user cannot take the change: unlocking "!" alone
 * would leave an empty hash, which logs in without a password; a '!' for
 * a hash that starts at byte 510 of an over-long line would be beyond what
 * ocserv reads. */
static bool lock_blocked(const struct ocpasswd *f, size_t first, const char *username, bool lock)
{
	for (size_t j = first; j < f->n; j++) {
		const struct line *ln = &f->l[j];
		if ((ln->flags & (L_ACCOUNT | L_GONE)) != L_ACCOUNT || strcmp(ln->name, username))
			continue;
		if (!lock && ln->hash_len == 1 && ln->p[ln->hash_off] == '!')
			return true;
		if (lock && ln->hash_off >= OCSERV_READ_MAX)
			return true;
	}
	return false;
}

/* Lock (add a '!' before the hash) or unlock (remove one) every
 * account-shaped line of the name, as ocpasswd -l / -u do: so that no
 * duplicate further down can ever stand in for a locked account. */
static int lock_lines(struct ocpasswd *f, const char *username, bool lock, bool *changed)
{
	struct line *first = lookup(f, username);
	bool any = false;

	if (first == NULL)
		return ERR_NOT_FOUND;
	if (lock_blocked(f, (size_t)(first - f->l), username, lock))
		return ERR_CONFLICT;
	for (size_t j = (size_t)(first - f->l); j < f->n; j++) {
		struct line *ln = &f->l[j];
		if ((ln->flags & (L_ACCOUNT | L_GONE)) != L_ACCOUNT || strcmp(ln->name, username))
			continue;
		bool is_locked = ln->hash_len > 0 && ln->p[ln->hash_off] == '!';
		if (is_locked == lock)
			continue;
		char *buf = malloc(ln->len + 1);
		if (buf == NULL)
			return ERR_NOMEM;
		memcpy(buf, ln->p, ln->hash_off);
		if (lock) {
			buf[ln->hash_off] = '!';
			memcpy(buf + ln->hash_off + 1, ln->p + ln->hash_off,
			       ln->len - ln->hash_off);
		} else {
			memcpy(buf + ln->hash_off, ln->p + ln->hash_off + 1,
			       ln->len - ln->hash_off - 1);
		}
		if (reline(f, j, buf, ln->len + (lock ? 1 : -1)) < 0)
			return ERR_NOMEM;
		any = true;
	}
	if (changed != NULL)
		*changed = any;
	return f->stale ? reindex(f, 0) : 0;
}

int ocpasswd_lock(struct ocpasswd *f, const char *username, bool *changed)
{
	return lock_lines(f, username, true, changed);
}

int ocpasswd_unlock(struct ocpasswd *f, const char *username, bool *changed)
{
	return lock_lines(f, username, false, changed);
}

/* --- Validation ------------------------------------------------------- */

enum name_fault {
	NF_EMPTY,
	NF_LONG,
	NF_SHORT,
	NF_DASH,
	NF_HASHMARK,
	NF_QUESTION,
	NF_COLON,
	NF_COMMA,
	NF_SPACE,
	NF_CONTROL,
	NF_UTF8,
	NF_SLASH,
	NF_DOT,
	NF_OK,
};

static const char *const user_fault[] = {
	[NF_EMPTY] = "username must not be empty",
	[NF_LONG] = "username is longer than 63 bytes",
	[NF_DASH] = "username must not start with '-'",
	[NF_HASHMARK] = "username must not start with '#'",
	[NF_QUESTION] = "username must not be \"?\"",
	[NF_COLON] = "username must not contain ':'",
	[NF_COMMA] = "username must not contain ','",
	[NF_SPACE] = "username must not contain white space",
	[NF_CONTROL] = "username contains a control character",
	[NF_UTF8] = "username is not valid UTF-8",
	[NF_SLASH] = "username must not contain '/'",
	[NF_DOT] = "username must not start with '.'",
};

static const char *const group_fault[] = {
	[NF_EMPTY] = "group name must not be empty",
	[NF_LONG] = "group name is longer than 63 bytes",
	[NF_SHORT] = "group name must be at least 2 bytes (ocserv ignores one-character groups)",
	[NF_DASH] = "group name must not start with '-'",
	[NF_COLON] = "group name must not contain ':'",
	[NF_COMMA] = "group name must not contain ','",
	[NF_SPACE] = "group name must not contain white space",
	[NF_CONTROL] = "group name contains a control character",
	[NF_UTF8] = "group name is not valid UTF-8",
	[NF_SLASH] = "group name must not contain '/'",
	[NF_DOT] = "group name must not start with '.'",
};

/* Unicode White_Space beyond ASCII (U+0085 is a C1 control, caught there). */
static bool unicode_space(unsigned cp)
{
	return cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

static enum name_fault name_fault(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);
	unsigned cp;

	if (len == 0)
		return NF_EMPTY;
	if (len > OCPASSWD_NAME_MAX)
		return NF_LONG;
	if (s[0] == '-')
		return NF_DASH;
	/* ocserv opens config-per-user/NAME and config-per-group/NAME: a name
	 * must never leave those directories ("../x", ".."). */
	if (s[0] == '.')
		return NF_DOT;
	if (strchr(s, '/') != NULL)
		return NF_SLASH;
	for (size_t i = 0, n; i < len; i += n) {
		n = utf8_decode(u + i, len - i, &cp);
		if (n == 0)
			return NF_UTF8;
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return NF_CONTROL;
		if (cp == ' ' || unicode_space(cp))
			return NF_SPACE;
		if (cp == ':')
			return NF_COLON;
		if (cp == ',')
			return NF_COMMA;
	}
	return NF_OK;
}

const char *ocpasswd_check_name(const char *s)
{
	enum name_fault nf = name_fault(s);

	/* '#' would read as a comment to an import of our own export; occtl
	 * reads a lone '?' as a request for help. */
	if (nf == NF_OK && s[0] == '#')
		nf = NF_HASHMARK;
	if (nf == NF_OK && strcmp(s, "?") == 0)
		nf = NF_QUESTION;
	return nf == NF_OK ? NULL : user_fault[nf];
}

const char *ocpasswd_check_group(const char *s)
{
	enum name_fault nf = name_fault(s);

	if (nf == NF_OK && strlen(s) < 2)
		nf = NF_SHORT;
	return nf == NF_OK ? NULL : group_fault[nf];
}

const char *ocpasswd_check_password(const char *s)
{
	size_t len = strlen(s);

	if (len == 0)
		return "password must not be empty";
	if (len > OCPASSWD_PASSWORD_MAX)
		return "password is longer than 256 bytes";
	if (memchr(s, '\n', len) != NULL)
		return "password must not contain a newline";
	return NULL;
}

/* A hash we write with ocpasswd_set(): printable ASCII, no ':' or white
 * space, not a lock mark. NULL or a reason. */
static const char *check_hash(const char *h)
{
	size_t len = strlen(h);

	if (len == 0)
		return "the password hash is empty";
	if (len > OCPASSWD_HASH_MAX)
		return "the password hash is longer than 127 bytes";
	if (h[0] == '!')
		return "the password hash must not start with '!'";
	for (size_t i = 0; i < len; i++)
		if (h[i] <= ' ' || h[i] > '~' || h[i] == ':')
			return "the password hash contains ':', white space or a non-ASCII byte";
	return NULL;
}

static bool hash_char(char c)
{
	return des_char(c) || c == '$' || c == '=' || c == ',' || c == '+' || c == '-';
}

/* Whether h (len bytes, maybe '!'-locked) looks like crypt(3) output:
 * "$id$...$..." with at least three '$' and something after the last, or
 * a 13-character DES hash. Failure tokens ("*0"), "*" and empty are not. */
static bool hash_plausible(const char *h, size_t len)
{
	size_t dollars = 0;

	if (len > OCPASSWD_HASH_MAX)
		return false;
	while (len > 0 && *h == '!')
		h++, len--;
	if (len == 13 && strcmp(scheme_of(h, len), "des") == 0)
		return true;
	if (len < 4 || h[0] != '$' || h[len - 1] == '$')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!hash_char(h[i]))
			return false;
		dollars += h[i] == '$';
	}
	return dollars >= 3;
}

/* --- Changing accounts ------------------------------------------------ */

/* "g1,g2", or "*" for no group: what ocpasswd writes without -g. */
static size_t groups_field(const struct strv *g, char *out)
{
	size_t o = 0;

	if (g->n == 0) {
		out[0] = '*';
		return 1;
	}
	for (size_t i = 0; i < g->n; i++) {
		size_t n = strlen(g->v[i]);
		if (i > 0)
			out[o++] = ',';
		memcpy(out + o, g->v[i], n);
		o += n;
	}
	return o;
}

static const char *check_groups(const struct strv *g)
{
	const char *why = NULL;

	for (size_t i = 0; i < g->n && why == NULL; i++)
		why = ocpasswd_check_group(g->v[i]);
	return why;
}

/* Lines we write are read whole by ocserv: with their newline, at most
 * OCSERV_READ_MAX bytes. */
static size_t groups_bound(const struct strv *g)
{
	size_t n = 1;

	for (size_t i = 0; g != NULL && i < g->n; i++)
		n += strlen(g->v[i]) + 1;
	return n;
}

/* Appending needs a newline after the current last line. Adding one
 * changes how ocserv reads a line of exactly 4 bytes ("ab::" is skipped,
 * "ab::\n" is an account without a password): then the new line goes in
 * before that one (*before), which keeps its bytes. */
static int terminate_last(struct ocpasswd *f, bool *before)
{
	size_t i = f->n;
	struct line *ln, probe;
	char *buf;

	*before = false;
	while (i > 0 && (f->l[i - 1].flags & L_GONE))
		i--;
	if (i == 0 || f->l[i - 1].p[f->l[i - 1].len - 1] == '\n')
		return 0;
	ln = &f->l[i - 1];
	buf = malloc(ln->len + 1);
	if (buf == NULL)
		return ERR_NOMEM;
	memcpy(buf, ln->p, ln->len);
	buf[ln->len] = '\n';
	probe = (struct line){.p = buf, .len = ln->len + 1};
	if (parse_line(&probe, NULL) < 0) {
		line_clear(&probe);
		free(buf);
		return ERR_NOMEM;
	}
	*before = (probe.flags & L_ACCOUNT) != (ln->flags & L_ACCOUNT);
	line_clear(&probe);
	if (*before) {
		free(buf);
		return 0;
	}
	return reline(f, i - 1, buf, ln->len + 1);
}

/* Append a new line (buf, owned) for an account that does not exist. */
static int append_account(struct ocpasswd *f, char *buf, size_t len)
{
	bool before;
	int r = terminate_last(f, &before);

	if (r < 0 || (r = line_push(f, buf, len, buf, NULL)) < 0)
		return r;
	if (before) {
		size_t last = f->n - 2;
		struct line tmp;
		while (f->l[last].flags & L_GONE)
			last--;
		tmp = f->l[last];
		f->l[last] = f->l[f->n - 1];
		f->l[f->n - 1] = tmp;
		f->stale = true;
	}
	if (f->stale || (f->nused + 1) * 2 > f->nslot)
		return reindex(f, 1);
	size_t h = name_hash(f->l[f->n - 1].name), s = slot_find(f, f->l[f->n - 1].name, h);
	if (f->slot[s].line != 0) /* only if a caller appends a name that exists */
		return reindex(f, 0);
	if (acct_push(f, f->n - 1) < 0)
		return ERR_NOMEM;
	slot_set(f, s, f->n - 1, h);
	return 0;
}

/* The new bytes of an existing account's line: name:groups:hash and its
 * old terminator. groups NULL keeps the field as it is; hash NULL keeps
 * everything from the hash on. */
static char *rewrite(const struct line *ln, const char *lock, const char *hash,
		     const struct strv *groups, size_t *ret_len)
{
	size_t name_len = (size_t)ln->groups_off - 1, content = ln->len - ln->term_len;
	size_t rest = hash ? strlen(lock) + strlen(hash) : content - ln->hash_off;
	size_t glen = groups ? groups_bound(groups) : ln->groups_len;
	char *buf = malloc(name_len + glen + rest + ln->term_len + 3), *o = buf;

	if (buf == NULL)
		return NULL;
	memcpy(o, ln->p, name_len + 1);
	o += name_len + 1;
	if (groups != NULL) {
		o += groups_field(groups, o);
	} else {
		memcpy(o, ln->p + ln->groups_off, ln->groups_len);
		o += ln->groups_len;
	}
	*o++ = ':';
	if (hash != NULL)
		o = stpcpy(stpcpy(o, lock), hash);
	else
		o = mempcpy(o, ln->p + ln->hash_off, rest);
	o = mempcpy(o, ln->p + content, ln->term_len);
	*ret_len = (size_t)(o - buf);
	return buf;
}

static bool too_long(const char *buf, size_t len)
{
	return len - (buf[len - 1] == '\n') + 1 > OCSERV_READ_MAX;
}

static int update(struct ocpasswd *f, struct line *ln, const char *hash, const struct strv *groups,
		  bool unlock)
{
	bool locked = ln->hash_len > 0 && ln->p[ln->hash_off] == '!';
	const char *lock = locked && !unlock ? "!" : "";
	size_t len;
	char *buf;

	if (hash != NULL && strlen(lock) + strlen(hash) > OCPASSWD_HASH_MAX)
		return ERR_BAD_REQUEST;
	buf = rewrite(ln, lock, hash, groups, &len);
	if (buf == NULL)
		return ERR_NOMEM;
	if (len == ln->len && memcmp(buf, ln->p, len) == 0) {
		free(buf);
		return 0;
	}
	if (too_long(buf, len)) {
		free(buf);
		return ERR_BAD_REQUEST;
	}
	int r = reline(f, (size_t)(ln - f->l), buf, len);
	return r < 0 ? r : f->stale ? reindex(f, 0) : 0;
}

static int create(struct ocpasswd *f, const char *username, const char *hash,
		  const struct strv *groups)
{
	static const struct strv none;
	size_t name_len = strlen(username);
	char *buf = malloc(name_len + groups_bound(groups) + strlen(hash) + 3), *o = buf;

	if (buf == NULL)
		return ERR_NOMEM;
	o = mempcpy(o, username, name_len);
	*o++ = ':';
	o += groups_field(groups ? groups : &none, o);
	*o++ = ':';
	o = stpcpy(o, hash);
	*o++ = '\n';
	if (too_long(buf, (size_t)(o - buf))) {
		free(buf);
		return ERR_BAD_REQUEST;
	}
	return append_account(f, buf, (size_t)(o - buf));
}

int ocpasswd_set(struct ocpasswd *f, const char *username, const char *hash,
		 const struct strv *groups, bool unlock, bool *created)
{
	struct line *ln;

	if (ocpasswd_check_name(username) != NULL || (hash != NULL && check_hash(hash)) ||
	    (groups != NULL && check_groups(groups) != NULL))
		return ERR_BAD_REQUEST;
	ln = lookup(f, username);
	if (created != NULL)
		*created = ln == NULL;
	if (ln != NULL)
		return update(f, ln, hash, groups, unlock);
	if (hash == NULL)
		return ERR_BAD_REQUEST;
	return create(f, username, hash, groups);
}

/* --- Import ----------------------------------------------------------- */

/* Lines of an imported text that hold no account and need none: blank, or
 * a '#' comment. */
static bool ignorable(const struct line *ln)
{
	for (size_t i = 0; i < ln->len; i++) {
		if (ln->p[i] == '#')
			return true;
		if (!is_space(ln->p[i]))
			return false;
	}
	return true;
}

/* The groups field of an imported line, each group as we would write it:
 * "" and "*" are no group. */
static const char *check_groups_field(const char *p, size_t len)
{
	char g[OCPASSWD_NAME_MAX + 1];
	const char *why = NULL;

	if (len == 0 || (len == 1 && p[0] == '*'))
		return NULL;
	for (size_t i = 0; i <= len && why == NULL;) {
		const char *e = memchr(p + i, ',', len - i);
		size_t end = e ? (size_t)(e - p) : len;
		if (end - i > OCPASSWD_NAME_MAX)
			return group_fault[NF_LONG];
		memcpy(g, p + i, end - i);
		g[end - i] = '\0';
		why = ocpasswd_check_group(g);
		i = end + 1;
	}
	return why;
}

static const char *import_fault(const struct line *ln)
{
	size_t content = ln->len - ln->term_len;
	const char *why;

	if (memchr(ln->p, '\0', ln->len) != NULL)
		return "contains a NUL byte";
	if (content + 1 > OCSERV_READ_MAX)
		return "is longer than 509 bytes (ocserv reads 510 with the newline)";
	if (!(ln->flags & L_ACCOUNT))
		return "is not in the form user:groups:hash";
	/* As we write it: "*" for no group, and a newline. */
	if ((size_t)ln->hash_off + ln->hash_len + (ln->groups_len == 0) + 1 > OCSERV_READ_MAX)
		return "is longer than 509 bytes once \"*\" stands for no group";
	if (!(ln->flags & L_PRIMARY))
		return "names a user that an earlier line already has";
	if ((why = ocpasswd_check_name(ln->name)) != NULL)
		return why;
	if ((why = check_groups_field(ln->p + ln->groups_off, ln->groups_len)) != NULL)
		return why;
	if (ln->hash_len == 0 || (ln->hash_len == 1 && ln->p[ln->hash_off] == '!'))
		return "the password hash is empty";
	if (!hash_plausible(ln->p + ln->hash_off, ln->hash_len))
		return "the password hash does not look like crypt(3) output";
	if ((size_t)ln->hash_off + ln->hash_len != content)
		return "has more than three ':'-separated fields";
	return NULL;
}

int ocpasswd_import_check(const struct ocpasswd *in, size_t *skipped, struct err_info *ei)
{
	size_t n = 0;

	for (size_t i = 0; i < in->n; i++) {
		const struct line *ln = &in->l[i];
		const char *why;
		if (ln->flags & L_GONE)
			continue;
		if (ignorable(ln)) {
			n++;
			continue;
		}
		if ((why = import_fault(ln)) != NULL)
			return err_set(ei, ERR_BAD_REQUEST, "line %zu: %s", i + 1, why);
	}
	if (skipped != NULL)
		*skipped = n;
	return 0;
}

/* One imported account into f: added, updated or unchanged. */
static int import_one(struct ocpasswd *f, const struct line *src, enum ocpasswd_change *ch)
{
	struct line *ln = lookup(f, src->name);
	char hash[OCPASSWD_HASH_MAX + 1];

	memcpy(hash, src->p + src->hash_off, src->hash_len);
	hash[src->hash_len] = '\0';
	if (ln == NULL) {
		*ch = OCPASSWD_ADDED;
		return create(f, src->name, hash, &src->groups);
	}
	if (strv_equal(&ln->groups, &src->groups) && ln->hash_len == src->hash_len &&
	    memcmp(ln->p + ln->hash_off, hash, src->hash_len) == 0) {
		*ch = OCPASSWD_UNCHANGED;
		return 0;
	}
	*ch = OCPASSWD_UPDATED;
	size_t len;
	char *buf = rewrite(ln, "", hash, &src->groups, &len);
	if (buf == NULL)
		return ERR_NOMEM;
	if (too_long(buf, len)) {
		free(buf);
		return ERR_BAD_REQUEST;
	}
	return reline(f, (size_t)(ln - f->l), buf, len);
}

int ocpasswd_import(struct ocpasswd *f, const struct ocpasswd *in, bool replace,
		    int (*cb)(void *ctx, const char *username, enum ocpasswd_change change),
		    void *ctx)
{
	enum ocpasswd_change ch;
	int r = 0;

	for (size_t k = 0; k < in->nacct && r == 0; k++) {
		const struct line *src = &in->l[in->acct[k]];
		if (ignorable(src) || import_fault(src) != NULL)
			continue;
		r = import_one(f, src, &ch);
		if (r == 0 && f->stale)
			r = reindex(f, 0);
		if (r == 0 && cb != NULL)
			r = cb(ctx, src->name, ch);
	}
	for (size_t i = 0; replace && r == 0 && i < f->n; i++) {
		struct line *ln = &f->l[i];
		const struct line *src;
		if (!(ln->flags & L_PRIMARY) || (ln->flags & L_GONE))
			continue;
		src = lookup(in, ln->name);
		if (src != NULL && !ignorable(src) && import_fault(src) == NULL)
			continue;
		if (cb != NULL)
			r = cb(ctx, ln->name, OCPASSWD_DELETED);
		remove_name(f, i);
	}
	acct_compact(f);
	return r;
}

/* --- Hashing ---------------------------------------------------------- */

int ocpasswd_scheme_parse(const char *name, enum ocpasswd_scheme *ret)
{
	if (strcmp(name, "sha512") == 0)
		*ret = OCPASSWD_SHA512;
	else if (strcmp(name, "yescrypt") == 0)
		*ret = OCPASSWD_YESCRYPT;
	else
		return ERR_BAD_REQUEST;
	return 0;
}

int ocpasswd_hash(const char *password, enum ocpasswd_scheme scheme, char *out, size_t len,
		  struct err_info *ei)
{
	const char *prefix = scheme == OCPASSWD_YESCRYPT ? "$y$" : "$6$";
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	size_t hl;
	int r = 0;

	/* count 0 and no random bytes: libxcrypt's default cost and a salt
	 * from the kernel's CSPRNG (getrandom). */
	if (crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return err_set(ei, ERR_INTERNAL, "crypt_gensalt_rn(%s): %s", prefix,
			       strerror(errno));
	/* 32 KiB: too much for a small thread stack. */
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	h = crypt_r(password, salt, cd);
	hl = h != NULL ? strlen(h) : 0;
	/* libxcrypt fails with "*0" or "*1" (or NULL); anything but a hash of
	 * the scheme asked for is refused, so a failure is never written. */
	if (h == NULL || strncmp(h, prefix, 3) != 0 || hl >= len || check_hash(h) != NULL)
		r = err_set(ei, ERR_INTERNAL, "crypt_r(%s) did not return a %s hash", prefix,
			    prefix);
	else
		memcpy(out, h, hl + 1);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

size_t ocpasswd_long_line(const struct ocpasswd *f)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct line *ln = &f->l[i];
		size_t raw = ln->len - (ln->len > 0 && ln->p[ln->len - 1] == '\n');

		if (!(ln->flags & L_GONE) && raw >= OCSERV_READ_MAX)
			return i + 1;
	}
	return 0;
}
