#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "device/nitro.h"

static void
envelope_number_or_string(void **state)
{
	static const struct {
		const char *body;
		int rc, code;
		const char *msg;
	} t[] = {
		{ "{\"errorcode\":258,\"message\":\"No such resource [certkey, x]\","
		  "\"severity\":\"ERROR\"}", 0, 258, "No such resource [certkey, x]" },
		{ "{\"errorcode\":\"1642\",\"message\":\"File already exists\"}", 0, 1642,
		  "File already exists" },
		{ "{\"errorcode\":\" 273 \"}", 0, 273, "" },
		{ "{\"errorcode\":0,\"message\":\"Done\",\"severity\":\"NONE\"}", 0, 0, "Done" },
		{ "{\"errorcode\":\"x12\"}", -1, 0, "" },
		{ "{\"message\":\"no code\"}", -1, 0, "" },
		{ "<html>599</html>", -1, 0, "" },
		{ "", -1, 0, "" },
	};
	char msg[64];
	int code;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = nitro_parse_envelope(t[i].body, strlen(t[i].body), &code, msg,
		    sizeof(msg));
		assert_int_equal(rc, t[i].rc);
		if (rc == 0) {
			assert_int_equal(code, t[i].code);
			assert_string_equal(msg, t[i].msg);
		}
	}
}

