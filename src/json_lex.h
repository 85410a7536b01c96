/* A pull lexer for JSON text: one token at a time, no tree. Used where
 * output scales with the number of VPN users (occtl's session lists) and a
 * DOM would cost more than the occtl call itself.
 *
 * Strings are decoded (escapes, \uXXXX with surrogate pairs) into a buffer
 * owned by the lexer, valid until the next call. A NUL escape (\u0000) is an
 * error: nothing downstream wants embedded NULs. The lexer does not check
 * grammar (commas, colons): its caller decides what to tolerate. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_tok {
	JT_ERROR = -1,
	JT_EOF = 0,
	JT_BEGIN_OBJECT,
	JT_END_OBJECT,
	JT_BEGIN_ARRAY,
	JT_END_ARRAY,
	JT_COLON,
	JT_COMMA,
	JT_STRING,
	JT_INTEGER, /* fits int64: see num */
	JT_NUMBER,  /* any other number: fraction, exponent or out of range */
	JT_TRUE,
	JT_FALSE,
	JT_NULL,
};

struct json_lex {
	const char *p, *end;
	char *str; /* decoded JT_STRING, NUL-terminated */
	size_t str_len;
	size_t str_cap;
	int64_t num;	 /* JT_INTEGER value */
	const char *err; /* static reason after JT_ERROR */
};

/* Start lexing len bytes at buf (not copied; must outlive the lexer). */
void json_lex_init(struct json_lex *lx, const char *buf, size_t len);

/* The next token. JT_ERROR leaves lx->err set; on allocation failure too. */
enum json_tok json_lex_next(struct json_lex *lx);

/* Skip one complete value whose first token is tok (nested up to 64 deep).
 * Returns false on a lexical error, bad nesting or end of input. */
bool json_lex_skip(struct json_lex *lx, enum json_tok tok);

/* Byte offset of the lexer in its input, for error messages. */
size_t json_lex_offset(const struct json_lex *lx, const char *buf);

void json_lex_free(struct json_lex *lx);
