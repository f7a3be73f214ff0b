#include "device/nitro.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/mem.h"

#define NITRO_PREFIX "/nitro/v1/config/"
#define LOGIN_TIMEOUT_S 3600

struct nitro {
	char *name;
	char *url;
	struct http_client *http;
	const char *user;
	char *pass;   /* own copy, registered with the redactor */
	char *token;  /* secret */
	char *cookie; /* "NITRO_AUTH_TOKEN=<token>", secret */
};

static const char *const redact_fields[] = { "sessionid", "password" };

/* --- pure helpers --- */

bool
nitro_session_expired(long status, int code)
{
	(void)status;
	return code == NITRO_E_SESSEXPIRED || code == NITRO_E_AUTHTIMEOUT;
}

int
nitro_json_long(const json_t *v, long *out)
{
	const char *s;
	char *end;
	long l;

	if (json_is_integer(v)) {
		*out = (long)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		/* outside long (1e300, as any peer may send) the cast is undefined */
		if (!(d > (double)LONG_MIN - 1 && d < (double)LONG_MAX))
			return -1;
		*out = (long)d;
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return -1;
	errno = 0;
	l = strtol(s, &end, 10);
	if (errno == ERANGE)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return -1;
	*out = l;
	return 0;
}

const char *
nitro_json_str(const json_t *obj, const char *key)
{
	const json_t *v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *
nitro_items(json_t *resp, const char *resource)
{
	json_t *v, *a;

	v = json_is_object(resp) ? json_object_get(resp, resource) : NULL;
	if (json_is_array(v))
		return json_incref(v);
	a = json_array();
	if (json_is_object(v))
		json_array_append(a, v);
	return a;
}

int
nitro_parse_envelope(const char *body, size_t len, int *code, char *msg,
    size_t msglen)
{
	json_t *root;
	const char *m;
	long c;
	int rc = -1;

	*code = 0;
	if (msglen > 0)
		msg[0] = '\0';
	if (body == NULL || len == 0)
		return -1;
	root = json_loadb(body, len, 0, NULL);
	if (!json_is_object(root))
		goto out;
	if (nitro_json_long(json_object_get(root, "errorcode"), &c) != 0)
		goto out;
	*code = c > INT_MAX || c < INT_MIN ? -1 : (int)c;
	if ((m = nitro_json_str(root, "message")) != NULL && msglen > 0)
		snprintf(msg, msglen, "%s", m);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int
month_index(const char *m)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";

	if (strlen(m) < 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(m, names + 3 * i, 3) == 0)
			return i;
	return -1;
}

time_t
nitro_parse_date(const char *s)
{
	struct tm tm = {0};
	char mon[16], tz[8] = "";
	int d, H, M, S, Y, n;

	if (s == NULL)
		return (time_t)-1;
	if (sscanf(s, "%15s %d %d:%d:%d %d %7s", mon, &d, &H, &M, &S, &Y, tz) >= 6 &&
	    (tm.tm_mon = month_index(mon)) >= 0) {
		if (tz[0] != '\0' && strcasecmp(tz, "GMT") != 0 && strcasecmp(tz, "UTC") != 0)
			return (time_t)-1;
	} else if (sscanf(s, "%d-%d-%dT%d:%d:%d%n", &Y, &tm.tm_mon, &d, &H, &M, &S, &n) == 6 &&
	    (s[n] == 'Z' || s[n] == '\0')) {
		tm.tm_mon--;
	} else
		return (time_t)-1;
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || d < 1 || d > 31 || H < 0 || H > 23 ||
	    M < 0 || M > 59 || S < 0 || S > 60 || Y < 1970 || Y > 9999)
		return (time_t)-1;
	tm.tm_mday = d;
	tm.tm_hour = H;
	tm.tm_min = M;
	tm.tm_sec = S;
	tm.tm_year = Y - 1900;
	return timegm(&tm);
}

char *
nitro_serial_norm(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	bool lead = true, zero = false;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (s == NULL)
		return buf;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s != '\0'; s++) {
		if (!isxdigit((unsigned char)*s))
			continue;
		if (lead && *s == '0') {
			zero = true;
			continue;
		}
		lead = false;
		if (o + 1 >= len) {
			buf[0] = '\0';
			return buf;
		}
		buf[o++] = (char)tolower((unsigned char)*s);
	}
	if (o == 0 && zero && len > 1)
		buf[o++] = '0';
	buf[o] = '\0';
	return buf;
}

