#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/acme_internal.h"
#include "ca/ca.h"
#include "util/err.h"
#include "util/mem.h"

static void
link_parse_table(void **state)
{
	static const struct {
		const char *value;
		const char *rel;
		size_t n;
		const char *first, *second;
	} t[] = {
		{ "<https://ca/cert/1/alternate/1>;rel=\"alternate\"", "alternate", 1,
		  "https://ca/cert/1/alternate/1", NULL },
		{ "<https://ca/dir>;rel=\"index\"", "alternate", 0, NULL, NULL },
		{ "<https://ca/dir>;rel=\"index\", <https://ca/a/1>; rel=\"alternate\", "
		  "<https://ca/a/2> ; rel=alternate", "alternate", 2,
		  "https://ca/a/1", "https://ca/a/2" },
		{ "<https://ca/a/1>; title=\"x, y; z\"; rel=\"up alternate\"", "alternate", 1,
		  "https://ca/a/1", NULL },
		{ "<https://ca/a/1>; REL=\"Alternate\"", "alternate", 1, "https://ca/a/1", NULL },
		{ "</cert/9/alternate/1>;rel=\"alternate\"", "alternate", 1,
		  "https://127.0.0.1:14000/cert/9/alternate/1", NULL },
		{ "<https://ca/a/1>; rel=\"alternates\"", "alternate", 0, NULL, NULL },
		{ "garbage", "alternate", 0, NULL, NULL },
		{ "<https://ca/a/1", "alternate", 0, NULL, NULL },
		{ "", "alternate", 0, NULL, NULL },
		/* blanks before the comma: the next link's rel is its own */
		{ "<https://ca/a/1>; rel=\"up\" , <https://ca/a/2>; rel=alternate", "alternate", 1,
		  "https://ca/a/2", NULL },
		{ "<https://ca/a/1>; rel=up\t, <https://ca/a/2>; rel=alternate", "up", 1,
		  "https://ca/a/1", NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *out[4] = { 0 };
		size_t n = acme_link_parse(t[i].value, t[i].rel,
		    "https://127.0.0.1:14000/certZ/9", out, 4);

		assert_int_equal(n, t[i].n);
		if (t[i].first)
			assert_string_equal(out[0], t[i].first);
		if (t[i].second)
			assert_string_equal(out[1], t[i].second);
		for (size_t j = 0; j < n; j++)
			free(out[j]);
	}
}

/* A value ending in blanks: the parser stops at its end (heap copies, so
 * that AddressSanitizer sees a read past it). */
static void
link_parse_trailing_blanks(void **state)
{
	static const char *const v[] = {
		"<https://ca/a/1>; rel=alternate ", "<https://ca/a/1>; rel=\"alternate\"\t",
		"<https://ca/a/1> ", "<https://ca/a/1>;rel=alternate; ",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *copy = strdup(v[i]), *out[2] = { 0 };
		size_t n = acme_link_parse(copy, "alternate", NULL, out, 2);

		assert_int_equal(n, i == 2 ? 0 : 1);
		if (n == 1)
			assert_string_equal(out[0], "https://ca/a/1");
		free(out[0]);
		free(copy);
	}
}

static void
link_parse_respects_max(void **state)
{
	char *out[2] = { 0 };
	(void)state;
	assert_int_equal(acme_link_parse("<https://a/1>;rel=alternate, <https://a/2>;rel=alternate, "
	    "<https://a/3>;rel=alternate", "alternate", NULL, out, 2), 2);
	assert_string_equal(out[1], "https://a/2");
	free(out[0]);
	free(out[1]);
}

static void
url_resolve(void **state)
{
	char *s;
	(void)state;
	s = acme_url_resolve("https://h:1/x/y", "/z");
	assert_string_equal(s, "https://h:1/z");
	free(s);
	s = acme_url_resolve("https://h", "/z");
	assert_string_equal(s, "https://h/z");
	free(s);
	s = acme_url_resolve("https://h/x", "http://other/q");
	assert_string_equal(s, "http://other/q");
	free(s);
	assert_null(acme_url_resolve("https://h/x", "rel/path"));
	assert_null(acme_url_resolve(NULL, "/z"));
}

static void
problem_format_table(void **state)
{
	static const struct {
		const char *body;
		long status;
		const char *want;
	} t[] = {
		{ "{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"detail\":\"JWS has an invalid anti-replay nonce\",\"status\":400}",
		  400, "urn:ietf:params:acme:error:badNonce: JWS has an invalid anti-replay nonce (HTTP 400)" },
		{ "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\"}", 400,
		  "urn:ietf:params:acme:error:rejectedIdentifier: (no detail) (HTTP 400)" },
		{ "{\"type\":\"urn:ietf:params:acme:error:compound\",\"detail\":\"2 problems\","
		  "\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:caa\",\"detail\":\"CAA forbids\","
		  "\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"}},"
		  "{\"type\":\"urn:ietf:params:acme:error:dns\",\"detail\":\"NXDOMAIN\","
		  "\"identifier\":{\"type\":\"dns\",\"value\":\"b.example\"}}]}", 403,
		  "urn:ietf:params:acme:error:compound: 2 problems (HTTP 403); "
		  "dns:a.example: caa: CAA forbids; dns:b.example: dns: NXDOMAIN" },
		{ "<html>Bad\nGateway</html>", 502, "HTTP 502: <html>Bad Gateway</html>" },
		{ "", 500, "HTTP 500 with an empty body" },
		{ "[1,2]", 400, "HTTP 400: [1,2]" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *s = acme_problem_format(t[i].body, strlen(t[i].body), t[i].status);
		assert_non_null(s);
		assert_string_equal(s, t[i].want);
		free(s);
	}
}

