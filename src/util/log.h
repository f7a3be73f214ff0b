/* Logging to stderr, text or JSON lines. Every line passes through the
 * secret registry: a value registered with log_secret_add() is replaced by
 * "[REDACTED]" wherever it appears, whatever the level. */
#ifndef LB_LOG_H
#define LB_LOG_H

#include <stdbool.h>

enum log_level { LL_ERROR, LL_WARN, LL_INFO, LL_DEBUG, LL_TRACE };

void log_init(enum log_level level, bool json);
bool log_enabled(enum log_level level);
/* Parses "error|warn|info|debug|trace"; returns -1 when unknown. */
int log_level_parse(const char *s);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like log_msg, but in text format the message alone, without time and
 * level: for "FILE:LINE:COLUMN: message" that editors and scripts parse. */
void log_bare(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LL_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LL_TRACE, __VA_ARGS__)

/* The registry keeps the pointer, not a copy: the owner must call
 * log_secret_remove() before wiping and freeing the value. Values shorter
 * than 4 bytes are ignored (they would redact ordinary words). */
void log_secret_add(const char *value);
void log_secret_remove(const char *value);

/* Returns a malloc'd copy of s with every registered secret replaced.
 * The caller frees it. Returns NULL on allocation failure. */
char *log_redact(const char *s);

#endif
