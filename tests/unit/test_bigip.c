/* Pure parts of the BIG-IP driver's transport (src/device/icontrol.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "device/icontrol.h"

static void
url_names(void **state)
{
	static const struct { const char *part, *name, *want; } t[] = {
		{ "Common", "www.key", "~Common~www.key" },
		{ "Common", "/Common/www.key", "~Common~www.key" },
		{ "Prod", "/Prod/app.app/x_1", "~Prod~app.app~x_1" },
		{ NULL, "x", "~Common~x" },
		{ "Common", "/Common/10.0.0.1%2:443", "~Common~10.0.0.1%252:443" },
		{ "Common", "/Common/a b", "~Common~a%20b" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *s = icontrol_url_name(t[i].part, t[i].name);
		assert_non_null(s);
		assert_string_equal(s, t[i].want);
		free(s);
	}
}

static void
fullpaths(void **state)
{
	char *s;

	(void)state;
	s = icontrol_fullpath("P", "n");
	assert_string_equal(s, "/P/n");
	free(s);
	s = icontrol_fullpath("P", "/Common/n");
	assert_string_equal(s, "/Common/n");
	free(s);
	assert_null(icontrol_fullpath("P", NULL));
}

static void
error_envelopes(void **state)
{
	static const struct { const char *body; int rc; const char *msg; } t[] = {
		{ "{\"code\":404,\"message\":\"01020036:3: The requested Pool (/Common/x) was not found.\","
		  "\"errorStack\":[],\"apiError\":3}", 0,
		  "01020036:3: The requested Pool (/Common/x) was not found." },
		{ "{\"code\":401,\"message\":\"X-F5-Auth-Token does not exist.\",\"kind\":\":resterrorresponse\"}",
		  0, "X-F5-Auth-Token does not exist." },
		{ "<html>Configuration Utility restarting...</html>", -1, "" },
		{ "[1,2]", -1, "" },
		{ "", -1, "" },
	};
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = icontrol_parse_error(t[i].body, strlen(t[i].body), msg, sizeof(msg));
		assert_int_equal(rc, t[i].rc);
		assert_string_equal(msg, t[i].msg);
	}
}

static void
stats_descriptions(void **state)
{
	const char *txt =
	    "{\"kind\":\"tm:cm:failover-status:failover-statusstats\",\"entries\":{"
	    "\"https://localhost/mgmt/tm/cm/failover-status/0\":{\"nestedStats\":{\"entries\":{"
	    "\"color\":{\"description\":\"green\"},"
	    "\"https://localhost/mgmt/tm/cm/failoverStatus/0/details\":{\"nestedStats\":{\"entries\":{"
	    "\"https://localhost/mgmt/tm/cm/failoverStatus/0/details/0\":{\"nestedStats\":{\"entries\":{"
	    "\"details\":{\"description\":\"active for /Common/traffic-group-1\"}}}}}}},"
	    "\"status\":{\"description\":\"ACTIVE\"},"
	    "\"summary\":{\"description\":\"1/1 active\"}}}}}}";
	json_t *j = json_loads(txt, 0, NULL);

	(void)state;
	assert_non_null(j);
	assert_string_equal(icontrol_stats_desc(j, "status"), "ACTIVE");
	assert_string_equal(icontrol_stats_desc(j, "details"), "active for /Common/traffic-group-1");
	assert_null(icontrol_stats_desc(j, "mode"));
	json_decref(j);
}

static void
pem_extraction(void **state)
{
	const char *out = "sys crypto csr /Common/x {\n    common-name x\n}\n"
	    "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
	char *p;

	(void)state;
	p = icontrol_extract_pem(out, "CERTIFICATE REQUEST");
	assert_string_equal(p, "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\nAAAA\n"
	    "-----END CERTIFICATE REQUEST-----\n");
	free(p);
	assert_null(icontrol_extract_pem(out, "CERTIFICATE"));
	assert_null(icontrol_extract_pem("-----BEGIN CERTIFICATE-----\nno end", "CERTIFICATE"));
	assert_null(icontrol_extract_pem(NULL, "CERTIFICATE"));
}

static void
content_ranges(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(icontrol_content_range(0, 930, 930, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0-929/930");
	assert_int_equal(icontrol_content_range(524288, 100, 524388, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "524288-524387/524388");
	assert_int_equal(icontrol_content_range(0, 0, 10, buf, sizeof(buf)), -1);
	assert_int_equal(icontrol_content_range(5, 10, 10, buf, sizeof(buf)), -1);
	assert_int_equal(icontrol_content_range(0, 10, 10, buf, 4), -1);
}

static void
safe_names(void **state)
{
	static const struct { const char *in, *want; } t[] = {
		{ "www.example.com", "www.example.com" },
		{ "*.example.com", "wildcard.example.com" },
		{ "a b/c<d>", "a_b_c_d_" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *s = icontrol_safe_name(t[i].in);
		assert_string_equal(s, t[i].want);
		free(s);
	}
}

static void
passphrases(void **state)
{
	unsigned char raw[32];
	char *p;

	(void)state;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 37 + 251);
	p = icontrol_passphrase_encode(raw, sizeof(raw));
	assert_non_null(p);
	assert_int_equal(strlen(p), 43); /* 32 bytes, base64url, no padding */
	for (const char *c = p; *c; c++)
		assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *c));
	free(p);
}

