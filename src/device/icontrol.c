/* iControl REST transport: token session, error envelopes, uploads. */
#include "device/icontrol.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/log.h"
#include "util/mem.h"

struct icontrol {
	char *name;
	char *url;
	const char *user;
	const char *pass;
	char *token;
	struct http_client *http;
};

static const char *const redact_fields[] = {
	"x-f5-auth-token", "passphrase", "password",
};
/* The login answer repeats the new token as the token object's "name" and
 * inside its "selfLink", before it can be registered with the redactor. */
static const char *const login_redact_fields[] = {
	"x-f5-auth-token", "passphrase", "password", "token", "name", "selfLink",
};

const char *
icontrol_url(const struct icontrol *ic)
{
	return ic->url;
}

static void
drop_token(struct icontrol *ic)
{
	if (ic->token == NULL)
		return;
	log_secret_remove(ic->token);
	secret_free(ic->token);
	ic->token = NULL;
}

static int
send_redacted(struct icontrol *ic, const char *method, const char *path,
    const char *body, size_t blen, const char *ctype, const char *coord,
    const char *range, const char *const *redact, size_t nredact,
    struct http_resp *r, struct err *e)
{
	struct http_header h[3];
	struct http_req req = {0};
	size_t nh = 0;

	if (ic->token != NULL)
		h[nh++] = (struct http_header){ "X-F5-Auth-Token", ic->token };
	if (coord != NULL)
		h[nh++] = (struct http_header){ "X-F5-REST-Coordination-Id", coord };
	if (range != NULL)
		h[nh++] = (struct http_header){ "Content-Range", range };
	req.method = method;
	req.path = path;
	req.headers = h;
	req.nheaders = nh;
	req.body = body;
	req.body_len = blen;
	req.content_type = body != NULL ? ctype : NULL;
	req.idempotent = strcmp(method, "GET") == 0;
	req.redact = redact;
	req.nredact = nredact;
	return http_do(ic->http, &req, r, e); /* its message names device and URL */
}

static int
send_raw(struct icontrol *ic, const char *method, const char *path,
    const char *body, size_t blen, const char *ctype, const char *coord,
    const char *range, struct http_resp *r, struct err *e)
{
	/* "name" is not secret elsewhere; the built-in list plus ours matters. */
	return send_redacted(ic, method, path, body, blen, ctype, coord, range,
	    redact_fields, sizeof(redact_fields) / sizeof(redact_fields[0]), r, e);
}

