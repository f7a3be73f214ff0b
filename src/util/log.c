#include "util/log.h"
#include "util/err.h"

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
 * hundreds of devices, each with its own resolved password. A secret is
 * also looked for in the forms a JSON body gives it (a password with a
 * quote, a backslash, a slash or non-ASCII characters is escaped there). */
#define SECRET_FORMS 4
struct secret {
	const char *value;          /* the caller's; NULL: free slot */
	char *forms[SECRET_FORMS];  /* escaped forms that differ, owned */
};
static struct secret *secrets;
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

/* value as it stands inside a JSON string under the given jansson
 * flags (without the quotes); NULL when it reads the same as value. */
static char *
json_form(const char *value, size_t flags)
{
	json_t *j = json_string(value);
	char *d = j != NULL ? json_dumps(j, JSON_ENCODE_ANY | flags) : NULL;
	size_t n = d != NULL ? strlen(d) : 0;

	json_decref(j);
	if (d == NULL)
		return NULL;
	if (n < 2 || (n - 2 == strlen(value) && strncmp(d + 1, value, n - 2) == 0)) {
		OPENSSL_cleanse(d, n);
		free(d);
		return NULL;
	}
	memmove(d, d + 1, n - 2);
	d[n - 2] = '\0';
	return d;
}

static void
forms_free(struct secret *s)
{
	for (size_t i = 0; i < SECRET_FORMS; i++) {
		if (s->forms[i] != NULL)
			OPENSSL_cleanse(s->forms[i], strlen(s->forms[i]));
		free(s->forms[i]);
		s->forms[i] = NULL;
	}
}

static void
forms_make(struct secret *s)
{
	static const size_t flags[SECRET_FORMS] = { 0, JSON_ESCAPE_SLASH, JSON_ENSURE_ASCII,
		JSON_ESCAPE_SLASH | JSON_ENSURE_ASCII };

	for (size_t i = 0; i < SECRET_FORMS; i++)
		s->forms[i] = json_form(s->value, flags[i]);
}

static void
secret_add_locked(const char *value)
{
	struct secret *grown, *slot = NULL;

	/* Every length: a short password is still a password. */
	if (value == NULL || value[0] == '\0')
		return;
	for (size_t i = 0; i < nsecrets; i++)
		if (secrets[i].value == value)
			return;
	for (size_t i = 0; i < nsecrets && slot == NULL; i++)
		if (secrets[i].value == NULL)
			slot = &secrets[i];
	if (slot == NULL) {
		if (nsecrets == capsecrets) {
			size_t cap = capsecrets ? capsecrets * 2 : 16;
			if ((grown = realloc(secrets, cap * sizeof(*secrets))) == NULL)
				abort(); /* never let a secret through unredacted */
			secrets = grown;
			capsecrets = cap;
		}
		slot = &secrets[nsecrets++];
	}
	memset(slot, 0, sizeof(*slot));
	slot->value = value;
	forms_make(slot);
}

static void
secret_remove_locked(const char *value)
{
	for (size_t i = 0; i < nsecrets; i++)
		if (secrets[i].value == value) {
			forms_free(&secrets[i]);
			secrets[i].value = NULL;
		}
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

	/* Longest first would be kinder to secrets that contain each other;
	 * any order still leaves none of them readable. */
	for (size_t i = 0; i < nsecrets && out != NULL; i++) {
		if (secrets[i].value == NULL)
			continue;
		out = replace_all(out, secrets[i].value);
		for (size_t f = 0; f < SECRET_FORMS && out != NULL; f++)
			if (secrets[i].forms[f] != NULL)
				out = replace_all(out, secrets[i].forms[f]);
	}
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
	/* A device's text may hold terminal escapes or a forged log line;
	 * only a trace keeps its line breaks (it shows whole bodies). JSON
	 * lines are escaped by jansson. */
	if (!cur_json) {
		size_t n = strlen(line) * 4 + 1;
		char *safe = malloc(n);

		if (safe == NULL) {
			free(line);
			return;
		}
		err_escape(safe, n, line, level == LL_TRACE);
		free(line);
		line = safe;
	}
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
