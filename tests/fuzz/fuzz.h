/* Shared pieces of the libFuzzer targets: NUL-terminated copies of the
 * input (the parsers under test take C strings, as http.c hands them
 * NUL-terminated bodies), splitting one input into parts, and a quiet
 * log so that the fuzzer's own output stays readable. */
#ifndef LB_FUZZ_H
#define LB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a C string; embedded NULs end it early, as they would in
 * the module under test. */
static inline char *
fz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Splits data at each occurrence of sep into at most max parts (the last
 * part keeps any further separators). Returns the count; parts point into
 * data. */
static inline size_t
fz_split(const uint8_t *data, size_t size, const char *sep, const uint8_t **part,
    size_t *len, size_t max)
{
	size_t n = 0, slen = strlen(sep), start = 0;

	for (size_t i = 0; n + 1 < max && i + slen <= size; i++)
		if (memcmp(data + i, sep, slen) == 0) {
			part[n] = data + start;
			len[n++] = i - start;
			start = i + slen;
			i = start - 1;
		}
	part[n] = data + start;
	len[n++] = size - start;
	return n;
}

/* A property of the code under test does not hold: a crash for libFuzzer. */
#define FZ_ASSERT(c) do { if (!(c)) { \
	fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #c); \
	abort(); } } while (0)

#define FZ_QUIET_INIT \
int LLVMFuzzerInitialize(int *argc, char ***argv) \
{ \
	(void)argc; \
	(void)argv; \
	log_init(LL_ERROR, false); \
	return 0; \
}

#endif