static bool
name_char_ok(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

char *
nitro_name(const char *base, const char *suffix, const char *ext, size_t max)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *full, *out = NULL;
	size_t flen, elen, keep;

	if (ext == NULL)
		ext = "";
	if (suffix != NULL && suffix[0] != '\0')
		full = xasprintf("%s-%s", base, suffix);
	else
		full = xstrdup(base);
	if (full == NULL)
		return NULL;
	flen = strlen(full);
	elen = strlen(ext);
	for (size_t i = 0; i < flen; i++)
		if (!name_char_ok(full[i]))
			full[i] = '_';
	if (flen + elen <= max) {
		out = xasprintf("%s%s", full, ext);
		goto out;
	}
	if (max < elen + 9 + 1)
		goto out;
	if (!EVP_Digest(full, flen, md, &mdlen, EVP_sha256(), NULL))
		goto out;
	keep = max - elen - 9;
	/* a cut ending in a separator reads badly; the hash keeps it unique */
	while (keep > 1 && (full[keep - 1] == '-' || full[keep - 1] == '.'))
		keep--;
	out = xasprintf("%.*s_%02x%02x%02x%02x%s", (int)keep, full, md[0], md[1], md[2],
	    md[3], ext);
out:
	free(full);
	return out;
}

char *
nitro_san_string(char *const *names, size_t n)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 5;
	if ((s = malloc(len)) == NULL)
		return NULL;
	p = s;
	*p = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ' ';
		p += sprintf(p, "DNS:%s", names[i]);
	}
	return s;
}

char *
nitro_args(const char *k1, ...)
{
	va_list ap;
	const char *k, *v;
	char *out = xstrdup(""), *ev, *tmp;

	va_start(ap, k1);
	for (k = k1; k != NULL && out != NULL; k = va_arg(ap, const char *)) {
		v = va_arg(ap, const char *);
		if (v == NULL)
			continue;
		if ((ev = http_escape(v)) == NULL) {
			free(out);
			out = NULL;
			break;
		}
		tmp = xasprintf("%s%s%s:%s", out, out[0] != '\0' ? "," : "", k, ev);
		free(ev);
		free(out);
		out = tmp;
	}
	va_end(ap);
	return out;
}

char *
nitro_path(const char *resource, const char *name, const char *query)
{
	char *en = NULL, *out;

	if (name != NULL && (en = http_escape(name)) == NULL)
		return NULL;
	out = xasprintf("%s%s%s%s%s", resource, en != NULL ? "/" : "", en != NULL ? en : "",
	    query != NULL ? "?" : "", query != NULL ? query : "");
	free(en);
	return out;
}

