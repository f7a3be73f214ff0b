/* NITRO transport for Citrix ADC / NetScaler: a login session on one unit,
 * requests under /nitro/v1/config/ with the error envelope turned into
 * err messages, one re-login and replay when the session expired (401 with
 * errorcode 444 or 1027), and the pure helpers the driver needs (names,
 * dates, query arguments, base64). The certificate logic is in citrix/. */
#ifndef LB_NITRO_H
#define LB_NITRO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "net/http.h"
#include "util/err.h"

/* NITRO errorcodes the driver reacts to. */
#define NITRO_E_NOSUCHRES   258  /* No such resource */
#define NITRO_E_EXISTS      273  /* Resource already exists */
#define NITRO_E_AUTH        354  /* Invalid username or password */
#define NITRO_E_SESSEXPIRED 444
#define NITRO_E_NOBINDING   461
#define NITRO_E_AUTHTIMEOUT 1027
#define NITRO_E_FILEEXISTS  1642

/* Limits of 13.0 (names longer than these are refused there). */
#define NITRO_FILENAME_MAX 63
#define NITRO_CERTKEY_MAX  31

struct nitro;

/* Logs in at url (POST login). name is the device name for messages; user
 * is borrowed and must outlive the session; pass is copied. The copy and
 * the session id are registered with the log redactor until nitro_close. LB_EUNREACH when the unit cannot be
 * reached, LB_EAUTH when the credentials are refused. *out is freed with
 * nitro_close(). */
int nitro_open(const char *name, const char *url, const struct http_tls *tls,
    long timeout_s, const char *user, const char *pass, struct nitro **out,
    struct err *e);
/* Logs out (best effort) and frees; NULL is fine. */
void nitro_close(struct nitro *n);
const char *nitro_url(const struct nitro *n);

/* One request. path is relative to /nitro/v1/config/ ("sslcertkey/x?..."),
 * already escaped (see nitro_path). body (borrowed, may be NULL) is sent as
 * JSON. what names the object for messages. On 2xx with an empty body or
 * errorcode 0 returns 0 and, when out != NULL, the parsed body (caller
 * json_decref's; NULL for an empty body). Otherwise the message names the
 * device, the request, what, the NITRO errorcode and message, and the code
 * is LB_ENOTFOUND (258, 461 or HTTP 404), LB_EEXIST (273, 1642 or HTTP
 * 409), LB_EAUTH (354 / 401 / 403), LB_EUNREACH or LB_ERR. *nerr (may be
 * NULL) receives the NITRO errorcode (0 when none). GETs are retried by
 * http.c; writes are not. */
int nitro_call(struct nitro *n, const char *method, const char *path,
    json_t *body, const char *what, json_t **out, int *nerr, struct err *e);

/* --- pure helpers (unit tested) --- */

/* Parses an error envelope; errorcode may be a number or a numeric string.
 * 0 when body is JSON with an errorcode, -1 otherwise. msg gets "message"
 * (may be empty). */
int nitro_parse_envelope(const char *body, size_t len, int *code, char *msg,
    size_t msglen);
/* Whether an answer means the session expired and a new login may replay
 * the request: errorcode 444 (session expired) or 1027 (authentication
 * timeout), documented with HTTP 401; accepted with any HTTP status, as
 * the code alone names the condition. Bad credentials (354) never are. */
bool nitro_session_expired(long status, int code);

/* Integer from a JSON number or numeric string; -1 when neither, or when it
 * does not fit in a long. */
int nitro_json_long(const json_t *v, long *out);
/* String member of obj, or NULL. Numbers are not converted. */
const char *nitro_json_str(const json_t *obj, const char *key);
/* The objects of a GET answer: resp[resource] as an array (a single object
 * is wrapped); a new reference the caller json_decref's, never NULL. */
json_t *nitro_items(json_t *resp, const char *resource);

/* NITRO/CLI dates: "Aug  7 14:58:18 2004 GMT" (also without GMT) or ISO
 * 8601 "2004-08-07T14:58:18Z". (time_t)-1 when unparsable. */
time_t nitro_parse_date(const char *s);

/* Lower-case hex without separators and leading zeros ("0A:1B" → "a1b");
 * returns buf, "" for NULL/empty input or when it does not fit. */
char *nitro_serial_norm(const char *s, char *buf, size_t len);

/* A device-safe name: base and suffix joined by '-', characters outside
 * [A-Za-z0-9._-] replaced by '_', then ext appended (ext may be ""). When
 * that exceeds max characters it is cut and ends in '_' and 8 hex digits
 * of the SHA-256 of the uncut name, so it stays unique and deterministic.
 * suffix may be NULL. Caller frees. */
char *nitro_name(const char *base, const char *suffix, const char *ext, size_t max);

/* "DNS:a DNS:b" for sslcertreq subjectaltname. Caller frees. */
char *nitro_san_string(char *const *names, size_t n);

/* "k1:v1,k2:v2" with every value percent-encoded, from a NULL-terminated
 * list of key, value pairs; pairs with a NULL value are skipped. Caller
 * frees. */
char *nitro_args(const char *k1, ...) __attribute__((sentinel));
/* "resource/<escaped name>[?query]"; name and query may be NULL. Caller
 * frees. */
char *nitro_path(const char *resource, const char *name, const char *query);

/* A policy-expression string literal: s in double quotes, with '"' and
 * '\\' escaped. Caller frees. */
char *nitro_pi_quote(const char *s);
/* The CN of a NITRO subject string ("C=US, O=x, CN=www.a.b"); malloc'd or
 * NULL. */
char *nitro_dn_cn(const char *dn);

/* Base64 with OpenSSL EVP, for systemfile filecontent. Caller frees. */
char *nitro_b64_encode(const void *data, size_t len);
/* Decodes (newlines tolerated); *out is NUL-terminated, caller frees.
 * -1 on invalid input. */
int nitro_b64_decode(const char *s, char **out, size_t *outlen);

#endif
