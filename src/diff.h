/* Unified diffs of two texts, as `diff -u` prints them: "--- LABEL_A" and
 * "+++ LABEL_B" lines, then hunks "@@ -A,N +B,M @@" with 3 lines of context
 * (hunks whose context would touch or overlap are merged), lines prefixed
 * with ' ', '-' or '+', and "\ No newline at end of file" after a last line
 * without one. Lines are compared as bytes (a "\r" is part of its line).
 * The edit script is a shortest one (Myers' algorithm after the common
 * prefix and suffix are set aside). Among equally short scripts, runs of
 * changed lines are slid as diff -u slides them (down as far as equal
 * lines allow, unless beside a change of the other text), so the output is
 * diff -u's for real files; on contrived texts with many equal lines it may
 * pick another, equally short, script. When the texts differ in more than
 * DIFF_MAX_EDITS lines the diff is still correct but may not be minimal
 * (every remaining line of the middle is removed and re-added), so time and
 * memory stay bounded for any input: memory linear in the number of lines,
 * time at most about lines x DIFF_MAX_EDITS. */
#pragma once

#include <stddef.h>

#define DIFF_CONTEXT   3
#define DIFF_MAX_EDITS 2000

/* The diff of a (alen bytes) to b (blen bytes; either may be NULL when its
 * length is 0); "" (len 0) when they are equal. malloc'd and NUL-terminated, *len without the NUL; NULL on
 * ENOMEM. Labels are printed as given (the caller keeps them printable). */
char *diff_unified(const char *a, size_t alen, const char *b, size_t blen, const char *label_a,
		   const char *label_b, size_t *len);
