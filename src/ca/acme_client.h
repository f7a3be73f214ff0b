/* Private to the ACME client (src/ca/acme*.c): the client's state and the
 * pieces its files share. Not an interface for other modules; the engine
 * sees only acme_ops (ca.h). */
#ifndef LB_ACME_CLIENT_H
#define LB_ACME_CLIENT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <time.h>

#include "ca/ca.h"
#include "net/http.h"
#include "util/err.h"

#define ERR_PREFIX "urn:ietf:params:acme:error:"
#define RETRY_AFTER_MAX_S 3600L /* a CA's Retry-After beyond this is taken as this */

struct ca {
	const struct cfg_ca *cfg;
	struct http_client *http;
	char *key_path;  /* <state_dir>/acme-<name>.key */
	char *acct_path; /* <state_dir>/acme-<name>.json */
	EVP_PKEY *key;
	char *thumb;
	json_t *dir;
	char *nonce;
	char *kid;       /* account URL */
	bool send_once;  /* the POST now in hand must not be re-sent below us */
};

/* ---- JSON and problems (acme_parse.c) ---- */

/* The JSON object in body, or NULL (not JSON, not an object). Caller
 * decrefs. */
json_t *acme_json_object(const char *body, size_t len);
/* o[key] when it is a string (pointer into o), else NULL. */
const char *acme_jstr(const json_t *o, const char *key);
/* One line from a problem object; status 0 leaves the HTTP status out.
 * Caller frees; NULL when out of memory. */
char *acme_problem_json(json_t *j, long status);

/* ---- transport (acme_transport.c) ---- */

/* One unsigned request (GET of the directory, HEAD of newNonce, and the
 * signed POSTs of acme_post); keeps the Replay-Nonce it carried. */
int acme_request(struct ca *c, const char *method, const char *url, const char *body,
    const char *accept, bool idempotent, struct http_resp *resp, struct err *e);
/* 0 when url is on the directory's origin, else LB_ERR naming it. */
int acme_check_url(struct ca *c, const char *url, struct err *e);
/* Reads the directory once per client. */
int acme_directory(struct ca *c, struct err *e);
bool acme_eab_required(const struct ca *c);
/* Sets e from an error response; what names the request for the user.
 * Returns the LB_E* code. */
int acme_problem(struct ca *c, const char *what, const struct http_resp *r, struct err *e);
/* Whether r is the ACME problem short_type ("badNonce"). */
bool acme_is_problem(const struct http_resp *r, const char *short_type);
/* Signed POST (payload NULL: POST-as-GET) with the account URL as kid,
 * or the JWK when use_jwk; see acme_transport.c for its retries. resp is
 * the caller's (http_resp_free). */
int acme_post(struct ca *c, const char *url, const char *payload, bool use_jwk,
    const char *accept, struct http_resp *resp, struct err *e);
/* POST-as-GET of an ACME object that must come back 200 with JSON; *out
 * is the caller's (json_decref). */
int acme_get_object(struct ca *c, const char *url, const char *what, json_t **out,
    struct http_resp *resp, struct err *e);

/* ---- account (acme_account.c) ---- */

int acme_account_register(struct ca *c, struct err *e);
/* Directory, account key and account URL, loaded or registered. */
int acme_ensure_account(struct ca *c, struct err *e);

/* ---- authorizations (acme_authz.c) ---- */

/* The collect run's clock: when to stop waiting and leave it pending. */
struct acme_wait {
	time_t deadline;
	int attempt;
};

/* Sleeps before the next poll; LB_EPENDING when that would pass the
 * deadline. */
int acme_wait_next(struct ca *c, struct acme_wait *w, const struct http_resp *r,
    const char *what, struct err *e);
/* Gets every authorization of order valid, answering what is pending. */
int acme_authorize(struct ca *c, json_t *order, const struct ca_challenge *ch,
    struct acme_wait *w, struct err *e);

/* ---- dns-01 records (acme_dns01.c) ---- */

struct acme_dns01;
/* Adds the TXT record for ident's dns-01 challenge (keyauth: token.thumb)
 * through the CA's dns: server and waits until the zone's name servers
 * answer it. On success *out is the record, to hand to withdraw; on
 * failure nothing of ours is left in the zone (deleting it is tried). */
int acme_dns01_publish(struct ca *c, const char *ident, const char *keyauth,
    struct acme_dns01 **out, struct err *e);
/* Deletes the record (a failure is logged) and frees s. NULL is fine. */
void acme_dns01_withdraw(struct ca *c, struct acme_dns01 *s);
/* Before anything is made or ordered for p: the DNS server takes the TSIG
 * key for the zone of p's first name (dns_check_key). */
int acme_dns01_check(struct ca *c, const struct cfg_profile *p, struct err *e);

/* ---- finalize and certificate (acme_cert.c) ---- */

int acme_finalize(struct ca *c, const struct ca_request *req, json_t *order,
    struct err *e);
/* The chain to install (preferred_chain honored); *bundle malloc'd. */
int acme_download(struct ca *c, json_t *order, char **bundle, struct err *e);
/* Leaf into *cert_pem, issuers into *chain (strv_free). */
int acme_split_bundle(struct ca *c, const char *bundle, char **cert_pem, char ***chain,
    size_t *nchain, struct err *e);

/* ---- lost newOrder (acme_find.c) ---- */

int acme_find(struct ca *c, const struct ca_request *req, char **order_ref,
    struct err *e);

/* ---- renewal information and profiles (acme_ari.c) ---- */

/* ca_ops.renewal_info. */
int acme_renewal_info(struct ca *c, const char *cert_pem, struct ca_renewal *out,
    struct err *e);
/* The certID for newOrder's "replaces" when the directory (already read)
 * offers renewal information, else NULL. Caller frees. */
char *acme_replaces_id(struct ca *c, const char *cert_pem);
/* ca_ops.prepare: with dns-01 the DNS server takes the TSIG key; the
 * profile's acme_profile is among meta.profiles. */
int acme_prepare(struct ca *c, const struct cfg_profile *p, struct err *e);

#endif