static int
login(struct icontrol *ic, struct err *e)
{
	struct http_resp r = {0};
	json_t *body = NULL, *root = NULL;
	const char *tok = NULL;
	char *txt = NULL, msg[512];
	int rc;

	drop_token(ic);
	body = json_pack("{s:s, s:s, s:s}", "username", ic->user, "password", ic->pass,
	    "loginProviderName", "tmos");
	if (body == NULL || (txt = json_dumps(body, JSON_COMPACT)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", ic->name);
		goto out;
	}
	log_secret_add(txt);
	rc = send_redacted(ic, "POST", "/mgmt/shared/authn/login", txt, strlen(txt),
	    "application/json", NULL, NULL, login_redact_fields,
	    sizeof(login_redact_fields) / sizeof(login_redact_fields[0]), &r, e);
	log_secret_remove(txt);
	if (rc != 0)
		goto out;
	if (r.status < 200 || r.status > 299) {
		if (icontrol_parse_error(r.body, r.body_len, msg, sizeof(msg)) != 0)
			snprintf(msg, sizeof(msg), "no message");
		rc = err_set(e, r.status == 401 || r.status == 403 ? LB_EAUTH : LB_ERR,
		    "%s (%s): login as %s refused: %s (HTTP %ld)", ic->name, ic->url,
		    ic->user, msg, r.status);
		goto out;
	}
	root = json_loadb(r.body, r.body_len, 0, NULL);
	if (json_unpack(root, "{s:{s:s}}", "token", "token", &tok) != 0 || tok[0] == '\0') {
		rc = err_set(e, LB_ERR, "%s (%s): login answered HTTP %ld without a token",
		    ic->name, ic->url, r.status);
		goto out;
	}
	if ((ic->token = xstrdup(tok)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", ic->name);
		goto out;
	}
	log_secret_add(ic->token);
	rc = 0;
out:
	if (txt != NULL)
		secret_free(txt);
	if (body != NULL) {
		/* jansson frees without clearing */
		json_t *pw = json_object_get(body, "password");
		if (json_is_string(pw))
			OPENSSL_cleanse((char *)json_string_value(pw), json_string_length(pw));
		json_decref(body);
	}
	if (root != NULL) {
		/* the token string inside the parsed tree is wiped with it */
		json_t *t = json_object_get(json_object_get(root, "token"), "token");
		if (json_is_string(t))
			OPENSSL_cleanse((char *)json_string_value(t), strlen(json_string_value(t)));
		json_decref(root);
	}
	if (r.body != NULL)
		OPENSSL_cleanse(r.body, r.body_len);
	http_resp_free(&r);
	return rc;
}

int
icontrol_open(const char *name, const char *url, const struct http_tls *tls,
    long timeout_s, const char *user, const char *pass, struct icontrol **out,
    struct err *e)
{
	struct icontrol *ic;
	size_t ulen;
	int rc;

	*out = NULL;
	if ((ic = calloc(1, sizeof(*ic))) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", name);
	ic->name = xstrdup(name);
	ic->url = xstrdup(url);
	if (ic->name == NULL || ic->url == NULL) {
		icontrol_close(ic);
		return err_set(e, LB_ERR, "%s: out of memory", name);
	}
	ulen = strlen(ic->url);
	while (ulen > 0 && ic->url[ulen - 1] == '/')
		ic->url[--ulen] = '\0';
	ic->user = user != NULL ? user : "";
	ic->pass = pass != NULL ? pass : "";
	if ((ic->http = http_client_new(name, ic->url, tls, timeout_s)) == NULL) {
		icontrol_close(ic);
		return err_set(e, LB_ERR, "%s: cannot set up HTTP for %s", name, url);
	}
	if ((rc = login(ic, e)) != 0) {
		icontrol_close(ic);
		return rc;
	}
	*out = ic;
	return 0;
}

void
icontrol_close(struct icontrol *ic)
{
	struct http_resp r = {0};
	struct err e = {0};
	char *path;

	if (ic == NULL)
		return;
	/* Tokens are capped at 100 per user: never leave ours behind. */
	if (ic->token != NULL &&
	    (path = xasprintf("/mgmt/shared/authz/tokens/%s", ic->token)) != NULL) {
		log_secret_add(path);
		if (send_raw(ic, "DELETE", path, NULL, 0, NULL, NULL, NULL, &r, &e) != 0)
			log_debug("%s: logout: %s", ic->name, e.msg);
		else if (r.status >= 300)
			log_debug("%s: logout answered HTTP %ld", ic->name, r.status);
		log_secret_remove(path);
		secret_free(path);
		http_resp_free(&r);
	}
	drop_token(ic);
	http_client_free(ic->http);
	free(ic->name);
	free(ic->url);
	free(ic);
}

static bool
body_empty(const struct http_resp *r)
{
	for (size_t i = 0; i < r->body_len; i++)
		if (!isspace((unsigned char)r->body[i]))
			return false;
	return true;
}

/* The expiry answer documented is "X-F5-Auth-Token does not exist."; the
 * REST framework's answer to a request it takes for unauthenticated is
 * "... no user authentication header or token detected". Any 401 naming
 * the token (or without a message) counts, since the wording of others is
 * not documented; a role refusal reads "Authorization failed: user=...
 * resource=..." and is final. */
bool
icontrol_token_refused(long status, const char *body, size_t len)
{
	char msg[512];

	if (status != 401)
		return false;
	if (icontrol_parse_error(body, len, msg, sizeof(msg)) != 0)
		return true;
	if (strstr(msg, "resource=") != NULL)
		return false;
	for (char *p = msg; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return strstr(msg, "token") != NULL;
}

static bool
token_refused(const struct http_resp *r)
{
	return icontrol_token_refused(r->status, r->body, r->body_len);
}

/* Logs in again after token_refused(), once per request. */
static int
relogin(struct icontrol *ic, const char *what, bool *relogged, struct err *e)
{
	log_info("%s: token refused (HTTP 401) on %s, logging in again", ic->name, what);
	*relogged = true;
	return login(ic, e);
}

static int
status_code(long status)
{
	if (status == 404)
		return LB_ENOTFOUND;
	if (status == 409)
		return LB_EEXIST;
	if (status == 401 || status == 403)
		return LB_EAUTH;
	return LB_ERR;
}

int
icontrol_call(struct icontrol *ic, const char *method, const char *path,
    json_t *body, const char *coord, const char *what, json_t **out, long *status,
    struct err *e)
{
	struct http_resp r = {0};
	char *txt = NULL, msg[768];
	bool relogged = false;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (status != NULL)
		*status = 0;
	if (body != NULL && (txt = json_dumps(body, JSON_COMPACT)) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", ic->name);
again:
	rc = send_raw(ic, method, path, txt, txt != NULL ? strlen(txt) : 0,
	    "application/json", coord, NULL, &r, e);
	if (rc != 0)
		goto out;
	if (status != NULL)
		*status = r.status;
	if (!relogged && token_refused(&r)) {
		/* 20-minute tokens expire mid-run: log in again, replay once. */
		http_resp_free(&r);
		if ((rc = relogin(ic, path, &relogged, e)) != 0)
			goto out;
		goto again;
	}
	if (r.status >= 200 && r.status <= 299) {
		if (out != NULL && !body_empty(&r) &&
		    (*out = json_loadb(r.body, r.body_len, 0, NULL)) == NULL) {
			rc = err_set(e, LB_ERR, "%s (%s): %s %s (%s): answer is not JSON",
			    ic->name, ic->url, method, path, what);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (icontrol_parse_error(r.body, r.body_len, msg, sizeof(msg)) != 0)
		snprintf(msg, sizeof(msg), "%.200s", body_empty(&r) ? "no message" : r.body);
	rc = err_set(e, status_code(r.status), "%s (%s): %s %s: %s (HTTP %ld)",
	    ic->name, ic->url, method, what, msg, r.status);
out:
	if (txt != NULL)
		secret_free(txt);
	http_resp_free(&r);
	return rc;
}

static int
upload_once(struct icontrol *ic, const char *path, const unsigned char *data,
    size_t len, bool *relogged, struct err *e)
{
	struct http_resp r = {0};
	char range[64], msg[512];
	size_t off = 0, n;
	json_t *root = NULL;
	json_int_t remaining = -1;
	int rc = 0;

	while (off < len) {
		n = len - off < ICONTROL_CHUNK ? len - off : ICONTROL_CHUNK;
		if (icontrol_content_range(off, n, len, range, sizeof(range)) != 0)
			return err_set(e, LB_ERR, "%s: bad upload range", ic->name);
		rc = send_raw(ic, "POST", path, (const char *)data + off, n,
		    "application/octet-stream", NULL, range, &r, e);
		if (rc != 0)
			return rc;
		if (!*relogged && token_refused(&r)) {
			/* the worker's partial file belongs to the old session's
			 * upload: start the file over under the new token */
			http_resp_free(&r);
			if ((rc = relogin(ic, path, relogged, e)) != 0)
				return rc;
			off = 0;
			continue;
		}
		if (r.status < 200 || r.status > 299) {
			if (icontrol_parse_error(r.body, r.body_len, msg, sizeof(msg)) != 0)
				snprintf(msg, sizeof(msg), "no message");
			rc = err_set(e, status_code(r.status), "%s (%s): upload %s: %s (HTTP %ld)",
			    ic->name, ic->url, path, msg, r.status);
			http_resp_free(&r);
			return rc;
		}
		root = json_loadb(r.body, r.body_len, 0, NULL);
		remaining = -1;
		json_unpack(root, "{s:I}", "remainingByteCount", &remaining);
		json_decref(root);
		http_resp_free(&r);
		off += n;
	}
	if (remaining != 0)
		return err_set(e, LB_ERR, "%s (%s): upload %s: %lld bytes still missing",
		    ic->name, ic->url, path, (long long)remaining);
	return 0;
}

int
icontrol_upload(struct icontrol *ic, const char *name, const void *data,
    size_t len, struct err *e)
{
	char *path, *esc;
	bool relogged = false;
	int rc;

	if (len == 0)
		return err_set(e, LB_ERR, "%s: refusing to upload empty %s", ic->name, name);
	if ((esc = http_escape(name)) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", ic->name);
	path = xasprintf("/mgmt/shared/file-transfer/uploads/%s", esc);
	free(esc);
	if (path == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", ic->name);
	rc = upload_once(ic, path, data, len, &relogged, e);
	if (rc != 0 && rc != LB_EUNREACH && rc != LB_EAUTH) {
		/* The worker keeps partial state; a refused chunk means start over. */
		log_info("%s: %s; uploading %s again from offset 0", ic->name, e->msg, name);
		rc = upload_once(ic, path, data, len, &relogged, e);
	}
	free(path);
	return rc;
}

/* A util command's complaint: the util endpoints answer 200 and put the
 * command's stderr in commandResult (reference §1.4). */
static bool
util_failed(json_t *r)
{
	json_t *cr = json_object_get(r, "commandResult");
	const char *s = json_is_string(cr) ? json_string_value(cr) : "";

	return strstr(s, "cannot") != NULL || strstr(s, "No such file") != NULL ||
	    strstr(s, "rror") != NULL || strstr(s, "denied") != NULL;
}

int
icontrol_util(struct icontrol *ic, const char *cmd, const char *args, bool missing_ok,
    struct err *e)
{
	json_t *body, *r = NULL;
	char *path = xasprintf("/mgmt/tm/util/%s", cmd);
	const char *cr;
	int rc;

	body = path != NULL ? json_pack("{s:s, s:s}", "command", "run", "utilCmdArgs", args) : NULL;
	if (body == NULL) {
		free(path);
		return err_set(e, LB_ERR, "%s: out of memory", ic->name);
	}
	rc = icontrol_call(ic, "POST", path, body, NULL, args, &r, NULL, e);
	if (rc == 0 && util_failed(r)) {
		cr = json_string_value(json_object_get(r, "commandResult"));
		if (missing_ok && strstr(cr, "No such file") != NULL)
			rc = 0;
		else
			rc = err_set(e, strstr(cr, "No such file") != NULL ? LB_ENOTFOUND : LB_ERR,
			    "%s (%s): %s %s: %.300s", ic->name, ic->url, cmd, args, cr);
	}
	json_decref(body);
	json_decref(r);
	free(path);
	return rc;
}

void
icontrol_unlink_upload(struct icontrol *ic, const char *name)
{
	struct err e = {0};
	char *arg;

	if ((arg = xasprintf(ICONTROL_UPLOAD_DIR "/%s", name)) == NULL)
		return;
	if (icontrol_util(ic, "unix-rm", arg, true, &e) != 0)
		log_warn("%s: could not remove uploaded %s: %s", ic->name, arg, e.msg);
	free(arg);
}

int
icontrol_parse_range(const char *v, size_t *start, size_t *end, size_t *total)
{
	unsigned long long a, b, t;
	int n = 0;

	if (v == NULL)
		return -1;
	if (strncmp(v, "bytes ", 6) == 0)
		v += 6;
	if (sscanf(v, "%llu-%llu/%llu%n", &a, &b, &t, &n) != 3 || v[n] != '\0' || b < a ||
	    b >= t)
		return -1;
	*start = (size_t)a;
	*end = (size_t)b;
	*total = (size_t)t;
	return 0;
}

int
icontrol_download(struct icontrol *ic, const char *name, size_t max, char **data,
    size_t *len, struct err *e)
{
	struct http_resp r = {0};
	char range[64], msg[512], *esc, *path, *buf = NULL, *nb;
	size_t have = 0, total = 0, s, x;
	bool relogged = false;
	int rc = 0;

	*data = NULL;
	*len = 0;
	if ((esc = http_escape(name)) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", ic->name);
	path = xasprintf("/mgmt/shared/file-transfer/bulk/%s", esc);
	free(esc);
	if (path == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", ic->name);
	for (;;) {
		/* ask for the next chunk; the total is unknown (0) until the first
		 * answer says it, as F5's own download helper does */
		snprintf(range, sizeof(range), "%zu-%zu/%zu", have, have + ICONTROL_CHUNK - 1, total);
		if ((rc = send_raw(ic, "GET", path, NULL, 0, NULL, NULL, range, &r, e)) != 0)
			break;
		if (!relogged && token_refused(&r)) {
			http_resp_free(&r);
			if ((rc = relogin(ic, path, &relogged, e)) != 0)
				break;
			continue;
		}
		if (r.status < 200 || r.status > 299) {
			if (icontrol_parse_error(r.body, r.body_len, msg, sizeof(msg)) != 0)
				snprintf(msg, sizeof(msg), "no message");
			rc = err_set(e, status_code(r.status), "%s (%s): download %s: %s (HTTP %ld)",
			    ic->name, ic->url, name, msg, r.status);
			break;
		}
		if (icontrol_parse_range(http_resp_header(&r, "content-range"), &s, &x, &total) != 0) {
			/* no range: the whole file in one answer */
			s = have;
			total = have + r.body_len;
		} else if (s != have || x - s + 1 != r.body_len) {
			rc = err_set(e, LB_ERR, "%s (%s): download %s: answer range %zu-%zu does not "
			    "follow the %zu bytes received", ic->name, ic->url, name, s, x, have);
			break;
		}
		if (total > max || r.body_len == 0) {
			rc = err_set(e, LB_ERR, "%s (%s): download %s: %zu bytes (limit %zu)",
			    ic->name, ic->url, name, total, max);
			break;
		}
		if ((nb = realloc(buf, have + r.body_len + 1)) == NULL) {
			rc = err_set(e, LB_ERR, "%s: out of memory", ic->name);
			break;
		}
		buf = nb;
		memcpy(buf + have, r.body, r.body_len);
		have += r.body_len;
		buf[have] = '\0';
		http_resp_free(&r);
		if (have >= total)
			break;
	}
	http_resp_free(&r);
	free(path);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*data = buf;
	*len = have;
	return 0;
}

/* --- pure helpers --- */

char *
icontrol_fullpath(const char *partition, const char *name)
{
	if (name == NULL)
		return NULL;
	if (name[0] == '/')
		return xstrdup(name);
	return xasprintf("/%s/%s", partition != NULL && partition[0] ? partition : "Common", name);
}

char *
icontrol_url_name(const char *partition, const char *name)
{
	char *fp, *out, *o;
	const char *p;

	if ((fp = icontrol_fullpath(partition, name)) == NULL)
		return NULL;
	if ((out = malloc(strlen(fp) * 3 + 1)) == NULL) {
		free(fp);
		return NULL;
	}
	o = out;
	for (p = fp; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '/')
			*o++ = '~';
		else if (isalnum(c) || strchr("-._~:", c) != NULL)
			*o++ = (char)c;
		else
			o += sprintf(o, "%%%02X", c);
	}
	*o = '\0';
	free(fp);
	return out;
}

int
icontrol_parse_error(const char *body, size_t len, char *msg, size_t msglen)
{
	json_t *root;
	const char *m = NULL;
	int rc = -1;

	if (msglen > 0)
		msg[0] = '\0';
	if (body == NULL || len == 0)
		return -1;
	if ((root = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	if (json_is_object(root) && json_unpack(root, "{s:s}", "message", &m) == 0) {
		snprintf(msg, msglen, "%s", m);
		rc = 0;
	}
	json_decref(root);
	return rc;
}

static const char *
find_desc(json_t *node, const char *field, int depth)
{
	const char *k, *d;
	json_t *v;

	if (!json_is_object(node) || depth > 16)
		return NULL;
	v = json_object_get(node, field);
	if (json_is_object(v) && json_is_string(json_object_get(v, "description")))
		return json_string_value(json_object_get(v, "description"));
	json_object_foreach(node, k, v) {
		if ((d = find_desc(v, field, depth + 1)) != NULL)
			return d;
	}
	return NULL;
}

const char *
icontrol_stats_desc(json_t *stats, const char *field)
{
	return find_desc(json_object_get(stats, "entries"), field, 0);
}

char *
icontrol_extract_pem(const char *text, const char *label)
{
	char begin[80], end[80];
	const char *b, *x;
	char *out;
	size_t n;

	if (text == NULL)
		return NULL;
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	if ((b = strstr(text, begin)) == NULL || (x = strstr(b, end)) == NULL)
		return NULL;
	n = (size_t)(x - b) + strlen(end);
	if ((out = malloc(n + 2)) == NULL)
		return NULL;
	memcpy(out, b, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	return out;
}

int
icontrol_content_range(size_t off, size_t n, size_t total, char *buf, size_t len)
{
	int w;

	if (n == 0 || off + n > total || off + n < off)
		return -1;
	w = snprintf(buf, len, "%zu-%zu/%zu", off, off + n - 1, total);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

char *
icontrol_safe_name(const char *s)
{
	size_t n = 0;
	const char *p;
	char *out, *o;

	for (p = s; *p != '\0'; p++)
		n += *p == '*' ? 8 : 1;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (o = out, p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '*') {
			memcpy(o, "wildcard", 8);
			o += 8;
		} else
			*o++ = isalnum(c) || c == '.' || c == '_' || c == '-' ? (char)c : '_';
	}
	*o = '\0';
	return out;
}

char *
icontrol_passphrase_encode(const unsigned char *raw, size_t n)
{
	char *out;
	int len;

	if ((out = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return NULL;
	len = EVP_EncodeBlock((unsigned char *)out, raw, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (int i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return out;
}

bool
icontrol_b64url_ok(const char *s, bool dot)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++, n++)
		if (n >= 512 || (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    !(dot && *s == '.')))
			return false;
	return true;
}

/* Hex digits of s, colons and spaces skipped, leading zeros dropped. */
static bool
serial_hex(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s != '\0'; s++) {
		if (*s == ':' || *s == ' ')
			continue;
		if (!isxdigit((unsigned char)*s) || o + 1 >= len)
			return false;
		if (o == 0 && *s == '0')
			continue;
		out[o++] = (char)tolower((unsigned char)*s);
	}
	if (o == 0)
		out[o++] = '0';
	out[o] = '\0';
	return true;
}

bool
icontrol_serial_norm(const char *s, char *out, size_t len)
{
	BIGNUM *bn = NULL;
	char *hex;
	bool ok;

	if (len == 0)
		return false;
	out[0] = '\0';
	if (s == NULL || *s == '\0')
		return false;
	if (strchr(s, ':') != NULL || strspn(s, "0123456789") != strlen(s))
		return serial_hex(s, out, len);
	if (strlen(s) > 19 || BN_dec2bn(&bn, s) == 0)
		return false;
	hex = BN_bn2hex(bn);
	BN_free(bn);
	ok = hex != NULL && serial_hex(hex, out, len);
	OPENSSL_free(hex);
	return ok;
}
