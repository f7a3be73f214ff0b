/* Response headers a server chooses: Retry-After (http.c and the ACME
 * poll wait built on it), Link (ACME alternate chains), and the trace
 * redaction every request and response passes through. */
#include <stdio.h>
#include <time.h>

#include "ca/acme_internal.h"
#include "fuzz.h"
#include "net/http.h"

#define NOW ((time_t)1767225600) /* 2026-01-01T00:00:00Z */

FZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_str(data, size), *links[8], *red;
	long ra, ms;
	size_t n;

	ra = http_parse_retry_after(s, NOW);
	FZ_ASSERT(ra >= -1);
	for (int attempt = 1; attempt <= 3; attempt++) {
		ms = acme_poll_wait_ms(s, NOW, attempt, 10000);
		/* whatever the server says, lbcert neither spins nor sleeps for days */
		FZ_ASSERT(ms >= 50 && ms <= 3600L * 1000);
	}

	n = acme_link_parse(s, "alternate", "https://ca.example/acme/cert/1", links, 8);
	FZ_ASSERT(n <= 8);
	for (size_t i = 0; i < n; i++) {
		FZ_ASSERT(links[i] != NULL);
		free(links[i]);
	}
	n = acme_link_parse(s, "up", "https://ca.example", links, 1);
	FZ_ASSERT(n <= 1);
	for (size_t i = 0; i < n; i++)
		free(links[i]);

	red = http_redact_trace(s, NULL, 0);
	free(red);
	free(s);
	return 0;
}
