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


/* ---- parsers ---- */

static void
retry_after_values(void **state)
{
	(void)state;
	time_t now = 1700000000;
	char date[64];
	struct tm tm;
	time_t fut = now + 90, past = now - 3600;

	assert_int_equal(http_parse_retry_after("120", now), 120);
	assert_int_equal(http_parse_retry_after(" 5 ", now), 5);
	assert_int_equal(http_parse_retry_after("0", now), 0);
	gmtime_r(&fut, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	assert_int_equal(http_parse_retry_after(date, now), 90);
	gmtime_r(&past, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	assert_int_equal(http_parse_retry_after(date, now), 0);
	assert_int_equal(http_parse_retry_after(NULL, now), -1);
	assert_int_equal(http_parse_retry_after("", now), -1);
	assert_int_equal(http_parse_retry_after("soon", now), -1);
	assert_int_equal(http_parse_retry_after("12abc", now), -1);
	assert_int_equal(http_parse_retry_after("-5", now), -1);
	assert_int_equal(http_parse_retry_after("1.5", now), -1);
	assert_int_equal(http_parse_retry_after("99999999999999999999999", now), -1);
}

static void
backoff_bounds(void **state)
{
	(void)state;
	assert_int_equal(http_backoff_ms(1, 500, 8000, 0.0), 0);
	assert_in_range(http_backoff_ms(1, 500, 8000, 0.999), 498, 499);
	assert_int_equal(http_backoff_ms(2, 500, 8000, 0.5), 500);
	assert_int_equal(http_backoff_ms(3, 500, 8000, 0.5), 1000);
	assert_in_range(http_backoff_ms(5, 500, 8000, 0.9999), 7990, 7999);
	/* capped, and no overflow for large attempt numbers */
	assert_int_equal(http_backoff_ms(6, 500, 8000, 0.5), 4000);
	assert_int_equal(http_backoff_ms(1000, 500, 8000, 0.5), 4000);
	assert_int_equal(http_backoff_ms(70, 1L << 40, 1L << 50, 0.5), 1L << 49);
	assert_int_equal(http_backoff_ms(1, 500, 100, 0.5), 50);
	/* rnd outside [0,1) gives no delay rather than more than the cap */
	assert_int_equal(http_backoff_ms(3, 500, 8000, 1.0), 0);
	for (int a = 1; a < 20; a++)
		for (double r = 0; r < 1; r += 0.1)
			assert_in_range(http_backoff_ms(a, 500, 8000, r), 0, 8000);
}

static void
pin_formats(void **state)
{
	(void)state;
	unsigned char a[32], b[32];
	const char *colon = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
	    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
	const char *plain = "abcdef0123456789abcdef0123456789"
	    "abcdef0123456789abcdef0123456789";

	assert_int_equal(http_pin_parse(colon, a), 0);
	assert_int_equal(http_pin_parse(plain, b), 0);
	assert_memory_equal(a, b, 32);
	assert_int_equal(a[0], 0xab);
	assert_int_equal(http_pin_parse("abcd", a), -1);
	assert_int_equal(http_pin_parse("", a), -1);
	assert_int_equal(http_pin_parse(NULL, a), -1);
	char longer[80];
	snprintf(longer, sizeof(longer), "%s00", plain);
	assert_int_equal(http_pin_parse(longer, a), -1);
	char bad[80];
	snprintf(bad, sizeof(bad), "%s", plain);
	bad[5] = 'g';
	assert_int_equal(http_pin_parse(bad, a), -1);
	/* an odd digit count is not a pin */
	assert_int_equal(http_pin_parse("A:BC", a), -1);
}

static void
escape(void **state)
{
	(void)state;
	char *s = http_escape("a b&c/\xc3\xa9~_.-");
	assert_string_equal(s, "a%20b%26c%2F%C3%A9~_.-");
	free(s);
}

/* ---- trace redaction ---- */

static void
redact_headers(void **state)
{
	(void)state;
	const char *in = "> POST https://h/nitro/v1/config/login\n"
	    "> Authorization: Bearer abc.def\n"
	    "> X-F5-Auth-Token: TOK123\n"
	    "> x-nitro-pass: hunter2\n"
	    "> Content-Type: application/json\n"
	    "> X-Nitro-User: admin\n";
	char *out = http_redact_trace(in, NULL, 0);
	assert_non_null(out);
	assert_null(strstr(out, "abc.def"));
	assert_null(strstr(out, "TOK123"));
	assert_null(strstr(out, "hunter2"));
	assert_non_null(strstr(out, "> Authorization: [REDACTED]\n"));
	assert_non_null(strstr(out, "> Content-Type: application/json\n"));
	assert_non_null(strstr(out, "> X-Nitro-User: admin\n"));
	assert_non_null(strstr(out, "> POST https://h/nitro/v1/config/login\n"));
	free(out);

	out = http_redact_trace("< 201\n< set-cookie: NITRO_AUTH_TOKEN=##AB12; "
	    "path=/nitro/v1\n< cookie: sessionid=zz\n", NULL, 0);
	assert_null(strstr(out, "AB12"));
	assert_null(strstr(out, "zz"));
	assert_non_null(strstr(out, "< 201\n"));
	free(out);
}

static void
redact_nested_json(void **state)
{
	(void)state;
	const char *in = "< 200\n< content-type: application/json\n\n"
	    "{\"login\":{\"username\":\"admin\",\"password\":\"p1-secret\"},"
	    "\"token\":{\"token\":\"TOKVAL\",\"name\":\"TOKVAL-name\","
	    "\"timeout\":1200},"
	    "\"list\":[{\"passPhrase\":\"pp-secret\"},{\"Passphrase\":\"pp2\"}],"
	    "\"sessionid\":\"##SESS\",\"eab_hmac_key\":\"hmackey\","
	    "\"private_key\":\"-----BEGIN\",\"note\":\"password is fine here\","
	    "\"secret\":null}";
	char *out = http_redact_trace(in, NULL, 0);
	assert_non_null(out);
	const char *body = strstr(out, "\n\n");
	assert_non_null(body);
	json_t *j = json_loads(body + 2, 0, NULL);
	assert_non_null(j);
	const char *user = NULL, *pw = NULL, *tok = NULL, *pp = NULL, *pp2 = NULL,
	    *sess = NULL, *hk = NULL, *pk = NULL, *note = NULL;
	json_int_t timeout = 0;
	assert_int_equal(json_unpack(j, "{s:{s:s,s:s},s:{s:s,s:I},s:[{s:s},{s:s}],"
	    "s:s,s:s,s:s,s:s}",
	    "login", "username", &user, "password", &pw,
	    "token", "token", &tok, "timeout", &timeout,
	    "list", "passPhrase", &pp, "Passphrase", &pp2,
	    "sessionid", &sess, "eab_hmac_key", &hk, "private_key", &pk,
	    "note", &note), 0);
	assert_string_equal(user, "admin");
	assert_string_equal(pw, "[REDACTED]");
	assert_string_equal(tok, "[REDACTED]");
	assert_int_equal(timeout, 1200);
	assert_string_equal(pp, "[REDACTED]");
	assert_string_equal(pp2, "[REDACTED]");
	assert_string_equal(sess, "[REDACTED]");
	assert_string_equal(hk, "[REDACTED]");
	assert_string_equal(pk, "[REDACTED]");
	assert_string_equal(note, "password is fine here");
	assert_true(json_is_null(json_object_get(j, "secret")));
	json_decref(j);
	assert_non_null(strstr(out, "< content-type: application/json\n"));
	free(out);

	/* secrets quoted inside a string value (an echoed request) */
	out = http_redact_trace("{\"error\":\"bad request {\\\"password\\\":"
	    "\\\"pw9\\\"}\",\"msg\":\"login=admin&passphrase=pp9 rejected\"}",
	    NULL, 0);
	assert_null(strstr(out, "pw9"));
	assert_null(strstr(out, "pp9"));
	assert_non_null(strstr(out, "login=admin&passphrase=[REDACTED] rejected"));
	free(out);

	/* a bare JSON document */
	out = http_redact_trace("[{\"a\":{\"hmac\":\"H\"}}]", NULL, 0);
	assert_string_equal(out, "[{\"a\":{\"hmac\":\"[REDACTED]\"}}]");
	free(out);
}

static void
redact_extra_names(void **state)
{
	(void)state;
	const char *const extra[] = { "X-Api-Key", "certKeyPass" };
	const char *in = "> GET https://h/x\n> x-api-key: K-123456\n\n"
	    "{\"certKeyPass\":\"ckp\",\"other\":\"keep\"}";
	char *out = http_redact_trace(in, extra, 2);
	assert_null(strstr(out, "K-123456"));
	assert_null(strstr(out, "ckp\""));
	assert_non_null(strstr(out, "keep"));
	free(out);
	/* without the extras these stay */
	out = http_redact_trace(in, NULL, 0);
	assert_non_null(strstr(out, "K-123456"));
	free(out);
}

static void
redact_free_text(void **state)
{
	(void)state;
	struct http_client *c = http_client_new("t", "https://127.0.0.1:1", NULL, 2);
	struct http_resp r;
	struct err e = { 0 };
	http_client_set_retry(c, 1, 0, 0);
	struct http_req q = { .method = "GET", .path = "/x?password=pw7&a=1" };
	assert_int_equal(http_do(c, &q, &r, &e), LB_EUNREACH);
	assert_null(strstr(e.msg, "pw7"));
	assert_non_null(strstr(e.msg, "/x?password=[REDACTED]&a=1"));
	http_client_free(c);

	char *out = http_redact_trace("login=admin&password=hunter2&x=1", NULL, 0);
	assert_string_equal(out, "login=admin&password=[REDACTED]&x=1");
	free(out);
	/* broken JSON falls back to the pattern scan */
	out = http_redact_trace("{\"password\": \"a\\\"b\", \"token\":\"t\", "
	    "\"user\":\"u\"", NULL, 0);
	assert_string_equal(out, "{\"password\": \"[REDACTED]\", "
	    "\"token\":\"[REDACTED]\", \"user\":\"u\"");
	free(out);
	out = http_redact_trace("Cookie NITRO_AUTH_TOKEN=abc; other=1", NULL, 0);
	assert_string_equal(out, "Cookie NITRO_AUTH_TOKEN=[REDACTED]; other=1");
	free(out);
	/* names are matched as whole words */
	out = http_redact_trace("mypassword=x passwords: y", NULL, 0);
	assert_string_equal(out, "mypassword=x passwords: y");
	free(out);
}

/* A request on c; scheme_policy's refusals happen before any connection. */
static int
get(struct http_client *c, const char *method, const char *path, bool idem,
    struct http_resp *r, struct err *e)
{
	struct http_req req = { .method = method, .path = path,
	    .idempotent = idem };

	return http_do(c, &req, r, e);
}

static void
scheme_policy(void **state)
{
	(void)state;
	struct http_client *c = http_client_new("t", "http://192.0.2.1", NULL, 5);
	struct http_resp r;
	struct err e = { 0 };

	assert_int_equal(get(c, "GET", "/x", true, &r, &e), LB_ECONFIG);
	assert_int_equal(http_client_requests(c), 0);
	/* absolute URLs are checked too */
	assert_int_equal(get(c, "GET", "ftp://127.0.0.1/x", true, &r, &e),
	    LB_ECONFIG);
	/* a name that only looks like loopback resolves anywhere */
	assert_int_equal(get(c, "GET", "http://127.attacker.invalid/x", true, &r, &e),
	    LB_ECONFIG);
	assert_int_equal(get(c, "GET", "http://127.0.0.1.nip.invalid/x", true, &r, &e),
	    LB_ECONFIG);
	assert_int_equal(http_client_requests(c), 0);
	http_client_free(c);
	/* plain http to loopback is allowed (nothing listens on port 1) */
	c = http_client_new("t", "http://127.0.0.1:1", NULL, 5);
	http_client_set_retry(c, 1, 0, 0);
	assert_int_equal(get(c, "GET", "/x", true, &r, &e), LB_EUNREACH);
	assert_int_equal(http_client_requests(c), 1);
	http_client_free(c);
	/* a malformed pin fails every request, without connecting */
	struct http_tls tls = { .pin_sha256 = "AB:CD" };
	c = http_client_new("t", "https://127.0.0.1:1", &tls, 5);
	assert_int_equal(get(c, "GET", "/x", true, &r, &e), LB_ECONFIG);
	assert_int_equal(http_client_requests(c), 0);
	http_client_free(c);
	/* so does a list with a malformed or empty entry, or too many */
	static const char good[] = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	char lists[4][32 * 65 + 32];
	snprintf(lists[0], sizeof(lists[0]), "%s,AB:CD", good);
	snprintf(lists[1], sizeof(lists[1]), "%s,,%s", good, good);
	snprintf(lists[2], sizeof(lists[2]), "%s,", good);
	lists[3][0] = '\0';
	for (int i = 0; i <= HTTP_PIN_MAX; i++)
		snprintf(lists[3] + strlen(lists[3]),
		    sizeof(lists[3]) - strlen(lists[3]), "%s%s",
		    i == 0 ? "" : ",", good);
	for (size_t i = 0; i < 4; i++) {
		struct http_tls lt = { .pin_sha256 = lists[i] };
		c = http_client_new("t", "https://127.0.0.1:1", &lt, 5);
		assert_int_equal(get(c, "GET", "/x", true, &r, &e),
		    LB_ECONFIG);
		assert_int_equal(http_client_requests(c), 0);
		http_client_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(retry_after_values),
		cmocka_unit_test(backoff_bounds),
		cmocka_unit_test(pin_formats),
		cmocka_unit_test(escape),
		cmocka_unit_test(redact_headers),
		cmocka_unit_test(redact_nested_json),
		cmocka_unit_test(redact_extra_names),
		cmocka_unit_test(redact_free_text),
		cmocka_unit_test(scheme_policy),
	};

	return cmocka_run_group_tests_name("http", pure, NULL, NULL);
}
