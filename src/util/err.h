/* Errors: functions return 0 or a negative LB_E* code and describe the
 * failure for the user in a struct err that the caller owns. */
#ifndef LB_ERR_H
#define LB_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum {
	LB_OK = 0,
	LB_ERR = -1,       /* failed; the message says why */
	LB_EUNREACH = -2,  /* peer could not be reached at all (exit 4) */
	LB_ENOTFOUND = -3, /* the object does not exist */
	LB_EPENDING = -4,  /* not ready yet (CA still issuing): try on a later run */
	LB_EAUTH = -5,     /* credentials refused */
	LB_ELOCKED = -6,   /* another run holds the lock (exit 3) */
	LB_ECONFIG = -7,   /* bad configuration (exit 2) */
	LB_EEXIST = -8,    /* the object already exists */
	LB_EUNKNOWN = -9,  /* sent, but whether the peer acted is unknown (no
			    * answer after sending, or a server error) */
	LB_ENOTSUP = -10,   /* the peer cannot do or tell this */
};

struct err {
	int code;
	char msg[1024];
};

/* Sets e->msg (printf-style, control characters escaped as \xNN) and
 * e->code; returns code so that `return err_set(e, LB_ERR, ...)` reads
 * naturally. e may be NULL; an argument may be e->msg. */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the existing message: "<prefix>: <old message>". */
int err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

/* Copies src into dst (len bytes, always terminated, cut when full) with
 * every control character written as \xNN, newlines kept when asked:
 * text from a device or CA is never printed raw. Returns the length. */
size_t err_escape(char *dst, size_t len, const char *src, bool keep_newlines);

#endif
