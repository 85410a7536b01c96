#include "json_depth.h"

#include <stdbool.h>

/* A '"' outside a string always opens one in JSON (elsewhere it is a
 * syntax error jansson refuses), and inside one only an unescaped '"'
 * closes it: the brackets counted here are exactly those a parser would
 * nest on, for every text the parser accepts. */
unsigned json_depth(const char *text, size_t len, unsigned stop)
{
	unsigned depth = 0, deepest = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (in_string) {
			if (c == '\\')
				i++; /* the escaped byte, whatever it is */
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > deepest && (deepest = depth) > stop)
				return stop + 1;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return deepest;
}