static void
problem_format_bounds_garbage(void **state)
{
	char big[5000];
	char *s;
	(void)state;
	memset(big, 'x', sizeof(big));
	s = acme_problem_format(big, sizeof(big), 500);
	assert_true(strlen(s) < 300);
	free(s);
}

/* The subproblem count comes from the CA: only the first ten are shown. */
static void
problem_format_bounds_subproblems(void **state)
{
	json_t *subs = json_array(), *doc;
	char *body, *s, want[64];
	(void)state;
	for (int i = 0; i < 5000; i++)
		json_array_append_new(subs, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type",
		    "urn:ietf:params:acme:error:dns", "detail", "NXDOMAIN", "identifier",
		    "type", "dns", "value", "host.example"));
	doc = json_pack("{s:s, s:s, s:o}", "type", "urn:ietf:params:acme:error:compound",
	    "detail", "many", "subproblems", subs);
	body = json_dumps(doc, JSON_COMPACT);
	s = acme_problem_format(body, strlen(body), 400);
	assert_non_null(s);
	assert_true(strlen(s) < 1000);
	snprintf(want, sizeof(want), "; and %d more", 5000 - 10);
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "dns:host.example: dns: NXDOMAIN"));
	free(s);
	free(body);
	json_decref(doc);
}

static void
problem_type_and_code(void **state)
{
	char buf[128];
	const char *body = "{\"type\":\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"x\"}";
	(void)state;
	assert_string_equal(acme_problem_type(body, strlen(body), buf, sizeof(buf)),
	    "urn:ietf:params:acme:error:unauthorized");
	assert_null(acme_problem_type("nope", 4, buf, sizeof(buf)));
	assert_null(acme_problem_type("{\"detail\":\"x\"}", 14, buf, sizeof(buf)));
	assert_int_equal(acme_problem_code("urn:ietf:params:acme:error:unauthorized", 403), LB_EAUTH);
	assert_int_equal(acme_problem_code("urn:ietf:params:acme:error:externalAccountRequired", 400), LB_EAUTH);
	assert_int_equal(acme_problem_code("urn:ietf:params:acme:error:accountDoesNotExist", 400), LB_EAUTH);
	assert_int_equal(acme_problem_code("urn:ietf:params:acme:error:rateLimited", 429), LB_ERR);
	assert_int_equal(acme_problem_code("urn:ietf:params:acme:error:malformed", 400), LB_ERR);
	assert_int_equal(acme_problem_code(NULL, 401), LB_EAUTH);
	assert_int_equal(acme_problem_code(NULL, 404), LB_ENOTFOUND);
	assert_int_equal(acme_problem_code(NULL, 500), LB_ERR);
}

