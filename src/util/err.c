#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

size_t
err_escape(char *dst, size_t len, const char *src, bool keep_newlines)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (len == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
		bool ctl = *p < 0x20 || *p == 0x7f;

		if (keep_newlines && *p == '\n')
			ctl = false;
		if (!ctl) {
			if (o + 1 >= len)
				break;
			dst[o++] = (char)*p;
			continue;
		}
		if (o + 4 >= len)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[*p >> 4];
		dst[o++] = hex[*p & 15];
	}
	dst[o] = '\0';
	return o;
}

/* Messages carry what devices and CAs said; a control character in it
 * could rewrite the terminal or forge a log line, so none gets through.
 * Formatting goes through a copy, so that an argument may be e->msg
 * itself (a cause kept inside a new message). */
int
err_set(struct err *e, int code, const char *fmt, ...)
{
	char raw[sizeof(e->msg)];
	va_list ap;

	if (e == NULL)
		return code;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	e->code = code;
	err_escape(e->msg, sizeof(e->msg), raw, false);
	return code;
}

int
err_prefix(struct err *e, const char *fmt, ...)
{
	char raw[512], prefix[512], joined[sizeof(prefix) + sizeof(e->msg) + 2];
	va_list ap;

	if (e == NULL)
		return LB_ERR;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	err_escape(prefix, sizeof(prefix), raw, false);
	snprintf(joined, sizeof(joined), "%s: %s", prefix, e->msg);
	memcpy(e->msg, joined, sizeof(e->msg) - 1);
	e->msg[sizeof(e->msg) - 1] = '\0';
	return e->code;
}

void
err_clear(struct err *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}
