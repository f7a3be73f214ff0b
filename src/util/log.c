#include "util/log.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level cur_level = LL_INFO;
static bool cur_json;
/* Grows as devices and CAs register their secrets; a fleet may have
 * hundreds of devices, each with its own resolved password. */
static const char **secrets;
static size_t nsecrets, capsecrets;
/* run --jobs: workers register secrets and log at the same time. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *names[] = { "error", "warn", "info", "debug", "trace" };

void
log_init(enum log_level level, bool json)
{
	cur_level = level;
	cur_json = json;
}

bool
log_enabled(enum log_level level)
{
	return level <= cur_level;
}

int
log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static void
secret_add_locked(const char *value)
{
	const char **grown;

	if (value == NULL || strlen(value) < 4)
		return;
	for (size_t i = 0; i < nsecrets; i++)
		if (secrets[i] == value)
			return;
	for (size_t i = 0; i < nsecrets; i++)
		if (secrets[i] == NULL) {
			secrets[i] = value;
			return;
		}
	if (nsecrets == capsecrets) {
		size_t cap = capsecrets ? capsecrets * 2 : 16;
		if ((grown = realloc(secrets, cap * sizeof(*secrets))) == NULL)
			abort(); /* never let a secret through unredacted */
		secrets = grown;
		capsecrets = cap;
	}
	secrets[nsecrets++] = value;
}

static void
secret_remove_locked(const char *value)
{
	for (size_t i = 0; i < nsecrets; i++)
		if (secrets[i] == value)
			secrets[i] = NULL;
}

static char *
replace_all(char *s, const char *needle)
{
	static const char mark[] = "[REDACTED]";
	size_t nlen = strlen(needle), mlen = sizeof(mark) - 1;
	char *p, *out;
	size_t count = 0, len = strlen(s);

	for (p = strstr(s, needle); p != NULL; p = strstr(p + nlen, needle))
		count++;
	if (count == 0)
		return s;
	out = malloc(len + count * mlen + 1);
	if (out == NULL) {
		OPENSSL_cleanse(s, len);
		free(s);
		return NULL;
	}
	char *w = out, *r = s;
	for (p = strstr(r, needle); p != NULL; p = strstr(r, needle)) {
		memcpy(w, r, (size_t)(p - r));
		w += p - r;
		memcpy(w, mark, mlen);
		w += mlen;
		r = p + nlen;
	}
	strcpy(w, r);
	/* s may still hold other secrets: the caller's copies are wiped */
	OPENSSL_cleanse(s, len);
	free(s);
	return out;
}

static char *
redact_locked(const char *s)
{
	char *out = strdup(s);

	for (size_t i = 0; i < nsecrets && out != NULL; i++)
		if (secrets[i] != NULL && strlen(secrets[i]) >= 4)
			out = replace_all(out, secrets[i]);
	return out;
}

void
log_secret_add(const char *value)
{
	pthread_mutex_lock(&reg_lock);
	secret_add_locked(value);
	pthread_mutex_unlock(&reg_lock);
}

void
log_secret_remove(const char *value)
{
	pthread_mutex_lock(&reg_lock);
	secret_remove_locked(value);
	pthread_mutex_unlock(&reg_lock);
}

char *
log_redact(const char *s)
{
	char *out;

	pthread_mutex_lock(&reg_lock);
	out = redact_locked(s);
	pthread_mutex_unlock(&reg_lock);
	return out;
}

static void
log_vmsg(enum log_level level, bool bare, const char *fmt, va_list ap)
{
	char *raw = NULL, *line;
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!log_enabled(level))
		return;
	if (vasprintf(&raw, fmt, ap) < 0)
		raw = NULL;
	if (raw == NULL)
		return;
	line = log_redact(raw);
	/* the unredacted text is what the registry exists to keep private */
	OPENSSL_cleanse(raw, strlen(raw));
	free(raw);
	if (line == NULL)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (cur_json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "time", ts,
		    "level", names[level], "msg", line);
		char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (js != NULL)
			fprintf(stderr, "%s\n", js);
		free(js);
		json_decref(o);
	} else if (bare)
		fprintf(stderr, "%s\n", line);
	else
		fprintf(stderr, "%s lbcert %s: %s\n", ts, names[level], line);
	free(line);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, false, fmt, ap);
	va_end(ap);
}

void
log_bare(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, true, fmt, ap);
	va_end(ap);
}