static void
same_origin(void **state)
{
	const char *dir = "https://acme.example.com/directory";
	(void)state;
	assert_true(acme_same_origin(dir, "https://acme.example.com/acme/order/1"));
	/* the default port spelled out, case in scheme and host */
	assert_true(acme_same_origin(dir, "https://acme.example.com:443/x"));
	assert_true(acme_same_origin(dir, "HTTPS://ACME.Example.COM/x"));
	assert_true(acme_same_origin("https://127.0.0.1:14000/dir",
	    "https://127.0.0.1:14000/my-order/abc"));
	/* another host, port or scheme */
	assert_false(acme_same_origin(dir, "https://evil.example.net/acme/order/1"));
	assert_false(acme_same_origin(dir, "https://acme.example.com.evil.net/x"));
	assert_false(acme_same_origin(dir, "https://acme.example.com:8443/x"));
	assert_false(acme_same_origin(dir, "http://acme.example.com/x"));
	assert_false(acme_same_origin("https://127.0.0.1:14000/dir", "https://127.0.0.1:15000/x"));
	/* userinfo does not make another host look like ours */
	assert_false(acme_same_origin(dir, "https://acme.example.com@evil.net/x"));
	/* not URLs */
	assert_false(acme_same_origin(dir, "/acme/order/1"));
	assert_false(acme_same_origin(dir, ""));
	assert_false(acme_same_origin(dir, NULL));
	assert_false(acme_same_origin(NULL, dir));
}

static void
poll_wait(void **state)
{
	(void)state;
	/* No Retry-After: 50 ms (the CA may be done at once), doubling,
	 * capped. */
	assert_int_equal(acme_poll_wait_ms(NULL, 1000, 1, 10000), 50);
	assert_int_equal(acme_poll_wait_ms(NULL, 1000, 2, 10000), 100);
	assert_int_equal(acme_poll_wait_ms(NULL, 1000, 4, 10000), 400);
	assert_int_equal(acme_poll_wait_ms(NULL, 1000, 8, 10000), 6400);
	assert_int_equal(acme_poll_wait_ms(NULL, 1000, 9, 10000), 10000);
	assert_int_equal(acme_poll_wait_ms(NULL, 1000, 60, 10000), 10000);
	assert_int_equal(acme_poll_wait_ms("garbage", 1000, 1, 10000), 50);
	/* Retry-After wins, also beyond the cap; 0 is no hint: the backoff
	 * goes on (a CA answering "0" every time is not polled 20 times a
	 * second). */
	assert_int_equal(acme_poll_wait_ms("3", 1000, 1, 10000), 3000);
	assert_int_equal(acme_poll_wait_ms("300", 1000, 7, 10000), 300000);
	assert_int_equal(acme_poll_wait_ms("0", 1000, 1, 10000), 50);
	assert_int_equal(acme_poll_wait_ms("0", 1000, 5, 10000), 800);
	assert_int_equal(acme_poll_wait_ms("0", 1000, 12, 10000), 10000);
	/* A CA's wait is taken up to one hour, and never overflows into a
	 * negative (poll as fast as possible) one. */
	assert_int_equal(acme_poll_wait_ms("3600", 1000, 1, 10000), 3600000);
	assert_int_equal(acme_poll_wait_ms("86400", 1000, 1, 10000), 3600000);
	assert_int_equal(acme_poll_wait_ms("9223372036854775807", 1000, 1, 10000), 3600000);
	assert_int_equal(acme_poll_wait_ms("Fri, 31 Dec 9999 23:59:59 GMT", 1000, 1, 10000),
	    3600000);
	/* HTTP-date 20 s after now (Sun, 06 Nov 1994 08:49:37 GMT = 784111777). */
	assert_int_equal(acme_poll_wait_ms("Sun, 06 Nov 1994 08:49:57 GMT", 784111777, 1, 10000),
	    20000);
}

static void
ops_table(void **state)
{
	(void)state;
	assert_string_equal(acme_ops.type, "acme");
	assert_non_null(acme_ops.open);
	assert_non_null(acme_ops.collect);
	assert_non_null(acme_ops.revoke);
}

static void
open_refuses_missing_directory(void **state)
{
	struct cfg_ca cfg = { .name = "x", .type = CA_ACME };
	struct ca *c = (struct ca *)1;
	struct err e = { 0 };
	(void)state;
	assert_int_equal(acme_ops.open(&cfg, "/tmp", &c, &e), LB_ECONFIG);
	assert_null(c);
	assert_non_null(strstr(e.msg, "acme x"));
}

/* http-01 end to end against a real Pebble, driven by
 * tests/integration/test_acme_client.py which sets ACME_LIVE_* and serves
 * ACME_LIVE_WEBROOT on Pebble's httpPort; skipped otherwise. */
struct webroot {
	const char *dir;
	int corrupt;
	int published, withdrawn;
	char last[1100];
};

