/* Fuzz targets: each defines LLVMFuzzerTestOneInput. Built with libFuzzer
 * (meson -Dfuzzing=true, CC=clang) or, in every build, linked with
 * replay_main.c into a program that runs the files it is given (the corpus
 * regression run of scripts/test.sh). */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A memfd holding data, for parsers that read files; its /proc path goes to
 * path (at least 64 bytes). Returns the fd (caller closes) or -1. */
int fuzz_memfd(const uint8_t *data, size_t size, char *path);
