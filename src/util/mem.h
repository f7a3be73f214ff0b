/* Small allocation helpers that no library gives us. */
#ifndef LB_MEM_H
#define LB_MEM_H

#include <stddef.h>

/* Wipes s with OPENSSL_cleanse and frees it; NULL is fine. */
void secret_free(char *s);
/* Like strdup/asprintf; return NULL on failure. The caller frees. */
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Frees an array of n strings and the array itself. */
void strv_free(char **v, size_t n);

#endif