static void
b64url_tokens(void **state)
{
	(void)state;
	assert_true(icontrol_b64url_ok("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", false));
	assert_true(icontrol_b64url_ok("abc-_09.xyz", true));
	assert_false(icontrol_b64url_ok("abc.xyz", false));
	assert_false(icontrol_b64url_ok("", false));
	assert_false(icontrol_b64url_ok(NULL, false));
	/* what would reach an iRule or a data group unescaped */
	assert_false(icontrol_b64url_ok("a\"] ; exec", false));
	assert_false(icontrol_b64url_ok("a/../b", false));
	assert_false(icontrol_b64url_ok("a b", false));
	assert_false(icontrol_b64url_ok("a=", false));
	char big[600];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(icontrol_b64url_ok(big, false));
}

static void
download_ranges(void **state)
{
	size_t s, e, t;

	(void)state;
	assert_int_equal(icontrol_parse_range("0-1023/1024", &s, &e, &t), 0);
	assert_true(s == 0 && e == 1023 && t == 1024);
	assert_int_equal(icontrol_parse_range("bytes 512-515/516", &s, &e, &t), 0);
	assert_true(s == 512 && e == 515 && t == 516);
	assert_int_equal(icontrol_parse_range(NULL, &s, &e, &t), -1);
	assert_int_equal(icontrol_parse_range("0-1024/1024", &s, &e, &t), -1); /* end < total */
	assert_int_equal(icontrol_parse_range("5-4/10", &s, &e, &t), -1);
	assert_int_equal(icontrol_parse_range("0-9/10x", &s, &e, &t), -1);
	assert_int_equal(icontrol_parse_range("0-9", &s, &e, &t), -1);
}

static void
token_refusals(void **state)
{
	static const char *const expired[] = {
		"{\"code\":401,\"message\":\"X-F5-Auth-Token does not exist.\","
		"\"referer\":\"1.2.3.4\",\"restOperationId\":1,\"kind\":\":resterrorresponse\"}",
		"{\"code\":401,\"message\":\"Authorization failed: no user authentication header or "
		"token detected. Uri:http://localhost:8100/mgmt/tm/ltm\"}",
		"{\"code\":401,\"message\":\"Invalid registered token\"}",
		"",
		"<html>401</html>",
	};
	const char *role = "{\"code\":401,\"message\":\"Authorization failed: user="
	    "https://localhost/mgmt/shared/authz/users/lbcert resource=/mgmt/tm/util/bash "
	    "verb=POST uri:http://localhost:8100/mgmt/tm/util/bash\"}";

	(void)state;
	for (size_t i = 0; i < sizeof(expired) / sizeof(expired[0]); i++)
		assert_true(icontrol_token_refused(401, expired[i], strlen(expired[i])));
	assert_false(icontrol_token_refused(401, role, strlen(role)));
	assert_false(icontrol_token_refused(403, expired[0], strlen(expired[0])));
	assert_false(icontrol_token_refused(404, "", 0));
}

/* The two forms of a published TMOS 14.1 answer (decimal for a short
 * serial, colon hex for a long one), and hex with letters. */
static void
serials(void **state)
{
	char out[130];

	(void)state;
	assert_true(icontrol_serial_norm("308384129", out, sizeof(out)));
	assert_string_equal(out, "12619181");
	assert_true(icontrol_serial_norm("87:ae:02:f9:18:f9:4a:11", out, sizeof(out)));
	assert_string_equal(out, "87ae02f918f94a11");
	assert_true(icontrol_serial_norm("00:0A:FF", out, sizeof(out)));
	assert_string_equal(out, "aff");
	assert_true(icontrol_serial_norm("9223372036854775807", out, sizeof(out)));
	assert_string_equal(out, "7fffffffffffffff");
	assert_true(icontrol_serial_norm("0", out, sizeof(out)));
	assert_string_equal(out, "0");
	assert_true(icontrol_serial_norm("3e8a", out, sizeof(out)));
	assert_string_equal(out, "3e8a");
	assert_false(icontrol_serial_norm("12345678901234567890123", out, sizeof(out)));
	assert_false(icontrol_serial_norm("", out, sizeof(out)));
	assert_false(icontrol_serial_norm(NULL, out, sizeof(out)));
	assert_false(icontrol_serial_norm("12:zz", out, sizeof(out)));
	assert_false(icontrol_serial_norm("aa:bb:cc", out, 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(url_names),
		cmocka_unit_test(serials),
		cmocka_unit_test(fullpaths),
		cmocka_unit_test(error_envelopes),
		cmocka_unit_test(stats_descriptions),
		cmocka_unit_test(pem_extraction),
		cmocka_unit_test(content_ranges),
		cmocka_unit_test(safe_names),
		cmocka_unit_test(passphrases),
		cmocka_unit_test(b64url_tokens),
		cmocka_unit_test(download_ranges),
		cmocka_unit_test(token_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