char *
nitro_pi_quote(const char *s)
{
	size_t n = 3;
	char *out, *p;

	for (const char *q = s; *q != '\0'; q++)
		n += (*q == '"' || *q == '\\') ? 2 : 1;
	if ((out = malloc(n)) == NULL)
		return NULL;
	p = out;
	*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

char *
nitro_dn_cn(const char *dn)
{
	const char *p, *start;
	size_t len;

	if (dn == NULL)
		return NULL;
	for (p = dn; *p != '\0'; p++) {
		if ((p == dn || p[-1] == ',' || p[-1] == ' ' || p[-1] == '/') &&
		    strncmp(p, "CN", 2) == 0) {
			start = p + 2;
			while (*start == ' ')
				start++;
			if (*start != '=')
				continue;
			start++;
			while (*start == ' ')
				start++;
			len = strcspn(start, ",/");
			while (len > 0 && start[len - 1] == ' ')
				len--;
			return strndup(start, len);
		}
	}
	return NULL;
}

char *
nitro_b64_encode(const void *data, size_t len)
{
	char *out;

	if (len > INT_MAX / 2)
		return NULL;
	if ((out = malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int
nitro_b64_decode(const char *s, char **out, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx;
	size_t slen = strlen(s);
	unsigned char *buf;
	int n1 = 0, n2 = 0, rc = -1;

	*out = NULL;
	if (slen > INT_MAX / 2)
		return -1;
	if ((buf = malloc(3 * (slen / 4 + 1) + 16)) == NULL)
		return -1;
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		goto out;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, buf, &n1, (const unsigned char *)s, (int)slen) < 0)
		goto out;
	if (EVP_DecodeFinal(ctx, buf + n1, &n2) < 0)
		goto out;
	buf[n1 + n2] = '\0';
	*out = (char *)buf;
	if (outlen != NULL)
		*outlen = (size_t)(n1 + n2);
	buf = NULL;
	rc = 0;
out:
	EVP_ENCODE_CTX_free(ctx);
	free(buf);
	return rc;
}

/* --- session --- */

const char *
nitro_url(const struct nitro *n)
{
	return n->url;
}

static void
drop_token(struct nitro *n)
{
	if (n->token != NULL) {
		log_secret_remove(n->token);
		secret_free(n->token);
		n->token = NULL;
	}
	if (n->cookie != NULL) {
		log_secret_remove(n->cookie);
		secret_free(n->cookie);
		n->cookie = NULL;
	}
}

static bool
body_empty(const struct http_resp *r)
{
	for (size_t i = 0; i < r->body_len; i++)
		if (!isspace((unsigned char)r->body[i]))
			return false;
	return true;
}

static int
status_code(long status, int nerr)
{
	if (nerr == NITRO_E_NOSUCHRES || nerr == NITRO_E_NOBINDING || status == 404)
		return LB_ENOTFOUND;
	if (nerr == NITRO_E_EXISTS || nerr == NITRO_E_FILEEXISTS || status == 409)
		return LB_EEXIST;
	if (nerr == NITRO_E_AUTH || status == 401 || status == 403)
		return LB_EAUTH;
	return LB_ERR;
}

static int
send_raw(struct nitro *n, const char *method, const char *path, const char *body,
    bool with_cookie, struct http_resp *r, struct err *e)
{
	struct http_header h = { "Cookie", n->cookie };
	struct http_req req = {0};
	char *url;
	int rc;

	if ((url = xasprintf(NITRO_PREFIX "%s", path)) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", n->name);
	req.method = method;
	req.path = url;
	req.headers = with_cookie && n->cookie != NULL ? &h : NULL;
	req.nheaders = req.headers != NULL ? 1 : 0;
	req.body = body;
	req.body_len = body != NULL ? strlen(body) : 0;
	req.content_type = body != NULL ? "application/json" : NULL;
	req.idempotent = strcmp(method, "GET") == 0;
	req.redact = redact_fields;
	req.nredact = sizeof(redact_fields) / sizeof(redact_fields[0]);
	rc = http_do(n->http, &req, r, e); /* its message names device and URL */
	free(url);
	return rc;
}

/* jansson frees without clearing: wipe a secret string member first. */
static void
wipe_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

static int
login(struct nitro *n, struct err *e)
{
	struct http_resp r = {0};
	json_t *body = NULL, *root = NULL;
	const char *sid = NULL, *ck;
	char *txt = NULL, msg[512];
	int rc, code;

	drop_token(n);
	body = json_pack("{s:{s:s, s:s, s:i}}", "login", "username", n->user,
	    "password", n->pass, "timeout", LOGIN_TIMEOUT_S);
	if (body == NULL || (txt = json_dumps(body, JSON_COMPACT)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", n->name);
		goto out;
	}
	log_secret_add(txt);
	rc = send_raw(n, "POST", "login", txt, false, &r, e);
	log_secret_remove(txt);
	if (rc != 0)
		goto out;
	if (r.status < 200 || r.status > 299) {
		nitro_parse_envelope(r.body, r.body_len, &code, msg, sizeof(msg));
		rc = err_set(e, status_code(r.status, code) == LB_EAUTH ? LB_EAUTH : LB_ERR,
		    "%s (%s): login as %s refused: NITRO errorcode %d: %s (HTTP %ld)",
		    n->name, n->url, n->user, code, msg[0] ? msg : "no message", r.status);
		goto out;
	}
	root = json_loadb(r.body, r.body_len, 0, NULL);
	sid = nitro_json_str(root, "sessionid");
	if (sid == NULL && (ck = http_resp_header(&r, "set-cookie")) != NULL &&
	    (ck = strstr(ck, "NITRO_AUTH_TOKEN=")) != NULL) {
		ck += strlen("NITRO_AUTH_TOKEN=");
		n->token = strndup(ck, strcspn(ck, ";, \t"));
	} else if (sid != NULL)
		n->token = xstrdup(sid);
	if (n->token == NULL || n->token[0] == '\0') {
		rc = err_set(e, LB_ERR, "%s (%s): login answered HTTP %ld without a session id",
		    n->name, n->url, r.status);
		goto out;
	}
	log_secret_add(n->token);
	n->cookie = xasprintf("NITRO_AUTH_TOKEN=%s", n->token);
	if (n->cookie == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", n->name);
		goto out;
	}
	log_secret_add(n->cookie);
	rc = 0;
out:
	if (txt != NULL)
		secret_free(txt);
	/* the password, and the session id in the answer's body and cookie */
	wipe_member(json_object_get(body, "login"), "password");
	json_decref(body);
	wipe_member(root, "sessionid");
	json_decref(root);
	if (r.body != NULL)
		OPENSSL_cleanse(r.body, r.body_len);
	for (size_t i = 0; i < r.nhdr; i++)
		if (strcmp(r.hdr_names[i], "set-cookie") == 0)
			OPENSSL_cleanse(r.hdr_values[i], strlen(r.hdr_values[i]));
	http_resp_free(&r);
	return rc;
}

int
nitro_open(const char *name, const char *url, const struct http_tls *tls,
    long timeout_s, const char *user, const char *pass, struct nitro **out,
    struct err *e)
{
	struct nitro *n;
	size_t ulen;
	int rc;

	*out = NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", name);
	n->name = xstrdup(name);
	n->url = xstrdup(url);
	if (n->name == NULL || n->url == NULL) {
		nitro_close(n);
		return err_set(e, LB_ERR, "%s: out of memory", name);
	}
	ulen = strlen(n->url);
	while (ulen > 0 && n->url[ulen - 1] == '/')
		n->url[--ulen] = '\0';
	n->user = user != NULL ? user : "";
	if ((n->pass = xstrdup(pass != NULL ? pass : "")) == NULL) {
		nitro_close(n);
		return err_set(e, LB_ERR, "%s: out of memory", name);
	}
	log_secret_add(n->pass);
	if ((n->http = http_client_new(name, n->url, tls, timeout_s)) == NULL) {
		nitro_close(n);
		return err_set(e, LB_ERR, "%s: cannot set up HTTP for %s", name, url);
	}
	if ((rc = login(n, e)) != 0) {
		nitro_close(n);
		return rc;
	}
	*out = n;
	return 0;
}

void
nitro_close(struct nitro *n)
{
	struct http_resp r = {0};
	struct err e = {0};

	if (n == NULL)
		return;
	if (n->cookie != NULL) {
		if (send_raw(n, "POST", "logout", "{\"logout\":{}}", true, &r, &e) != 0)
			log_debug("%s: logout: %s", n->name, e.msg);
		http_resp_free(&r);
	}
	drop_token(n);
	if (n->pass != NULL) {
		log_secret_remove(n->pass);
		secret_free(n->pass);
	}
	http_client_free(n->http);
	free(n->name);
	free(n->url);
	free(n);
}

int
nitro_call(struct nitro *n, const char *method, const char *path,
    json_t *body, const char *what, json_t **out, int *nerr, struct err *e)
{
	struct http_resp r = {0};
	json_t *root = NULL;
	char *txt = NULL, msg[512];
	int rc, code = 0;
	bool relogged = false;

	if (out != NULL)
		*out = NULL;
	if (nerr != NULL)
		*nerr = 0;
	if (body != NULL && (txt = json_dumps(body, JSON_COMPACT)) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", n->name);
again:
	if ((rc = send_raw(n, method, path, txt, true, &r, e)) != 0)
		goto out;
	if (r.status >= 200 && r.status <= 299 && body_empty(&r)) {
		rc = 0;
		goto out;
	}
	root = json_loadb(r.body, r.body_len, 0, NULL);
	if (nitro_parse_envelope(r.body, r.body_len, &code, msg, sizeof(msg)) != 0) {
		code = 0;
		msg[0] = '\0';
	}
	if (!relogged && nitro_session_expired(r.status, code)) {
		log_info("%s: NITRO session expired (errorcode %d), logging in again",
		    n->name, code);
		relogged = true;
		json_decref(root);
		root = NULL;
		http_resp_free(&r);
		if ((rc = login(n, e)) != 0)
			goto out;
		goto again;
	}
	if (r.status >= 200 && r.status <= 299 && root != NULL && code == 0) {
		if (out != NULL) {
			*out = root;
			root = NULL;
		}
		rc = 0;
		goto out;
	}
	if (nerr != NULL)
		*nerr = code;
	if (root == NULL && r.status >= 200 && r.status <= 299)
		rc = err_set(e, LB_ERR, "%s (%s): %s %s (%s): answer is not JSON (HTTP %ld)",
		    n->name, n->url, method, path, what, r.status);
	else
		rc = err_set(e, status_code(r.status, code),
		    "%s (%s): %s %s (%s): NITRO errorcode %d: %s (HTTP %ld)", n->name, n->url,
		    method, path, what, code, msg[0] != '\0' ? msg : "no message", r.status);
out:
	json_decref(root);
	http_resp_free(&r);
	free(txt);
	return rc;
}
