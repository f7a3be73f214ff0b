/* base64 (NITRO systemfile content) and base64url (ACME, EAB keys, BIG-IP
 * passphrases): decoding whatever comes, and the round trips. */
#include <openssl/crypto.h>
#include <stdio.h>

#include "crypto/jws.h"
#include "device/icontrol.h"
#include "device/nitro.h"
#include "fuzz.h"

FZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_str(data, size), *enc, *dec, *dec2;
	unsigned char *raw, *raw2;
	size_t n, n2;
	struct err e = { 0 };

	/* decode what a peer sent; what decodes re-encodes and decodes the same */
	if (jws_b64url_decode(s, &raw, &n, &e) == 0) {
		FZ_ASSERT(raw[n] == '\0');
		enc = jws_b64url_encode(raw, n);
		FZ_ASSERT(enc != NULL);
		FZ_ASSERT(jws_b64url_decode(enc, &raw2, &n2, &e) == 0);
		FZ_ASSERT(n2 == n && memcmp(raw, raw2, n) == 0);
		free(raw2);
		free(enc);
		free(raw);
	}
	if (nitro_b64_decode(s, &dec, &n) == 0) {
		FZ_ASSERT(dec[n] == '\0');
		enc = nitro_b64_encode(dec, n);
		FZ_ASSERT(enc != NULL);
		FZ_ASSERT(nitro_b64_decode(enc, &dec2, &n2) == 0);
		FZ_ASSERT(n2 == n && memcmp(dec, dec2, n) == 0);
		free(dec2);
		free(enc);
		free(dec);
	}

	/* encode raw bytes: both decoders give them back */
	enc = jws_b64url_encode(data, size);
	FZ_ASSERT(enc != NULL && strchr(enc, '=') == NULL);
	FZ_ASSERT(jws_b64url_decode(enc, &raw, &n, &e) == 0);
	FZ_ASSERT(n == size && (size == 0 || memcmp(raw, data, size) == 0));
	free(raw);
	free(enc);
	enc = nitro_b64_encode(data, size);
	FZ_ASSERT(enc != NULL);
	FZ_ASSERT(nitro_b64_decode(enc, &dec, &n) == 0);
	FZ_ASSERT(n == size && (size == 0 || memcmp(dec, data, size) == 0));
	free(dec);
	free(enc);
	enc = icontrol_passphrase_encode(data, size);
	FZ_ASSERT(enc != NULL);
	FZ_ASSERT(jws_b64url_decode(enc, &raw, &n, &e) == 0);
	FZ_ASSERT(n == size && (size == 0 || memcmp(raw, data, size) == 0));
	OPENSSL_clear_free(raw, n);
	free(enc);
	free(s);
	return 0;
}
