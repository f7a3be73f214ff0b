/* Redaction of the trace log: header values and JSON or free-text fields
 * whose names say they hold a secret (built-in list plus a request's own
 * names) are replaced before anything is logged. */
#include "net/http_int.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Header names and JSON field names whose values never reach a trace. */
static const char *const redact_names[] = {
	"authorization", "proxy-authorization", "cookie", "set-cookie",
	"x-f5-auth-token", "x-nitro-pass", "password", "passphrase", "token",
	"sessionid", "hmac", "eab_hmac_key", "secret", "private_key",
	"nitro_auth_token", "client_secret",
};

static bool
name_redacted(const char *name, size_t len, const char *const *extra,
    size_t nextra)
{
	for (size_t i = 0; i < sizeof(redact_names) / sizeof(redact_names[0]); i++)
		if (strlen(redact_names[i]) == len &&
		    strncasecmp(redact_names[i], name, len) == 0)
			return true;
	for (size_t i = 0; i < nextra; i++)
		if (extra[i] != NULL && strlen(extra[i]) == len &&
		    strncasecmp(extra[i], name, len) == 0)
			return true;
	return false;
}

void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *t = realloc(b->s, cap);
		if (t == NULL) {
			b->oom = true;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static bool
is_ident(int c)
{
	return isalnum(c) || c == '_' || c == '-';
}

/* key=value, key: value, "key":"value" and key='value' in free text. */
static void
redact_scan(struct sbuf *b, const char *s, size_t n, const char *const *extra,
    size_t nextra)
{
	size_t i = 0;

	while (i < n) {
		if (!is_ident((unsigned char)s[i]) ||
		    (i > 0 && is_ident((unsigned char)s[i - 1]))) {
			sb_add(b, s + i, 1);
			i++;
			continue;
		}
		size_t k = i;
		while (k < n && is_ident((unsigned char)s[k]))
			k++;
		if (!name_redacted(s + i, k - i, extra, nextra)) {
			sb_add(b, s + i, k - i);
			i = k;
			continue;
		}
		size_t j = k;
		if (j < n && (s[j] == '"' || s[j] == '\''))
			j++;
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j >= n || (s[j] != '=' && s[j] != ':')) {
			sb_add(b, s + i, k - i);
			i = k;
			continue;
		}
		j++;
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		sb_add(b, s + i, j - i);
		if (j < n && (s[j] == '"' || s[j] == '\'')) {
			char q = s[j];
			size_t v = j + 1;
			while (v < n && s[v] != q) {
				if (s[v] == '\\' && v + 1 < n)
					v++;
				v++;
			}
			sb_add(b, s + j, 1);
			sb_str(b, REDACTED);
			i = v; /* the closing quote is copied next */
		} else {
			size_t v = j;
			while (v < n && strchr(" \t\r\n&,;}\"')]", s[v]) == NULL)
				v++;
			if (v > j)
				sb_str(b, REDACTED);
			i = v;
		}
	}
}

/* "Name: value" lines, optionally behind the "> " / "< " trace markers. */
static bool
redact_header_line(struct sbuf *b, const char *s, size_t n,
    const char *const *extra, size_t nextra)
{
	size_t i = 0, k;

	if (n >= 2 && (s[0] == '>' || s[0] == '<') && s[1] == ' ')
		i = 2;
	for (k = i; k < n && (is_ident((unsigned char)s[k])); k++)
		;
	if (k == i || k >= n || s[k] != ':')
		return false;
	if (!name_redacted(s + i, k - i, extra, nextra))
		return false;
	sb_add(b, s, k + 1);
	sb_str(b, " " REDACTED);
	return true;
}

/* A string value may itself quote secrets (an error message echoing the
 * request, an embedded JSON document): returns a redacted copy, or NULL
 * when nothing changed. */
static json_t *
redact_string(json_t *v, const char *const *extra, size_t nextra)
{
	struct sbuf b = { 0 };
	json_t *out = NULL;

	redact_scan(&b, json_string_value(v), json_string_length(v), extra,
	    nextra);
	if (b.s != NULL && (b.len != json_string_length(v) ||
	    memcmp(b.s, json_string_value(v), b.len) != 0))
		out = json_stringn(b.s, b.len);
	free(b.s);
	return out;
}

static void
redact_json_value(json_t *v, const char *const *extra, size_t nextra)
{
	json_t *n;

	if (json_is_object(v)) {
		void *it;
		for (it = json_object_iter(v); it != NULL;
		    it = json_object_iter_next(v, it)) {
			const char *key = json_object_iter_key(it);
			json_t *val = json_object_iter_value(it);
			if (name_redacted(key, strlen(key), extra, nextra) &&
			    !json_is_object(val) && !json_is_array(val) &&
			    !json_is_null(val))
				json_object_iter_set_new(v, it,
				    json_string(REDACTED));
			else if (json_is_string(val)) {
				if ((n = redact_string(val, extra, nextra)))
					json_object_iter_set_new(v, it, n);
			} else
				redact_json_value(val, extra, nextra);
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *val = json_array_get(v, i);
			if (json_is_string(val)) {
				if ((n = redact_string(val, extra, nextra)))
					json_array_set_new(v, i, n);
			} else
				redact_json_value(val, extra, nextra);
		}
	}
}

/* Returns a malloc'd redacted dump when s[0..n) is a JSON object/array. */
static char *
redact_json(const char *s, size_t n, const char *const *extra, size_t nextra)
{
	json_error_t jerr;
	json_t *j;
	char *out;
	size_t i = 0;

	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (i == n || (s[i] != '{' && s[i] != '['))
		return NULL;
	j = json_loadb(s, n, 0, &jerr);
	if (j == NULL)
		return NULL;
	redact_json_value(j, extra, nextra);
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return out;
}

static void
redact_lines(struct sbuf *b, const char *s, size_t n, const char *const *extra,
    size_t nextra)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n;
		size_t le = e;
		if (le > i && s[le - 1] == '\r')
			le--;
		if (!redact_header_line(b, s + i, le - i, extra, nextra))
			redact_scan(b, s + i, le - i, extra, nextra);
		sb_add(b, s + le, e - le);
		if (nl != NULL)
			sb_add(b, "\n", 1);
		i = e + 1;
	}
}

char *
http_redact_trace(const char *text, const char *const *extra, size_t nextra)
{
	struct sbuf b = { 0 };
	const char *sep;
	size_t n, head;
	char *js;

	if (text == NULL)
		return NULL;
	n = strlen(text);
	if ((js = redact_json(text, n, extra, nextra)) != NULL)
		return js;
	sep = strstr(text, "\n\n");
	head = sep ? (size_t)(sep - text) + 2 : n;
	if (sep == NULL && (sep = strstr(text, "\r\n\r\n")) != NULL)
		head = (size_t)(sep - text) + 4;
	redact_lines(&b, text, head, extra, nextra);
	if (head < n) {
		if ((js = redact_json(text + head, n - head, extra, nextra)) != NULL) {
			sb_str(&b, js);
			free(js);
		} else
			redact_lines(&b, text + head, n - head, extra, nextra);
	}
	if (b.s == NULL && !b.oom)
		return strdup("");
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
