/* Pure pieces of the Sectigo SCM client (scm.c), exported for
 * tests/unit/test_scm.c and tests/fuzz only. Nothing else should call them. */
#ifndef LB_SCM_INTERNAL_H
#define LB_SCM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "util/err.h"

/* Reads the SCM error envelope {"code": <int>, "description": "..."}.
 * Returns 0 with *code and *description (malloc'd, caller frees) when the
 * body is one, -1 otherwise (*description NULL). */
int scm_error_parse(const char *body, size_t len, long *code, char **description);

/* Sets e to "scm <ca>: <code> <description> (HTTP <status>)", or to a
 * short excerpt of the body when it is no envelope, and returns
 * LB_EAUTH (401/403), LB_ENOTFOUND (404) or LB_ERR. */
int scm_http_error(const char *ca_name, long status, const char *body, size_t len,
    struct err *e);

/* True when a collect answer means "not issued yet, ask again": the
 * documented codes -183, -1400, -109, -195, -140, -103 with any 4xx but
 * 401/403 (400 is usual, the OAS also documents 404), any 5xx, and a 200
 * without a certificate. Revoked (-110), a wrong id (-124), a bad format
 * (-126, -1450), auth failures and anything else are final. */
bool scm_collect_pending(long status, const char *body, size_t len);

/* True when a collect answer means "this URL form is not served here":
 * 404/405 without an SCM envelope, or with a code that is none of the
 * collect codes above (a wrong id -124 stays a real "not found"). The
 * client then switches from ?format= to the /{format} path form. */
bool scm_collect_unserved(long status, const char *body, size_t len);

struct scm_enroll {
	long org_id;
	long cert_type;
	int term;
	const char *csr_pem;
	char *const *names;   /* common name first (or anywhere): it is left out */
	size_t nnames;
	const char *common_name;
	const char *profile;  /* comments: "lbcert <profile>" */
	const char *tag;      /* comments: "... ref <tag>", NULL: none */
	const struct cfg_scm_extra *extra; /* custom fields, dcvMode; may be NULL */
};

/* The POST /api/ssl/v1/enroll body: orgId, csr (trailing blanks cut),
 * certType, term, subjAltNames (comma-separated, without the CN; absent
 * when empty), comments, customFields [{name, value}] and dcvMode/dcvEmail
 * when configured. Caller frees; NULL on allocation failure. */
char *scm_enroll_body(const struct scm_enroll *r);

/* Finds the profile id of a certificate type, by name (case-insensitive)
 * or by numeric id, in a GET /types answer. Unknown: an LB_ECONFIG error
 * listing the available ones. */
int scm_type_lookup(const char *ca_name, const char *types_json, size_t len,
    const char *want, long *id, struct err *e);

/* Checks term against the "terms" of certificate type id in a GET /types
 * answer: LB_ECONFIG listing the allowed terms when it is not one (a
 * type without a terms list, or not listed, is left to the enroll). */
int scm_term_check(const char *ca_name, const char *types_json, size_t len, long id,
    int term, struct err *e);

/* Checks that every mandatory field of a GET /customFields answer
 * ([{id, name, mandatory}]) has a value in x: LB_ECONFIG naming the first
 * missing field and the profile. A body that is no such list: LB_ERR. */
int scm_custom_fields_check(const char *ca_name, const char *profile, const char *json,
    size_t len, const struct cfg_scm_extra *x, struct err *e);

/* The ids of a GET /api/ssl/v1 listing (an array of {sslId | id, ...},
 * the id a number or a decimal string), highest first, in *ids (malloc'd,
 * caller frees). Returns the count, or -1 when the body is no array. */
long scm_list_ids(const char *json, size_t len, long **ids);

/* True when a GET /api/ssl/v1/{id} answer carries tag in its comments. */
bool scm_details_tagged(const char *json, size_t len, const char *tag);

/* The certificates of a PKCS#7 PEM bundle (collect's "base64" format), each
 * a malloc'd PEM string in *out (strv_free). */
int scm_pkcs7_split(const char *bundle, char ***out, size_t *nout, struct err *e);

/* A strictly positive decimal number (an sslId or a numeric cert_type). */
bool scm_is_id(const char *s);

#endif