static int
wr_publish(void *ctx, const char *token, const char *keyauth, struct err *e)
{
	struct webroot *w = ctx;
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge/%s", w->dir, token);
	if ((f = fopen(path, "w")) == NULL)
		return err_set(e, LB_ERR, "cannot write %s", path);
	fputs(w->corrupt ? "not-the-key-authorization" : keyauth, f);
	fclose(f);
	snprintf(w->last, sizeof(w->last), "%s", path);
	w->published++;
	return 0;
}

static int
wr_withdraw(void *ctx, const char *token, struct err *e)
{
	struct webroot *w = ctx;
	char path[1024];

	(void)e;
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge/%s", w->dir, token);
	unlink(path);
	w->withdrawn++;
	return 0;
}

static void
live_http01(void **state)
{
	const char *dir = getenv("ACME_LIVE_DIRECTORY");
	struct webroot w = { getenv("ACME_LIVE_WEBROOT"), 0, 0, 0, "" };
	struct ca_challenge ch = { wr_publish, wr_withdraw, &w };
	char *names[] = { getenv("ACME_LIVE_NAME") };
	char *csr = NULL, *ref = NULL, *cert = NULL, **chain = NULL;
	size_t nchain = 0;
	struct cfg_ca cfg = { 0 };
	struct ca *c = NULL;
	struct err e = { 0 };
	struct stat st;
	FILE *f;
	long n;
	(void)state;

	if (dir == NULL)
		skip();
	cfg.name = "live";
	cfg.type = CA_ACME;
	cfg.directory = (char *)dir;
	cfg.ca_file = getenv("ACME_LIVE_CA_FILE");
	cfg.challenge = CHALLENGE_HTTP01;
	cfg.eab_kid = getenv("ACME_LIVE_EAB_KID");
	cfg.eab_hmac_key = getenv("ACME_LIVE_EAB_KEY");
	cfg.poll_interval_s = 1;
	cfg.poll_timeout_s = 60;
	assert_non_null((f = fopen(getenv("ACME_LIVE_CSR"), "r")));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	csr = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(csr, 1, (size_t)n, f), (size_t)n);
	fclose(f);

	struct ca_request req = { .profile = "live", .csr_pem = csr, .names = names, .nnames = 1,
	    .common_name = names[0] };
	assert_int_equal(acme_ops.open(&cfg, getenv("ACME_LIVE_STATE"), &c, &e), 0);
	if (acme_ops.submit(c, &req, &ref, &e) != 0)
		fail_msg("submit: %s", e.msg);
	if (acme_ops.collect(c, &req, ref, &ch, &cert, &chain, &nchain, &e) != 0)
		fail_msg("collect: %s", e.msg);
	assert_true(w.published >= 1);
	assert_int_equal(w.withdrawn, w.published);
	assert_int_not_equal(stat(w.last, &st), 0);
	assert_non_null(strstr(cert, "BEGIN CERTIFICATE"));
	assert_true(nchain >= 1);
	free(cert);
	strv_free(chain, nchain);
	free(ref);
	ref = NULL;

	/* A challenge the CA rejects: the token is withdrawn all the same
	 * and the error names the identifier and the CA's reason. */
	char *bad[] = { getenv("ACME_LIVE_BAD_NAME") };
	struct ca_request breq = { .profile = "live", .csr_pem = csr, .names = bad, .nnames = 1,
	    .common_name = bad[0] };
	if (bad[0] != NULL) {
		w.corrupt = 1;
		w.published = w.withdrawn = 0;
		assert_int_equal(acme_ops.submit(c, &breq, &ref, &e), 0);
		assert_int_equal(acme_ops.collect(c, &breq, ref, &ch, &cert, &chain, &nchain, &e),
		    LB_ERR);
		assert_int_equal(w.published, 1);
		assert_int_equal(w.withdrawn, 1);
		assert_non_null(strstr(e.msg, bad[0]));
		assert_non_null(strstr(e.msg, "invalid"));
		fprintf(stderr, "# %s\n", e.msg);
		free(ref);
	}
	acme_ops.close(c);
	free(csr);
}

#define B(x) x, strlen(x)

