/* Sectigo SCM answers: the error envelope and what the client concludes
 * from it (pending, unserved, error message), the certificate types list,
 * and a collected bundle (PEM or PKCS#7) split and put in chain order.
 * The first byte picks the HTTP status the body came with. */
#include <stdio.h>

#include "ca/scm_internal.h"
#include "crypto/x509.h"
#include "fuzz.h"
#include "util/mem.h"

FZ_QUIET_INIT

static void
chain(const char *body)
{
	struct err e = { 0 };
	char **v = NULL;
	size_t n = 0;
	int rc;

	if (strstr(body, "-----BEGIN CERTIFICATE-----") == NULL &&
	    strstr(body, "-----BEGIN PKCS7-----") != NULL)
		rc = scm_pkcs7_split(body, &v, &n, &e);
	else
		rc = x509_split_pem(body, &v, &n, &e);
	if (rc == 0 && n > 0)
		(void)x509_order_chain(v, n, &e);
	strv_free(v, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 400, 401, 403, 404, 405, 500, 503 };
	struct err e = { 0 };
	char *body, *desc = NULL;
	long status, code, id;

	if (size < 1)
		return 0;
	status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	body = fz_str(data + 1, size - 1);
	size--;
	if (scm_error_parse(body, size, &code, &desc) == 0)
		FZ_ASSERT(desc != NULL);
	free(desc);
	FZ_ASSERT(scm_http_error("scm1", status, body, size, &e) < 0);
	FZ_ASSERT(strlen(e.msg) < sizeof(e.msg));
	(void)scm_collect_unserved(status, body, size);
	if (status == 200 && !scm_collect_pending(status, body, size))
		chain(body);
	(void)scm_type_lookup("scm1", body, size, "OV SSL", &id, &e);
	(void)scm_type_lookup("scm1", body, size, "423", &id, &e);
	free(body);
	return 0;
}
