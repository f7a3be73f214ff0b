/* iControl REST transport for F5 BIG-IP: a token session (loginProviderName
 * tmos) on one unit, requests under /mgmt/ with the mcpd / REST-framework
 * error envelopes turned into err messages, one re-login and replay when
 * the token expired (401 naming the token, on any request: calls, uploads,
 * downloads), file uploads and bulk downloads in Content-Range chunks, and the
 * pure helpers the driver needs. The certificate logic is in bigip.c. */
#ifndef LB_ICONTROL_H
#define LB_ICONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/http.h"
#include "util/err.h"

/* The upload worker refuses bodies over 1 MiB; stay well below. */
#define ICONTROL_CHUNK (512u * 1024)
#define ICONTROL_UPLOAD_DIR "/var/config/rest/downloads"
/* What /mgmt/shared/file-transfer/bulk/<name> serves. */
#define ICONTROL_BULK_DIR "/var/config/rest/bulk"

struct icontrol;

/* Logs in at url. name names the device in messages; user and pass are
 * borrowed and must outlive the session. The token is registered with the
 * log redactor. LB_EUNREACH when the unit cannot be reached, LB_EAUTH when
 * the credentials are refused. Free with icontrol_close(). */
int icontrol_open(const char *name, const char *url, const struct http_tls *tls,
    long timeout_s, const char *user, const char *pass, struct icontrol **out,
    struct err *e);
/* Deletes the token (best effort) and frees; NULL is fine. */
void icontrol_close(struct icontrol *ic);
const char *icontrol_url(const struct icontrol *ic);

/* One request; path starts with "/mgmt/". body (borrowed, may be NULL) is
 * sent as JSON. coord (may be NULL) is a transaction id sent as
 * X-F5-REST-Coordination-Id. what names the object for messages. On 2xx
 * returns 0 and, when out != NULL, the parsed body (caller json_decref's;
 * NULL when empty). Otherwise the message names the device, the request,
 * what, and the appliance's message; code LB_ENOTFOUND (404), LB_EEXIST
 * (409), LB_EAUTH (401 after one re-login), LB_EUNREACH or LB_ERR. *status
 * (may be NULL) receives the HTTP status (0 when none). */
int icontrol_call(struct icontrol *ic, const char *method, const char *path,
    json_t *body, const char *coord, const char *what, json_t **out, long *status,
    struct err *e);
/* Uploads data to /mgmt/shared/file-transfer/uploads/<name> (it lands in
 * ICONTROL_UPLOAD_DIR) in chunks of ICONTROL_CHUNK, restarting from offset
 * 0 once when a chunk is refused. */
int icontrol_upload(struct icontrol *ic, const char *name, const void *data,
    size_t len, struct err *e);
/* Removes ICONTROL_UPLOAD_DIR/<name> (util/unix-rm); best effort, logs. */
void icontrol_unlink_upload(struct icontrol *ic, const char *name);
/* POST /mgmt/tm/util/<cmd> (unix-mv, unix-rm) with args. These answer 200
 * and report failure in commandResult; that becomes LB_ENOTFOUND (no such
 * file; 0 when missing_ok) or LB_ERR naming the command and its output. */
int icontrol_util(struct icontrol *ic, const char *cmd, const char *args, bool missing_ok,
    struct err *e);
/* GET /mgmt/shared/file-transfer/bulk/<name> (the file
 * ICONTROL_BULK_DIR/<name>) in Content-Range chunks; refuses more than max
 * bytes. *data (NUL-terminated, caller frees) and *len on success. */
int icontrol_download(struct icontrol *ic, const char *name, size_t max, char **data,
    size_t *len, struct err *e);

/* --- pure helpers (unit tested) --- */

/* "/P/name" (or "name" with partition) → "~P~name", with '%' as "%25" and
 * other reserved characters escaped. Caller frees. */
char *icontrol_url_name(const char *partition, const char *name);
/* "/P/name" from a name that may already be a full path. Caller frees. */
char *icontrol_fullpath(const char *partition, const char *name);
/* Message of an error envelope ({code,message,...}); -1 when not one. */
int icontrol_parse_error(const char *body, size_t len, char *msg, size_t msglen);
/* The first "description" of a stats answer's nested entry field
 * (failover-status, sync-status), iterating over the entries map instead
 * of trusting its selfLink keys. NULL when absent. */
const char *icontrol_stats_desc(json_t *stats, const char *field);
/* The first PEM block with that label ("CERTIFICATE REQUEST") in text,
 * malloc'd with a trailing newline; NULL when none. */
char *icontrol_extract_pem(const char *text, const char *label);
/* "start-end/total" for a chunk (end inclusive). -1 when it does not fit
 * or the chunk is empty. */
int icontrol_content_range(size_t off, size_t n, size_t total, char *buf, size_t len);
/* A download answer's Content-Range "start-end/total" (a "bytes " prefix
 * allowed, end inclusive, end < total); -1 when absent or malformed. */
int icontrol_parse_range(const char *v, size_t *start, size_t *end, size_t *total);
/* Whether an answer means "this token is no longer valid" (expired,
 * deleted, restjavad restarted: every documented form names the token, or
 * has no message) rather than "this user may not do that" (a role refusal
 * names the resource): only the first is cured by logging in again. */
bool icontrol_token_refused(long status, const char *body, size_t len);
/* An ssl-cert's serialNumber as lower-case hex without colons or leading
 * zeros (x509.h's form) into out. TMOS prints it as OpenSSL does: decimal
 * when it fits in a signed 64-bit integer, colon-separated hex otherwise;
 * hex without colons is taken too when it has a letter. False when s is
 * none of these. */
bool icontrol_serial_norm(const char *s, char *out, size_t len);
/* Object-name-safe form of s: '*' → "wildcard", anything outside
 * [A-Za-z0-9._-] → '_'. Caller frees. */
char *icontrol_safe_name(const char *s);
/* Whether s is a non-empty base64url string of at most 512 characters
 * (with '.' also allowed when dot: an ACME key authorization). What an
 * ACME CA sends as an http-01 token is checked with it before it reaches
 * an iRule, a data group or a URL. */
bool icontrol_b64url_ok(const char *s, bool dot);
/* Printable passphrase from raw random bytes (base64url, no padding).
 * Caller frees with secret_free(). */
char *icontrol_passphrase_encode(const unsigned char *raw, size_t n);

#endif
