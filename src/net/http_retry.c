/* When a request is sent again: a 429 always (the server turned it away
 * without acting on it), a 5xx or a failed transfer only when the request
 * is idempotent; waiting what Retry-After asks, else a backoff with full
 * jitter. Retry-After values above RETRY_AFTER_MAX_S are not waited for:
 * the response is returned so that the caller (an ACME or SCM poller) can
 * defer to a later run instead of blocking. */
#include "net/http_int.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define RETRY_AFTER_MAX_S 60

long
http_parse_retry_after(const char *value, time_t now)
{
	const char *p;
	char *end;
	long v;
	time_t t;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value == '\0')
		return -1;
	if (isdigit((unsigned char)*value)) {
		for (p = value; isdigit((unsigned char)*p); p++)
			;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '\0')
			return -1;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno == ERANGE)
			return -1;
		return v;
	}
	/* IMF-fixdate and the obsolete forms all start with a day name;
	 * curl_getdate alone would also take odd strings like "-5". */
	if (!isalpha((unsigned char)*value))
		return -1;
	t = curl_getdate(value, NULL);
	if (t == -1)
		return -1;
	return t > now ? (long)(t - now) : 0;
}

long
http_backoff_ms(int attempt, long base_ms, long cap_ms, double rnd)
{
	long d = base_ms;

	if (base_ms <= 0 || cap_ms <= 0 || attempt < 1)
		return 0;
	for (int i = 1; i < attempt && d < cap_ms; i++)
		d = d > cap_ms / 2 ? cap_ms : d * 2;
	if (d > cap_ms)
		d = cap_ms;
	if (rnd < 0 || rnd >= 1)
		rnd = 0;
	return (long)(rnd * (double)d);
}

void
http_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static double
jitter(void)
{
	uint64_t v;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = ((uint64_t)random() << 31) ^ (uint64_t)random();
	return (double)(v >> 11) / (double)(1ULL << 53);
}

long
http_retry_wait(const struct http_client *c, const struct http_req *req,
    int rc, const struct http_resp *resp, bool retry, int attempt)
{
	long wait = -1;

	if (attempt >= c->attempts)
		return -1;
	if (rc != 0) {
		if (!req->idempotent || !retry)
			return -1;
	} else if (resp->status == 429) {
		/* Not acted on, so safe to send again even when it changes
		 * state; a body good for one delivery its caller signs anew. */
		if (req->single_use)
			return -1;
	} else if (resp->status < 500 || !req->idempotent)
		return -1;
	if (rc == 0) {
		wait = http_parse_retry_after(http_resp_header(resp, "retry-after"),
		    time(NULL));
		if (wait > RETRY_AFTER_MAX_S)
			return -1;
		if (wait >= 0)
			return wait * 1000;
	}
	return http_backoff_ms(attempt, c->base_ms, c->cap_ms, jitter());
}