static void
json_long_lenient(void **state)
{
	json_t *o = json_loads("{\"a\":12,\"b\":\"34\",\"c\":\"-5\",\"d\":\"x\",\"e\":null,"
	    "\"f\":1.0}", 0, NULL);
	long v;

	(void)state;
	assert_int_equal(nitro_json_long(json_object_get(o, "a"), &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(nitro_json_long(json_object_get(o, "b"), &v), 0);
	assert_int_equal(v, 34);
	assert_int_equal(nitro_json_long(json_object_get(o, "c"), &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(nitro_json_long(json_object_get(o, "d"), &v), -1);
	assert_int_equal(nitro_json_long(json_object_get(o, "e"), &v), -1);
	assert_int_equal(nitro_json_long(json_object_get(o, "f"), &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(nitro_json_long(NULL, &v), -1);
	json_decref(o);
	/* numbers no long holds are no numbers here (not an undefined cast,
	 * not a silently clamped value) */
	o = json_loads("{\"big\":1e300,\"neg\":-1e19,\"s\":\"99999999999999999999\","
	    "\"ok\":-12.0}", 0, NULL);
	assert_int_equal(nitro_json_long(json_object_get(o, "big"), &v), -1);
	assert_int_equal(nitro_json_long(json_object_get(o, "neg"), &v), -1);
	assert_int_equal(nitro_json_long(json_object_get(o, "s"), &v), -1);
	assert_int_equal(nitro_json_long(json_object_get(o, "ok"), &v), 0);
	assert_int_equal(v, -12);
	json_decref(o);
}

static void
items_array_or_object(void **state)
{
	json_t *a = json_loads("{\"hanode\":[{\"id\":0},{\"id\":1}]}", 0, NULL);
	json_t *o = json_loads("{\"nsversion\":{\"version\":\"NS13.0\"}}", 0, NULL);
	json_t *r;

	(void)state;
	r = nitro_items(a, "hanode");
	assert_int_equal(json_array_size(r), 2);
	json_decref(r);
	r = nitro_items(o, "nsversion");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(nitro_json_str(json_array_get(r, 0), "version"), "NS13.0");
	json_decref(r);
	r = nitro_items(o, "missing");
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	r = nitro_items(NULL, "x");
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	json_decref(a);
	json_decref(o);
}

static void
dates(void **state)
{
	static const struct {
		const char *s;
		time_t t;
	} t[] = {
		{ "Aug  7 14:58:18 2004 GMT", 1091890698 },
		{ "Aug 7 14:58:18 2004 GMT", 1091890698 },
		{ "Aug 7 14:58:18 2004", 1091890698 },
		{ "aug 07 14:58:18 2004 UTC", 1091890698 },
		{ "2004-08-07T14:58:18Z", 1091890698 },
		{ "Dec 31 23:59:59 2049 GMT", 2524607999 },
		{ "Foo 7 14:58:18 2004 GMT", -1 },
		{ "Aug 7 14:58:18 2004 PST", -1 },
		{ "Aug 32 14:58:18 2004 GMT", -1 },
		{ "", -1 },
		{ NULL, -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal((long long)nitro_parse_date(t[i].s), (long long)t[i].t);
}

static void
serials(void **state)
{
	static const char *const t[][2] = {
		{ "0A1B", "a1b" },
		{ "0a:1b:FF", "a1bff" },
		{ "00", "0" },
		{ "0x00FF", "ff" },
		{ "", "" },
	};
	char buf[64], tiny[3];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(nitro_serial_norm(t[i][0], buf, sizeof(buf)), t[i][1]);
	assert_string_equal(nitro_serial_norm(NULL, buf, sizeof(buf)), "");
	assert_string_equal(nitro_serial_norm("abcdef", tiny, sizeof(tiny)), "");
}

static void
names_and_limits(void **state)
{
	char *a, *b, *c;

	(void)state;
	a = nitro_name("www", "20250101T000000Z", ".key", NITRO_FILENAME_MAX);
	assert_string_equal(a, "www-20250101T000000Z.key");
	free(a);
	a = nitro_name("my site/x", NULL, ".crt", NITRO_FILENAME_MAX);
	assert_string_equal(a, "my_site_x.crt");
	free(a);
	/* too long: cut, hashed, within the limit, deterministic, distinct */
	a = nitro_name("a-very-long-object-name-for-the-web-shop-of-example-com",
	    "0123456789abcdef0123456789abcdef01234567", ".crt", NITRO_FILENAME_MAX);
	b = nitro_name("a-very-long-object-name-for-the-web-shop-of-example-com",
	    "0123456789abcdef0123456789abcdef01234567", ".crt", NITRO_FILENAME_MAX);
	c = nitro_name("a-very-long-object-name-for-the-web-shop-of-example-com",
	    "0123456789abcdef0123456789abcdef01234568", ".crt", NITRO_FILENAME_MAX);
	assert_non_null(a);
	assert_int_equal(strlen(a), NITRO_FILENAME_MAX);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_equal(a + strlen(a) - 4, ".crt");
	assert_int_equal(a[strlen(a) - 13], '_');
	free(a);
	free(b);
	free(c);
	/* certkey names: 31 without extension */
	a = nitro_name("Let's Encrypt Intermediate R11", "8a7e44b4c2d1", "",
	    NITRO_CERTKEY_MAX);
	assert_int_equal(strlen(a), NITRO_CERTKEY_MAX);
	assert_null(strchr(a, ' '));
	assert_null(strchr(a, '\''));
	free(a);
	a = nitro_name("R11", "8a7e44b4c2d1", "", NITRO_CERTKEY_MAX);
	assert_string_equal(a, "R11-8a7e44b4c2d1");
	free(a);
	/* exactly at the limit stays as is */
	a = nitro_name("abcdefghijklmnopqrstuvwxyz", "1234", "", 31);
	assert_string_equal(a, "abcdefghijklmnopqrstuvwxyz-1234");
	free(a);
	/* impossible limit */
	assert_null(nitro_name("abc", "def", ".crt", 8));
}

static void
san_string(void **state)
{
	char *names[] = { "www.example.com", "*.static.example.com", "shop.example.com" };
	char *s;

	(void)state;
	s = nitro_san_string(names, 3);
	assert_string_equal(s, "DNS:www.example.com DNS:*.static.example.com "
	    "DNS:shop.example.com");
	free(s);
	s = nitro_san_string(names, 1);
	assert_string_equal(s, "DNS:www.example.com");
	free(s);
	s = nitro_san_string(names, 0);
	assert_string_equal(s, "");
	free(s);
}

static void
args_and_paths(void **state)
{
	char *s;

	(void)state;
	s = nitro_args("filename", "a b.crt", "filelocation", "/nsconfig/ssl", NULL);
	assert_string_equal(s, "filename:a%20b.crt,filelocation:%2Fnsconfig%2Fssl");
	free(s);
	s = nitro_args("certkeyname", "x,y:z", "snicert", NULL, "ca", "true", NULL);
	assert_string_equal(s, "certkeyname:x%2Cy%3Az,ca:true");
	free(s);
	s = nitro_path("sslcertkey", "my cert#1", NULL);
	assert_string_equal(s, "sslcertkey/my%20cert%231");
	free(s);
	s = nitro_path("sslcertkey", NULL, "action=update");
	assert_string_equal(s, "sslcertkey?action=update");
	free(s);
	s = nitro_path("hanode", NULL, NULL);
	assert_string_equal(s, "hanode");
	free(s);
}

static void
pi_quote(void **state)
{
	char *s;

	(void)state;
	s = nitro_pi_quote("/.well-known/acme-challenge/abc");
	assert_string_equal(s, "\"/.well-known/acme-challenge/abc\"");
	free(s);
	s = nitro_pi_quote("a\"b\\c");
	assert_string_equal(s, "\"a\\\"b\\\\c\"");
	free(s);
}

static void
dn_cn(void **state)
{
	char *s;

	(void)state;
	s = nitro_dn_cn("C=US, ST=CA, O=Example, CN=www.example.com");
	assert_string_equal(s, "www.example.com");
	free(s);
	s = nitro_dn_cn("/C=US/O=Let's Encrypt/CN=R11");
	assert_string_equal(s, "R11");
	free(s);
	s = nitro_dn_cn("CN = Example CA , O=X");
	assert_string_equal(s, "Example CA");
	free(s);
	assert_null(nitro_dn_cn("O=X, OU=Y"));
	assert_null(nitro_dn_cn(NULL));
}

static void
base64(void **state)
{
	const char *pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n"
	    "-----END CERTIFICATE REQUEST-----\n";
	char *enc, *dec;
	size_t len;

	(void)state;
	enc = nitro_b64_encode(pem, strlen(pem));
	assert_non_null(enc);
	assert_null(strchr(enc, '\n'));
	assert_int_equal(nitro_b64_decode(enc, &dec, &len), 0);
	assert_int_equal(len, strlen(pem));
	assert_string_equal(dec, pem);
	free(dec);
	/* wrapped at 64 columns, as some builds return it */
	assert_int_equal(nitro_b64_decode("aGVsbG8g\nd29ybGQ=\n", &dec, &len), 0);
	assert_string_equal(dec, "hello world");
	free(dec);
	assert_int_equal(nitro_b64_decode("", &dec, &len), 0);
	assert_int_equal(len, 0);
	free(dec);
	assert_int_equal(nitro_b64_decode("!!!not base64", &dec, &len), -1);
	assert_null(dec);
	free(enc);
}

static void
session_expired(void **state)
{
	(void)state;
	assert_true(nitro_session_expired(401, NITRO_E_SESSEXPIRED));
	assert_true(nitro_session_expired(401, NITRO_E_AUTHTIMEOUT));
	assert_true(nitro_session_expired(599, NITRO_E_SESSEXPIRED));
	assert_false(nitro_session_expired(401, NITRO_E_AUTH));
	assert_false(nitro_session_expired(401, 0));
	assert_false(nitro_session_expired(404, NITRO_E_NOSUCHRES));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(envelope_number_or_string),
		cmocka_unit_test(json_long_lenient),
		cmocka_unit_test(items_array_or_object),
		cmocka_unit_test(dates),
		cmocka_unit_test(serials),
		cmocka_unit_test(names_and_limits),
		cmocka_unit_test(san_string),
		cmocka_unit_test(args_and_paths),
		cmocka_unit_test(pi_quote),
		cmocka_unit_test(dn_cn),
		cmocka_unit_test(base64),
		cmocka_unit_test(session_expired),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
