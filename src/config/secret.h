/* Secret values in credentials.yaml: a literal, "${ENV_VAR}", or a
 * "<name>_file:" key naming a file that holds the value. */
#ifndef LB_SECRET_H
#define LB_SECRET_H

#include <sys/stat.h>

#include "util/err.h"

/* Resolves a literal or ${ENV} value. *out is malloc'd, freed by the caller
 * with secret_free(). Error message (without position) in e. */
int secret_resolve_value(const char *raw, char **out, struct err *e);
/* Reads the file (trailing newline stripped). Refuses a file that group or
 * others can read. */
int secret_resolve_file(const char *path, char **out, struct err *e);
/* 0 when path is not readable by group/others, else LB_ECONFIG. */
int secret_check_mode(const char *path, struct err *e);
/* The same check on a stat already taken (fstat of the descriptor about to
 * be read, so the file checked is the file read); path names it in e. */
int secret_check_stat(const char *path, const struct stat *st, struct err *e);

#endif
