/* How deeply a JSON text nests, found without parsing it.
 *
 * jansson recurses once per level and only stops at a compile-time 2048:
 * a body is measured with this linear, constant-memory scan before it is
 * parsed, so that a small request cannot cost a deep stack or a large tree.
 * Pure function. */
#pragma once

#include <stddef.h>

/* The deepest nesting of arrays and objects in text[0..len) ("{}" is 1,
 * {"a":[1]} is 2, a scalar 0), counting '[' and '{' outside strings (with
 * their backslash escapes) and ']' and '}' that close them. It does not
 * check grammar: any text has a depth, malformed text included. The scan
 * stops early once the depth passes stop, returning stop + 1. */
unsigned json_depth(const char *text, size_t len, unsigned stop);
