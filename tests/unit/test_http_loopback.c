/* The HTTP client against a TLS server on 127.0.0.1: pinning, trust,
 * retries, the unreachable/unknown line, body caps, keep-alive, methods,
 * traces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/http.h"
#include "util/log.h"

#include "data/tls_server.h"

/* ---- loopback ---- */

struct fix {
	char *dir;
	struct tserver srv;
	char base[64];
	char ca[PATH_MAX];
	char pin[32 * 3];
	char other_pin[32 * 3];
};

static int
group_teardown(void **state)
{
	struct fix *f = *state;

	if (f == NULL)
		return 0;
	ts_stop(&f->srv);
	ts_rmdir(f->dir);
	free(f);
	return 0;
}

static int
group_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char cert[PATH_MAX], key[PATH_MAX];

	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("http_proxy");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	if (f == NULL)
		return -1;
	*state = f;
	if ((f->dir = ts_tmpdir()) == NULL)
		goto fail;
	if (ts_make_cert(f->dir, "srv", "lbcert-test",
	    "IP:127.0.0.1,DNS:localhost") != 0 ||
	    ts_make_cert(f->dir, "other", "other", "DNS:other.test") != 0)
		goto fail;
	snprintf(f->pin, sizeof(f->pin), "%s", ts_fingerprint(f->dir, "srv"));
	snprintf(f->other_pin, sizeof(f->other_pin), "%s",
	    ts_fingerprint(f->dir, "other"));
	snprintf(cert, sizeof(cert), "%s/srv.pem", f->dir);
	snprintf(key, sizeof(key), "%s/srv.key", f->dir);
	snprintf(f->ca, sizeof(f->ca), "%s", cert);
	if (ts_start(&f->srv, cert, key, NULL) != 0)
		goto fail;
	snprintf(f->base, sizeof(f->base), "https://127.0.0.1:%d", f->srv.port);
	return 0;
fail:
	group_teardown(state);
	*state = NULL;
	return -1;
}


static struct http_client *
pinned(struct fix *f)
{
	struct http_tls tls = { .pin_sha256 = f->pin };
	struct http_client *c = http_client_new("t", f->base, &tls, 10);

	assert_non_null(c);
	http_client_set_retry(c, 3, 10, 50);
	return c;
}

static int
get(struct http_client *c, const char *method, const char *path, bool idem,
    struct http_resp *r, struct err *e)
{
	struct http_req req = { .method = method, .path = path,
	    .idempotent = idem };

	return http_do(c, &req, r, e);
}

/* Server counters, fetched over a fresh connection (counted in
 * "connections", not in "requests"). */
static void
stats(struct fix *f, long *conns, long *reqs, const char *path, long *npath)
{
	struct http_client *c = pinned(f);
	struct http_resp r;
	struct err e = { 0 };
	json_t *j, *p;

	assert_int_equal(get(c, "GET", "/stats", true, &r, &e), 0);
	j = json_loads(r.body, 0, NULL);
	assert_non_null(j);
	*conns = (long)json_integer_value(json_object_get(j, "connections"));
	*reqs = (long)json_integer_value(json_object_get(j, "requests"));
	if (path != NULL) {
		p = json_object_get(json_object_get(j, "paths"), path);
		*npath = p ? (long)json_integer_value(p) : 0;
	}
	json_decref(j);
	http_resp_free(&r);
	http_client_free(c);
}

