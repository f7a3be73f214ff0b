/* Certificate bundles from a CA or a device: split into PEM blocks, each
 * read for its details, then put in chain order; CSR text as a device
 * hands it back. */
#include <stdio.h>

#include "crypto/x509.h"
#include "fuzz.h"
#include "util/mem.h"

FZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_str(data, size), **v = NULL, buf[32];
	struct err e = { 0 };
	size_t n = 0;

	if (x509_split_pem(s, &v, &n, &e) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct cert_info ci;

			memset(&ci, 0, sizeof(ci));
			FZ_ASSERT(v[i] != NULL);
			if (x509_cert_info(v[i], &ci, &e) == 0) {
				FZ_ASSERT(ci.serial[0] != '\0' && strlen(ci.fingerprint) == 64);
				cert_info_free(&ci);
			}
			(void)x509_fingerprint_colon(v[i], buf, sizeof(buf), &e);
		}
		if (n > 0)
			(void)x509_order_chain(v, n, &e);
		strv_free(v, n);
	}
	(void)x509_csr_key_desc(s, buf, sizeof(buf), &e);
	free(s);
	return 0;
}