static void
orders_parse(void **st)
{
	char *out[3] = { 0 };

	(void)st;
	assert_int_equal(acme_orders_parse(B("{\"orders\":[\"https://ca/o/1\",7,"
	    "\"https://ca/o/2\",\"https://ca/o/3\",\"https://ca/o/4\"]}"), out, 3), 3);
	assert_string_equal(out[0], "https://ca/o/1");
	assert_string_equal(out[1], "https://ca/o/2");
	assert_string_equal(out[2], "https://ca/o/3");
	for (int i = 0; i < 3; i++)
		free(out[i]);
	assert_int_equal(acme_orders_parse(B("{\"orders\":[]}"), out, 3), 0);
	assert_int_equal(acme_orders_parse(B("{\"status\":\"valid\"}"), out, 3), 0);
	assert_int_equal(acme_orders_parse(B("not json"), out, 3), 0);
}

static void
order_matches(void **st)
{
	char *two[] = { "www.lbcert.test", "API.lbcert.test" };
	char *dup[] = { "www.lbcert.test", "api.lbcert.test", "WWW.lbcert.test" };
	char *one[] = { "www.lbcert.test" };
	const char *pending = "{\"status\":\"pending\",\"identifiers\":["
	    "{\"type\":\"dns\",\"value\":\"api.lbcert.test\"},"
	    "{\"type\":\"dns\",\"value\":\"www.lbcert.test\"}]}";

	(void)st;
	assert_true(acme_order_matches(B(pending), two, 2));
	assert_true(acme_order_matches(B(pending), dup, 3));
	assert_false(acme_order_matches(B(pending), one, 1));
	assert_true(acme_order_matches(B("{\"status\":\"ready\",\"identifiers\":["
	    "{\"type\":\"dns\",\"value\":\"www.lbcert.test\"}]}"), one, 1));
	/* finalized or dead orders are never taken over */
	assert_false(acme_order_matches(B("{\"status\":\"processing\",\"identifiers\":["
	    "{\"type\":\"dns\",\"value\":\"www.lbcert.test\"}]}"), one, 1));
	assert_false(acme_order_matches(B("{\"status\":\"valid\",\"identifiers\":["
	    "{\"type\":\"dns\",\"value\":\"www.lbcert.test\"}]}"), one, 1));
	assert_false(acme_order_matches(B("{\"status\":\"invalid\",\"identifiers\":["
	    "{\"type\":\"dns\",\"value\":\"www.lbcert.test\"}]}"), one, 1));
	/* a name more or less, another type, the same name twice */
	assert_false(acme_order_matches(B("{\"status\":\"pending\",\"identifiers\":["
	    "{\"type\":\"dns\",\"value\":\"www.lbcert.test\"}]}"), two, 2));
	assert_false(acme_order_matches(B("{\"status\":\"pending\",\"identifiers\":["
	    "{\"type\":\"ip\",\"value\":\"www.lbcert.test\"}]}"), one, 1));
	assert_false(acme_order_matches(B("{\"status\":\"pending\",\"identifiers\":["
	    "{\"type\":\"dns\",\"value\":\"www.lbcert.test\"},"
	    "{\"type\":\"dns\",\"value\":\"www.lbcert.test\"}]}"), two, 2));
	assert_false(acme_order_matches(B("{\"status\":\"pending\",\"identifiers\":[]}"), one, 1));
	assert_false(acme_order_matches(B("{\"status\":\"pending\"}"), one, 1));
	assert_false(acme_order_matches(B("[]"), one, 1));
}

static void
dns01_record(void **state)
{
	char *s;

	(void)state;
	s = acme_dns01_name("www.example.com");
	assert_string_equal(s, "_acme-challenge.www.example.com");
	free(s);
	/* RFC 8555 §8.4: a wildcard is validated at its base domain */
	s = acme_dns01_name("*.example.com");
	assert_string_equal(s, "_acme-challenge.example.com");
	free(s);
	/* base64url(SHA-256(keyauth)), no padding */
	s = acme_dns01_value("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
	    "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI");
	assert_string_equal(s, "lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYM");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(link_parse_table),
		cmocka_unit_test(link_parse_trailing_blanks),
		cmocka_unit_test(link_parse_respects_max),
		cmocka_unit_test(url_resolve),
		cmocka_unit_test(problem_format_table),
		cmocka_unit_test(problem_format_bounds_garbage),
		cmocka_unit_test(problem_format_bounds_subproblems),
		cmocka_unit_test(problem_type_and_code),
		cmocka_unit_test(same_origin),
		cmocka_unit_test(poll_wait),
		cmocka_unit_test(ops_table),
		cmocka_unit_test(orders_parse),
		cmocka_unit_test(order_matches),
		cmocka_unit_test(dns01_record),
		cmocka_unit_test(open_refuses_missing_directory),
		cmocka_unit_test(live_http01),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