static void
pin_match(void **state)
{
	struct fix *f = *state;
	struct http_client *c;
	struct http_resp r;
	struct err e = { 0 };
	const char *vals[4];
	char plain[65];
	size_t k = 0;

	/* plain lower-case hex works as well as the colon form */
	for (const char *p = f->pin; *p; p++)
		if (*p != ':')
			plain[k++] = (char)tolower((unsigned char)*p);
	plain[k] = '\0';
	struct http_tls tls = { .pin_sha256 = plain };
	c = http_client_new("t", f->base, &tls, 10);
	assert_int_equal(get(c, "GET", "/ok", true, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	assert_int_equal(r.body_len, 5);
	assert_string_equal(http_resp_header(&r, "X-TEST"), "a");
	assert_int_equal(http_resp_headers(&r, "x-test", vals, 4), 2);
	assert_string_equal(vals[1], "b");
	assert_string_equal(http_resp_header(&r, "content-length"), "5");
	for (size_t i = 0; i < r.nhdr; i++)
		for (const char *p = r.hdr_names[i]; *p; p++)
			assert_false(*p >= 'A' && *p <= 'Z');
	http_resp_free(&r);
	http_client_free(c);
}

static void
pin_mismatch(void **state)
{
	struct fix *f = *state;
	struct http_tls tls = { .pin_sha256 = f->other_pin };
	struct http_client *c = http_client_new("adc1", f->base, &tls, 10);
	struct http_resp r;
	struct err e = { 0 };
	long c0, r0, c1, r1, n;
	const char *const creds[] = { "X-NITRO-PASS" };
	struct http_header h = { "X-NITRO-PASS", "pw-never-sent" };
	struct http_req req = { .method = "POST", .path = "/echo",
	    .headers = &h, .nheaders = 1, .body = "{}", .body_len = 2,
	    .redact = creds, .nredact = 1 };

	http_client_set_retry(c, 3, 10, 50);
	stats(f, &c0, &r0, NULL, &n);
	assert_int_equal(http_do(c, &req, &r, &e), LB_EUNREACH);
	assert_non_null(strstr(e.msg, "adc1"));
	assert_non_null(strstr(e.msg, f->other_pin));
	assert_non_null(strstr(e.msg, f->pin));
	assert_int_equal(get(c, "GET", "/ok", true, &r, &e), LB_EUNREACH);
	/* a mismatch is not retried */
	assert_int_equal(http_client_requests(c), 2);
	stats(f, &c1, &r1, NULL, &n);
	assert_int_equal(r1, r0);
	http_resp_free(&r);
	http_client_free(c);
}

/* A list of pins: the peer matching any one of them is trusted. */
static void
pin_list_match(void **state)
{
	struct fix *f = *state;
	char list[256];
	struct http_client *c;
	struct http_resp r;
	struct err e = { 0 };

	snprintf(list, sizeof(list), "%s, %s", f->other_pin, f->pin);
	struct http_tls tls = { .pin_sha256 = list };
	c = http_client_new("t", f->base, &tls, 10);
	assert_int_equal(get(c, "GET", "/ok", true, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	http_resp_free(&r);
	http_client_free(c);
}

/* None of the pins matches: nothing is sent, and the message shows every
 * expected fingerprint and the presented one. */
static void
pin_list_mismatch(void **state)
{
	struct fix *f = *state;
	char list[256], third[32 * 3];
	struct http_resp r;
	struct err e = { 0 };
	long c0, r0, c1, r1, n;
	struct http_header h = { "X-NITRO-PASS", "pw-never-sent" };
	struct http_req req = { .method = "POST", .path = "/echo",
	    .headers = &h, .nheaders = 1, .body = "{}", .body_len = 2 };

	/* other_pin with its first byte changed: well-formed, not the server */
	snprintf(third, sizeof(third), "%s", f->other_pin);
	third[0] = third[0] == '0' ? '1' : '0';
	snprintf(list, sizeof(list), "%s,%s", f->other_pin, third);
	struct http_tls tls = { .pin_sha256 = list };
	struct http_client *c = http_client_new("adc1", f->base, &tls, 10);

	http_client_set_retry(c, 3, 10, 50);
	stats(f, &c0, &r0, NULL, &n);
	assert_int_equal(http_do(c, &req, &r, &e), LB_EUNREACH);
	assert_non_null(strstr(e.msg, "adc1"));
	assert_non_null(strstr(e.msg, f->other_pin));
	assert_non_null(strstr(e.msg, third));
	assert_non_null(strstr(e.msg, f->pin));
	assert_null(strstr(e.msg, "pw-never-sent"));
	assert_int_equal(http_client_requests(c), 1);
	http_client_free(c);

	/* sixteen pins do not fit in a message: the presented one still
	 * shows, and how many expected ones were left out */
	char many[HTTP_PIN_MAX * 96];
	many[0] = '\0';
	for (int i = 0; i < HTTP_PIN_MAX; i++) {
		snprintf(third, sizeof(third), "%s", f->other_pin);
		third[1] = "0123456789ABCDEF"[i];
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
		    "%s%s", i == 0 ? "" : ",", third);
	}
	tls.pin_sha256 = many;
	c = http_client_new("adc1", f->base, &tls, 10);
	http_client_set_retry(c, 1, 0, 0);
	assert_int_equal(http_do(c, &req, &r, &e), LB_EUNREACH);
	assert_non_null(strstr(e.msg, f->pin));
	assert_non_null(strstr(e.msg, "more)"));
	stats(f, &c1, &r1, NULL, &n);
	assert_int_equal(r1, r0);
	http_resp_free(&r);
	http_client_free(c);
}

static void
ca_file_ok(void **state)
{
	struct fix *f = *state;
	struct http_tls tls = { .ca_file = f->ca };
	struct http_client *c = http_client_new("t", f->base, &tls, 10);
	struct http_resp r;
	struct err e = { 0 };

	assert_int_equal(get(c, "GET", "/ok", true, &r, &e), 0);
	assert_int_equal(r.status, 200);
	http_resp_free(&r);
	http_client_free(c);
}

static void
no_trust_fails(void **state)
{
	struct fix *f = *state;
	struct http_client *c = http_client_new("t", f->base, NULL, 10);
	struct http_resp r;
	struct err e = { 0 };

	http_client_set_retry(c, 3, 10, 50);
	assert_int_equal(get(c, "GET", "/ok", true, &r, &e), LB_EUNREACH);
	assert_null(r.body);
	assert_int_equal(http_client_requests(c), 1);
	http_client_free(c);

	/* the CA file of another certificate does not help either */
	char other[PATH_MAX];
	snprintf(other, sizeof(other), "%s/other.pem", f->dir);
	struct http_tls tls = { .ca_file = other };
	c = http_client_new("t", f->base, &tls, 10);
	assert_int_equal(get(c, "GET", "/ok", true, &r, &e), LB_EUNREACH);
	http_client_free(c);

	/* an unreadable ca_file is a configuration error, said as such */
	struct http_tls missing = { .ca_file = "/nonexistent/ca.pem" };
	c = http_client_new("t", f->base, &missing, 10);
	assert_int_equal(get(c, "GET", "/ok", true, &r, &e), LB_ECONFIG);
	assert_non_null(strstr(e.msg, "/nonexistent/ca.pem"));
	assert_int_equal(http_client_requests(c), 1);
	http_client_free(c);
}

static void
retries_503(void **state)
{
	struct fix *f = *state;
	struct http_client *c = pinned(f);
	struct http_resp r;
	struct err e = { 0 };
	long cn, rq, n;

	assert_int_equal(get(c, "GET", "/flaky/a?fail=2", true, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "recovered");
	assert_int_equal(http_client_requests(c), 3);
	stats(f, &cn, &rq, "GET /flaky/a", &n);
	assert_int_equal(n, 3);
	http_resp_free(&r);

	/* exhausted: the last 503 is returned as a response */
	assert_int_equal(get(c, "GET", "/always503", true, &r, &e), 0);
	assert_int_equal(r.status, 503);
	assert_int_equal(http_client_requests(c), 6);
	http_resp_free(&r);
	http_client_free(c);
}

static void
retry_after_429(void **state)
{
	struct fix *f = *state;
	struct http_client *c = pinned(f);
	struct http_resp r;
	struct err e = { 0 };
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(get(c, "GET", "/busy/a", true, &r, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(r.status, 200);
	assert_int_equal(http_client_requests(c), 2);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	/* Retry-After: 1 wins over the 10..50 ms backoff */
	assert_in_range(ms, 950, 5000);
	http_resp_free(&r);

	/* a long wait is the caller's business: the 429 comes back at once */
	assert_int_equal(get(c, "GET", "/busy/b?after=3600", true, &r, &e), 0);
	assert_int_equal(r.status, 429);
	assert_string_equal(http_resp_header(&r, "retry-after"), "3600");
	assert_int_equal(http_client_requests(c), 3);
	http_resp_free(&r);
	http_client_free(c);
}

static void
post_not_retried(void **state)
{
	struct fix *f = *state;
	struct http_client *c = pinned(f);
	struct http_resp r;
	struct err e = { 0 };
	long cn, rq, n0, n1;
	struct http_req req = { .method = "POST", .path = "/always503",
	    .body = "{\"a\":1}", .body_len = 7 };

	stats(f, &cn, &rq, "POST /always503", &n0);
	assert_int_equal(http_do(c, &req, &r, &e), 0);
	assert_int_equal(r.status, 503);
	assert_int_equal(http_client_requests(c), 1);
	stats(f, &cn, &rq, "POST /always503", &n1);
	assert_int_equal(n1 - n0, 1);
	http_resp_free(&r);

	/* nor is a connection failure */
	http_client_free(c);
	c = http_client_new("t", "https://127.0.0.1:1", NULL, 5);
	http_client_set_retry(c, 3, 10, 50);
	assert_int_equal(http_do(c, &req, &r, &e), LB_EUNREACH);
	assert_int_equal(http_client_requests(c), 1);
	/* while an idempotent request is */
	assert_int_equal(get(c, "GET", "/", true, &r, &e), LB_EUNREACH);
	assert_int_equal(http_client_requests(c), 4);
	http_client_free(c);
}

/* A peer that answered once in this run was reachable: a later reset or
 * timeout is an unknown outcome, not "could not be reached at all". */
static void
unreachable_only_before_answer(void **state)
{
	struct fix *f = *state;
	struct http_client *c = pinned(f);
	struct http_resp r;
	struct err e = { 0 };
	struct http_req post = { .method = "POST", .path = "/reset/u1",
	    .body = "{}", .body_len = 2 };

	assert_int_equal(http_do(c, &post, &r, &e), LB_EUNREACH);
	assert_int_equal(http_client_answered(c), 0);
	assert_int_equal(get(c, "GET", "/ok", true, &r, &e), 0);
	assert_int_equal(http_client_answered(c), 1);
	http_resp_free(&r);
	/* on a fresh connection: libcurl itself sends a request again
	 * when a reused one dies unanswered */
	post.path = "/reset/u2";
	post.send_once = true;
	assert_int_equal(http_do(c, &post, &r, &e), LB_EUNKNOWN);
	assert_non_null(strstr(e.msg, "POST"));
	/* an idempotent request is sent again and gets through */
	assert_int_equal(get(c, "GET", "/reset/u3", true, &r, &e), 0);
	assert_string_equal(r.body, "after reset");
	http_resp_free(&r);
	/* and when every attempt fails, the outcome is still unknown */
	assert_int_equal(get(c, "GET", "/reset/u4?n=5", true, &r, &e),
	    LB_EUNKNOWN);
	http_client_free(c);
}

static void
timeout_after_answer(void **state)
{
	struct fix *f = *state;
	struct http_tls tls = { .pin_sha256 = f->pin };
	struct http_client *c = http_client_new("t", f->base, &tls, 1);
	struct http_resp r;
	struct err e = { 0 };
	struct http_req post = { .method = "POST", .path = "/stall?s=3",
	    .body = "{}", .body_len = 2 };

	assert_non_null(c);
	assert_int_equal(http_do(c, &post, &r, &e), LB_EUNREACH);
	assert_int_equal(get(c, "GET", "/ok", true, &r, &e), 0);
	http_resp_free(&r);
	assert_int_equal(http_do(c, &post, &r, &e), LB_EUNKNOWN);
	assert_non_null(strstr(e.msg, "timed out"));
	assert_int_equal(http_client_requests(c), 3);
	http_client_free(c);
}

/* 429: the server did not act, so any request goes again, honouring
 * Retry-After, but a body good for one delivery does not. */
static void
retry_429_not_idempotent(void **state)
{
	struct fix *f = *state;
	struct http_client *c = pinned(f);
	struct http_resp r;
	struct err e = { 0 };
	struct timespec t0, t1;
	long cn, rq, n;
	struct http_req post = { .method = "POST", .path = "/busy/p1",
	    .body = "{\"user\":\"u\"}", .body_len = 12 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(http_do(c, &post, &r, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(r.status, 200);
	assert_int_equal(http_client_requests(c), 2);
	assert_in_range((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000, 950, 5000);
	stats(f, &cn, &rq, "POST /busy/p1", &n);
	assert_int_equal(n, 2);
	http_resp_free(&r);

	post.path = "/busy/p2";
	post.send_once = true;
	assert_int_equal(http_do(c, &post, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(http_client_requests(c), 4);
	http_resp_free(&r);

	post.path = "/busy/p3";
	post.send_once = false;
	post.single_use = true;
	assert_int_equal(http_do(c, &post, &r, &e), 0);
	assert_int_equal(r.status, 429);
	assert_int_equal(http_client_requests(c), 5);
	http_resp_free(&r);

	/* a long Retry-After is still the caller's business */
	post.path = "/busy/p4?after=3600";
	post.single_use = false;
	assert_int_equal(http_do(c, &post, &r, &e), 0);
	assert_int_equal(r.status, 429);
	assert_int_equal(http_client_requests(c), 6);
	http_resp_free(&r);
	http_client_free(c);
}

static void
body_cap(void **state)
{
	struct fix *f = *state;
	struct http_client *c = pinned(f);
	struct http_resp r;
	struct err e = { 0 };
	char path[64];

	snprintf(path, sizeof(path), "/big?size=%u", HTTP_BODY_MAX + 1);
	assert_int_equal(get(c, "GET", path, false, &r, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "larger than"));
	assert_null(r.body);
	snprintf(path, sizeof(path), "/bigchunked?size=%u", HTTP_BODY_MAX + 1);
	assert_int_equal(get(c, "GET", path, false, &r, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "larger than"));
	snprintf(path, sizeof(path), "/big?size=%u", HTTP_BODY_MAX);
	assert_int_equal(get(c, "GET", path, false, &r, &e), 0);
	assert_int_equal(r.body_len, HTTP_BODY_MAX);
	http_resp_free(&r);
	http_client_free(c);
}

static void
keep_alive(void **state)
{
	struct fix *f = *state;
	struct http_client *c = pinned(f);
	struct http_resp r;
	struct err e = { 0 };
	long c0, c1, r0, r1, n;

	stats(f, &c0, &r0, NULL, &n);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(get(c, "GET", "/ok", true, &r, &e), 0);
		http_resp_free(&r);
	}
	stats(f, &c1, &r1, NULL, &n);
	/* one for the client, one for the second stats call */
	assert_int_equal(c1 - c0, 2);
	assert_int_equal(r1 - r0, 3);
	http_client_free(c);
}

static json_t *
echo(struct http_client *c, const char *method, const char *body,
    long *status)
{
	struct http_req req = { .method = method, .path = "/echo",
	    .body = body, .body_len = body ? strlen(body) : 0,
	    .content_type = body && body[0] != '{' ? "text/plain" : NULL };
	struct http_resp r;
	struct err e = { 0 };
	json_t *j;

	assert_int_equal(http_do(c, &req, &r, &e), 0);
	*status = r.status;
	j = r.body_len ? json_loads(r.body, 0, NULL) : NULL;
	http_resp_free(&r);
	return j;
}

static void
methods(void **state)
{
	struct fix *f = *state;
	struct http_client *c = pinned(f);
	long st;
	json_t *j;
	const char *m, *b, *ct;

	j = echo(c, "PUT", "{\"x\":1}", &st);
	assert_int_equal(json_unpack(j, "{s:s,s:s,s:{s:s}}", "method", &m,
	    "body", &b, "headers", "content-type", &ct), 0);
	assert_string_equal(m, "PUT");
	assert_string_equal(b, "{\"x\":1}");
	assert_string_equal(ct, "application/json");
	json_decref(j);
	j = echo(c, "PATCH", "plain", &st);
	assert_int_equal(json_unpack(j, "{s:s,s:{s:s}}", "method", &m,
	    "headers", "content-type", &ct), 0);
	assert_string_equal(m, "PATCH");
	assert_string_equal(ct, "text/plain");
	json_decref(j);
	/* no body: no content type, an empty Content-Length for POST */
	j = echo(c, "POST", NULL, &st);
	assert_int_equal(json_unpack(j, "{s:s,s:s}", "method", &m, "body", &b), 0);
	assert_string_equal(m, "POST");
	assert_string_equal(b, "");
	assert_null(json_object_get(json_object_get(j, "headers"),
	    "content-type"));
	json_decref(j);
	j = echo(c, "DELETE", NULL, &st);
	assert_int_equal(json_unpack(j, "{s:s}", "method", &m), 0);
	assert_string_equal(m, "DELETE");
	json_decref(j);
	j = echo(c, "HEAD", NULL, &st);
	assert_int_equal(st, 200);
	assert_null(j);
	http_client_free(c);
}

static void
capture_stderr(int *saved, char *path, size_t len)
{
	snprintf(path, len, "/tmp/lbcert-test-log-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	*saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *
release_stderr(int saved, const char *path)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char *s = ts_slurp(path);
	unlink(path);
	return s;
}

static void
trace_redacts(void **state)
{
	struct fix *f = *state;
	struct http_client *c = pinned(f);
	struct http_resp r;
	struct err e = { 0 };
	char path[128];
	int saved;
	struct http_header h[] = { { "X-NITRO-PASS", "pw-in-header-1" },
	    { "X-Custom", "visible-value" } };
	const char *body = "{\"login\":{\"username\":\"admin\","
	    "\"password\":\"pw-in-body-2\"}}";
	struct http_req req = { .method = "POST", .path = "/echo",
	    .headers = h, .nheaders = 2, .body = body, .body_len = strlen(body),
	    .idempotent = false };

	log_init(LL_TRACE, false);
	capture_stderr(&saved, path, sizeof(path));
	int rc = http_do(c, &req, &r, &e);
	char *log = release_stderr(saved, path);
	log_init(LL_INFO, false);
	assert_int_equal(rc, 0);
	assert_int_equal(r.status, 200);
	/* the server did get the real values */
	assert_non_null(strstr(r.body, "pw-in-header-1"));
	assert_non_null(strstr(r.body, "pw-in-body-2"));
	assert_non_null(strstr(r.body, "\"content-type\": \"application/json\""));
	assert_non_null(log);
	assert_null(strstr(log, "pw-in-header-1"));
	assert_null(strstr(log, "pw-in-body-2"));
	assert_non_null(strstr(log, "visible-value"));
	assert_non_null(strstr(log, "[REDACTED]"));
	snprintf(path, sizeof(path), "POST %s/echo -> 200", f->base);
	assert_non_null(strstr(log, path));
	free(log);
	http_resp_free(&r);
	http_client_free(c);
}

/* The trace is cut at 64 KiB; a registered secret that straddles the cut
 * must not show its first half. */
static void
trace_cut_after_redaction(void **state)
{
	struct fix *f = *state;
	struct http_client *c = pinned(f);
	static char secret[] = "straddle-secret-XYZ";
	size_t fill = 60000, reps = 2000, sl = strlen(secret);
	char *body = malloc(fill + reps * sl + 1), path[128], *log;
	struct http_resp r;
	struct err e = { 0 };
	int saved, rc;

	assert_non_null(body);
	memset(body, 'x', fill);
	for (size_t i = 0; i < reps; i++)
		memcpy(body + fill + i * sl, secret, sl);
	body[fill + reps * sl] = '\0';
	struct http_req req = { .method = "POST", .path = "/echo", .body = body,
	    .body_len = strlen(body), .idempotent = false };

	log_secret_add(secret);
	log_init(LL_TRACE, false);
	capture_stderr(&saved, path, sizeof(path));
	rc = http_do(c, &req, &r, &e);
	log = release_stderr(saved, path);
	log_init(LL_INFO, false);
	log_secret_remove(secret);
	assert_int_equal(rc, 0);
	assert_non_null(log);
	assert_non_null(strstr(log, "[REDACTED]"));
	assert_null(strstr(log, "straddle"));
	free(log);
	free(body);
	http_resp_free(&r);
	http_client_free(c);
}

static void
insecure_warns(void **state)
{
	struct fix *f = *state;
	struct http_tls tls = { .insecure = true };
	struct http_resp r;
	struct err e = { 0 };
	char path[64];
	int saved;

	capture_stderr(&saved, path, sizeof(path));
	struct http_client *c = http_client_new("adc9", f->base, &tls, 10);
	char *log = release_stderr(saved, path);
	assert_non_null(strstr(log, "TLS verification disabled for adc9"));
	free(log);
	assert_int_equal(get(c, "GET", "/ok", true, &r, &e), 0);
	assert_int_equal(r.status, 200);
	http_resp_free(&r);
	http_client_free(c);
}

int
main(void)
{
	const struct CMUnitTest loop[] = {
		cmocka_unit_test(pin_match),
		cmocka_unit_test(pin_mismatch),
		cmocka_unit_test(pin_list_match),
		cmocka_unit_test(pin_list_mismatch),
		cmocka_unit_test(ca_file_ok),
		cmocka_unit_test(no_trust_fails),
		cmocka_unit_test(retries_503),
		cmocka_unit_test(retry_after_429),
		cmocka_unit_test(post_not_retried),
		cmocka_unit_test(unreachable_only_before_answer),
		cmocka_unit_test(timeout_after_answer),
		cmocka_unit_test(retry_429_not_idempotent),
		cmocka_unit_test(body_cap),
		cmocka_unit_test(keep_alive),
		cmocka_unit_test(methods),
		cmocka_unit_test(trace_redacts),
		cmocka_unit_test(trace_cut_after_redaction),
		cmocka_unit_test(insecure_warns),
	};

	return cmocka_run_group_tests_name("http loopback", loop, group_setup,
	    group_teardown);
}
