/* Configuration rules key by key: every refused input with its exact
 * file:line:col, and the keys with rules of their own (pins, dns-01, SCM
 * extras). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "util/err.h"
#include "util/log.h"

#include "data/config_fixture.h"

/* ---- bad inputs: each with its exact position ---- */

static const char base_main[] =
    "devices:\n"				/* 1 */
    "  adc1:\n"					/* 2 */
    "    type: citrix-adc\n"			/* 3 */
    "    url: https://192.0.2.10\n"		/* 4 */
    "    credentials: adc1\n"			/* 5 */
    "  bigip1:\n"				/* 6 */
    "    type: f5-bigip\n"			/* 7 */
    "    url: https://192.0.2.20\n"		/* 8 */
    "    credentials: bigip1\n"			/* 9 */
    "cas:\n"					/* 10 */
    "  scm:\n"					/* 11 */
    "    type: sectigo-scm\n"			/* 12 */
    "    url: https://cert-manager.com/api\n"	/* 13 */
    "    customer_uri: example\n"		/* 14 */
    "    credentials: scm\n"			/* 15 */
    "    org_id: 1234\n"			/* 16 */
    "    cert_type: 224\n"			/* 17 */
    "  le:\n"					/* 18 */
    "    type: acme\n"				/* 19 */
    "    directory: https://acme.example.com/dir\n"	/* 20 */
    "    challenge: http-01\n";			/* 21 */

static const char base_cred[] =
    "adc1: { username: nsroot, password: secret-1 }\n"
    "bigip1: { username: admin, password: secret-2 }\n"
    "scm: { login: api, password: secret-3 }\n";

static const char base_prof[] =
    "device: adc1\n"
    "ca: scm\n"
    "common_name: www.example.com\n"
    "vservers: [vs1]\n"
    "subject: { organization: Example, state: Yorks, country: GB }\n";

#define ADC1 \
    "devices:\n" \
    "  adc1:\n" \
    "    type: citrix-adc\n" \
    "    url: https://192.0.2.10\n" \
    "    credentials: adc1\n"

/* An ACME CA with challenge: dns-01 on line 10, then extra lines from 12. */
#define DNS_MAIN(extra) ADC1 \
    "cas:\n" \
    "  le:\n" \
    "    type: acme\n" \
    "    directory: https://acme.example.com/dir\n" \
    "    challenge: dns-01\n" \
    "    credentials: le\n" extra
#define DNS_BLOCK "    dns: { server: 127.0.0.1, tsig_name: k }\n"
#define DNS_CRED "adc1: { username: nsroot, password: secret-1 }\n" \
    "le: { tsig_secret: \"c2VjcmV0LXNlY3JldA==\" }\n"

/* Pins for the pin_sha256 list rows: one pin in two spellings, and 16
 * other distinct pins as block list items. */
#define PIN_LC "\"ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:" \
    "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\""
#define PIN_UP "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
#define PIN_ITEM(x) "        - 0123456789abcdef0123456789abcdef" \
    "0123456789abcdef0123456789abcde" x "\n"
#define PIN_ITEMS16 PIN_ITEM("0") PIN_ITEM("1") PIN_ITEM("2") PIN_ITEM("3") \
    PIN_ITEM("4") PIN_ITEM("5") PIN_ITEM("6") PIN_ITEM("7") PIN_ITEM("8") \
    PIN_ITEM("9") PIN_ITEM("a") PIN_ITEM("b") PIN_ITEM("c") PIN_ITEM("d") \
    PIN_ITEM("e") PIN_ITEM("f")

#define SCM_MAIN(x) ADC1 \
    "cas:\n" \
    "  scm:\n" \
    "    type: sectigo-scm\n" \
    "    url: https://cert-manager.com/api\n" \
    "    customer_uri: example\n" \
    "    credentials: scm\n" \
    "    org_id: 1234\n" \
    "    cert_type: 224\n" x   /* x starts at line 14 */

struct bad {
	const char *name;
	const char *main, *cred, *prof; /* NULL: the base file */
	const char *extra, *extra_text;  /* another file in the dir, mode 0644 */
	const char *file;
	int line, col;
	const char *msg;
};

static const struct bad bad[] = {
	/* lbcert.yaml */
	{ "syntax error", "devices: a: b\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 1, 11, "YAML syntax error: mapping values are not "
	  "allowed" },
	{ "unclosed flow", "devices: { adc1: {\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 2, 1, "YAML syntax error" },
	{ "two documents", "devices: {}\n---\ncas: {}\n", NULL, NULL, NULL,
	  NULL, "lbcert.yaml", 2, 1, "only one YAML document" },
	{ "unknown top key", "device:\n  adc1: {}\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 1, 1, "top level: unknown key 'device'" },
	{ "top level list", "- devices\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 1, 1, "top level must be a mapping, not a list" },
	{ "unknown device key", ADC1 "    timeout: 5\n", NULL, NULL, NULL,
	  NULL, "lbcert.yaml", 6, 5, "devices.adc1: unknown key 'timeout'" },
	{ "duplicate device", ADC1 "  adc1: {}\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 6, 3, "devices: duplicate key 'adc1'" },
	{ "missing url",
	  "devices:\n  adc1:\n    type: citrix-adc\n    credentials: adc1\n",
	  NULL, NULL, NULL, NULL, "lbcert.yaml", 3, 5,
	  "devices.adc1: missing required key 'url'" },
	{ "missing type flow",
	  "devices:\n  adc1: { url: https://a.example, credentials: adc1 }\n",
	  NULL, NULL, NULL, NULL, "lbcert.yaml", 2, 9,
	  "devices.adc1: missing required key 'type'" },
	{ "bad device type",
	  "devices:\n  adc1:\n    type: netscaler\n    url: https://a.example\n"
	  "    credentials: adc1\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 3, 11, "devices.adc1.type: unsupported value "
	  "'netscaler' (expected citrix-adc | f5-bigip)" },
	{ "http url",
	  "devices:\n  adc1:\n    type: citrix-adc\n"
	  "    url: http://192.0.2.10\n    credentials: adc1\n",
	  NULL, NULL, NULL, NULL, "lbcert.yaml", 4, 10,
	  "devices.adc1.url: 'http://192.0.2.10' is not an https:// URL" },
	{ "peer not https", ADC1 "    peers: [https://a.example, ftp://b]\n",
	  NULL, NULL, NULL, NULL, "lbcert.yaml", 6, 32,
	  "devices.adc1.peers[1]: 'ftp://b' is not an https:// URL" },
	{ "peers not a list", ADC1 "    peers: https://a.example\n",
	  NULL, NULL, NULL, NULL, "lbcert.yaml", 6, 12,
	  "devices.adc1.peers must be a list, not a string" },
	{ "timeout quoted", ADC1 "    timeout_s: \"30\"\n", NULL, NULL, NULL,
	  NULL, "lbcert.yaml", 6, 16,
	  "devices.adc1.timeout_s must be an integer, not a string" },
	{ "timeout range", ADC1 "    timeout_s: 0\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 6, 16, "must be between 1 and 3600" },
	{ "url is a number", "devices:\n  adc1:\n    type: citrix-adc\n"
	  "    url: { host: x }\n    credentials: adc1\n", NULL, NULL, NULL, NULL, "lbcert.yaml", 4,
	  10, "devices.adc1.url must be a string, not a mapping" },
	{ "tls ca_file and pin", ADC1 "    tls:\n      ca_file: /x.pem\n"
	  "      pin_sha256: \"AB:CD\"\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 8, 7, "give ca_file or pin_sha256, not both" },
	{ "malformed pin", ADC1 "    tls:\n      pin_sha256: \"AB:CD\"\n",
	  NULL, NULL, NULL, NULL, "lbcert.yaml", 7, 19,
	  "devices.adc1.tls.pin_sha256: 'AB:CD' is not a SHA-256 fingerprint" },
	{ "pin non-hex", ADC1 "    tls: { pin_sha256: "
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg }\n",
	  NULL, NULL, NULL, NULL, "lbcert.yaml", 6, 24,
	  "not a SHA-256 fingerprint" },
	{ "pin list bad item", ADC1 "    tls:\n      pin_sha256:\n"
	  "        - " PIN_LC "\n        - \"AB:CD\"\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 9, 11, "devices.adc1.tls.pin_sha256[1]: 'AB:CD' is "
	  "not a SHA-256 fingerprint" },
	{ "pin list empty", ADC1 "    tls: { pin_sha256: [] }\n", NULL, NULL,
	  NULL, NULL, "lbcert.yaml", 6, 24,
	  "devices.adc1.tls.pin_sha256: the list is empty" },
	{ "pin list duplicate", ADC1 "    tls:\n      pin_sha256:\n"
	  "        - " PIN_LC "\n        - " PIN_UP "\n", NULL, NULL, NULL,
	  NULL, "lbcert.yaml", 9, 11,
	  "devices.adc1.tls.pin_sha256[1]: fingerprint AB:CD:EF:01:" },
	{ "pin list item mapping", ADC1 "    tls:\n      pin_sha256:\n"
	  "        - { sha: x }\n", NULL, NULL, NULL, NULL, "lbcert.yaml", 8,
	  11, "devices.adc1.tls.pin_sha256[0] must be a fingerprint, not a "
	  "mapping" },
	{ "pin mapping", ADC1 "    tls: { pin_sha256: { sha: x } }\n", NULL,
	  NULL, NULL, NULL, "lbcert.yaml", 6, 24, "devices.adc1.tls.pin_sha256 "
	  "must be a fingerprint or a list of fingerprints, not a mapping" },
	{ "pin list too long", ADC1 "    tls:\n      pin_sha256:\n"
	  PIN_ITEMS16 "        - " PIN_LC "\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 24, 11,
	  "devices.adc1.tls.pin_sha256: more than 16 fingerprints" },
	{ "insecure not bool", ADC1 "    tls: { insecure: yes }\n", NULL, NULL,
	  NULL, NULL, "lbcert.yaml", 6, 22,
	  "devices.adc1.tls.insecure must be true or false, not a string" },
	{ "partition on citrix", ADC1 "    partition: Common\n", NULL, NULL,
	  NULL, NULL, "lbcert.yaml", 6, 5,
	  "devices.adc1: key 'partition' is not valid for a citrix-adc device" },
	{ "unknown credentials", "devices:\n  adc1:\n    type: citrix-adc\n"
	  "    url: https://192.0.2.10\n    credentials: nosuch\n", NULL, NULL,
	  NULL, NULL, "lbcert.yaml", 5, 18,
	  "devices.adc1.credentials: no entry 'nosuch' in" },
	{ "bad ca type", "cas:\n  x:\n    type: digicert\n", NULL, NULL, NULL,
	  NULL, "lbcert.yaml", 3, 11,
	  "unsupported value 'digicert' (expected sectigo-scm | acme)" },
	{ "scm missing org_id", "cas:\n  scm:\n    type: sectigo-scm\n"
	  "    url: https://x.example/api\n    customer_uri: c\n"
	  "    credentials: scm\n    cert_type: 1\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 3, 5, "cas.scm: missing required key 'org_id'" },
	{ "scm org_id text", "cas:\n  scm:\n    type: sectigo-scm\n"
	  "    url: https://x.example/api\n    customer_uri: c\n"
	  "    credentials: scm\n    cert_type: 1\n    org_id: abc\n", NULL,
	  NULL, NULL, NULL, "lbcert.yaml", 8, 13,
	  "cas.scm.org_id must be an integer, not a string" },
	{ "acme key on scm", "cas:\n  scm:\n    type: sectigo-scm\n"
	  "    directory: https://x.example/dir\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 4, 5,
	  "cas.scm: key 'directory' is not valid for a sectigo-scm CA" },
	{ "acme missing directory", "cas:\n  le: { type: acme }\n", NULL,
	  NULL, NULL, NULL, "lbcert.yaml", 2, 7,
	  "cas.le: missing required key 'directory'" },
	{ "bad challenge", "cas:\n  le:\n    type: acme\n"
	  "    directory: https://x.example/dir\n    challenge: tls-alpn-01\n",
	  NULL, NULL, NULL, NULL, "lbcert.yaml", 5, 16,
	  "cas.le.challenge: unsupported value 'tls-alpn-01' (expected none | "
	  "http-01 | dns-01)" },
	/* dns-01 */
	{ "dns-01 without dns", DNS_MAIN(""), DNS_CRED, NULL, NULL, NULL,
	  "lbcert.yaml", 10, 16, "cas.le: challenge: dns-01 needs a dns: block" },
	{ "dns with http-01", ADC1 "cas:\n  le:\n    type: acme\n"
	  "    directory: https://x.example/dir\n    challenge: http-01\n"
	  "    dns: { server: 127.0.0.1, tsig_name: k }\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 11, 5, "cas.le: dns: is only used with challenge: dns-01" },
	{ "dns without server", DNS_MAIN("    dns: { tsig_name: k }\n"), DNS_CRED, NULL,
	  NULL, NULL, "lbcert.yaml", 12, 10, "cas.le.dns: missing required key 'server'" },
	{ "dns without tsig_name", DNS_MAIN("    dns: { server: ns1.example.com }\n"),
	  DNS_CRED, NULL, NULL, NULL, "lbcert.yaml", 12, 10,
	  "cas.le.dns: missing required key 'tsig_name'" },
	{ "dns unknown key", DNS_MAIN("    dns: { server: a, tsig_name: k, key: x }\n"),
	  DNS_CRED, NULL, NULL, NULL, "lbcert.yaml", 12, 37, "unknown key 'key'" },
	{ "dns server with port", DNS_MAIN("    dns:\n      server: ns1.example.com:53\n"
	  "      tsig_name: k\n"), DNS_CRED, NULL, NULL, NULL, "lbcert.yaml", 13, 15,
	  "cas.le.dns.server: 'ns1.example.com:53' is not a host name or address" },
	{ "dns port range", DNS_MAIN("    dns:\n      server: 127.0.0.1\n"
	  "      tsig_name: k\n      port: 0\n"), DNS_CRED, NULL, NULL, NULL,
	  "lbcert.yaml", 15, 13, "cas.le.dns.port must be between 1 and 65535" },
	{ "dns algorithm", DNS_MAIN("    dns:\n      server: 127.0.0.1\n"
	  "      tsig_name: k\n      tsig_algorithm: hmac-md5\n"), DNS_CRED, NULL, NULL,
	  NULL, "lbcert.yaml", 15, 23, "cas.le.dns.tsig_algorithm: unsupported value "
	  "'hmac-md5' (expected hmac-sha256 | hmac-sha224 | hmac-sha1)" },
	{ "dns zone", DNS_MAIN("    dns:\n      server: 127.0.0.1\n"
	  "      tsig_name: k\n      zone: \"exa mple.com\"\n"), DNS_CRED, NULL, NULL,
	  NULL, "lbcert.yaml", 15, 13, "cas.le.dns.zone: 'exa mple.com' is not a DNS name" },
	{ "dns timeout", DNS_MAIN("    dns:\n      server: 127.0.0.1\n"
	  "      tsig_name: k\n      timeout_s: 0\n"), DNS_CRED, NULL, NULL,
	  NULL, "lbcert.yaml", 15, 18, "cas.le.dns.timeout_s must be between 1 and 3600" },
	{ "dns-01 without credentials", ADC1 "cas:\n  le:\n    type: acme\n"
	  "    directory: https://x.example/dir\n    challenge: dns-01\n"
	  "    dns: { server: 127.0.0.1, tsig_name: k }\n", DNS_CRED, NULL, NULL, NULL,
	  "lbcert.yaml", 11, 5, "cas.le: dns: needs credentials: naming an entry "
	  "with tsig_secret" },
	{ "dns-01 without tsig_secret", DNS_MAIN(DNS_BLOCK),
	  "adc1: { username: nsroot, password: secret-1 }\nle: { eab_kid: a, eab_hmac_key: b }\n",
	  NULL, NULL, NULL, "credentials.yaml", 2, 5,
	  "le: missing required key 'tsig_secret' (or tsig_secret_file)" },
	{ "tsig_secret not base64", DNS_MAIN(DNS_BLOCK),
	  "adc1: { username: nsroot, password: secret-1 }\nle: { tsig_secret: \"not base64!\" }\n",
	  NULL, NULL, NULL, "credentials.yaml", 2, 20, "le: tsig_secret: not base64" },
	{ "tsig_secret on http-01", ADC1 "cas:\n  le:\n    type: acme\n"
	  "    directory: https://x.example/dir\n    challenge: http-01\n"
	  "    credentials: le\n", DNS_CRED, NULL, NULL, NULL, "credentials.yaml", 2, 7,
	  "le: tsig_secret: only used by a CA with challenge: dns-01" },
	{ "contact not mailto", "cas:\n  le:\n    type: acme\n"
	  "    directory: https://x.example/dir\n"
	  "    contact: [pki@example.com]\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 5, 15, "is not a mailto: URL" },
	{ "renew out of range", "defaults:\n  renew_before_days: 0\n", NULL,
	  NULL, NULL, NULL, "lbcert.yaml", 2, 22,
	  "defaults.renew_before_days must be between 1 and 3650" },
	{ "rsa 1024", "defaults:\n  key: { type: rsa, size: 1024 }\n", NULL,
	  NULL, NULL, NULL, "lbcert.yaml", 2, 27,
	  "unsupported RSA key size 1024" },
	{ "curve P-521", "defaults:\n  key: { type: ecdsa, curve: P-521 }\n",
	  NULL, NULL, NULL, NULL, "lbcert.yaml", 2, 30,
	  "defaults.key.curve: unsupported value 'P-521' (expected P-256 | "
	  "P-384)" },
	{ "key type dsa", "defaults:\n  key: { type: dsa }\n", NULL, NULL,
	  NULL, NULL, "lbcert.yaml", 2, 16, "unsupported value 'dsa'" },

	/* credentials.yaml */
	{ "cred missing password", NULL, "adc1: { username: nsroot }\n", NULL,
	  NULL, NULL, "credentials.yaml", 1, 7,
	  "adc1: missing required key 'password' (or password_file)" },
	{ "cred env unset", NULL,
	  "adc1:\n  username: nsroot\n  password: ${LBCERT_TEST_UNSET_VAR}\n",
	  NULL, NULL, NULL, "credentials.yaml", 3, 13,
	  "adc1.password: environment variable LBCERT_TEST_UNSET_VAR is not "
	  "set" },
	{ "cred unknown key", NULL,
	  "adc1: { username: nsroot, passwd: x }\n", NULL, NULL, NULL,
	  "credentials.yaml", 1, 27, "adc1: unknown key 'passwd'" },
	{ "cred key of another kind", NULL,
	  "adc1: { login: nsroot, password: secret-1 }\n", NULL, NULL, NULL,
	  "credentials.yaml", 1, 9,
	  "adc1: key 'login' is not used by device 'adc1'" },
	{ "cred value and file", NULL,
	  "adc1:\n  username: nsroot\n  password: a\n  password_file: pw\n",
	  NULL, NULL, NULL, "credentials.yaml", 4, 3,
	  "adc1: give password or password_file, not both" },
	{ "cred file readable", NULL,
	  "adc1:\n  username: nsroot\n  password_file: pw\n", NULL,
	  "pw", "leaked\n", "credentials.yaml", 3, 18,
	  "adc1.password_file: " },
	{ "cred value is a list", NULL,
	  "adc1:\n  username: [a, b]\n", NULL, NULL, NULL,
	  "credentials.yaml", 2, 13, "adc1.username must be a string, not a list" },
	{ "eab half", ADC1 "cas:\n  le:\n    type: acme\n"
	  "    directory: https://x.example/dir\n    credentials: le\n",
	  "adc1: { username: nsroot, password: secret-1 }\n"
	  "le:\n  eab_kid: kid\n", NULL, NULL, NULL, "credentials.yaml", 3, 3,
	  "le: eab_kid and eab_hmac_key go together; 'eab_hmac_key' is missing" },

	/* profiles/www.yaml */
	{ "profile unknown key", NULL, NULL,
	  "device: adc1\nca: scm\ncommonname: www.example.com\n",
	  NULL, NULL, "profiles/www.yaml", 3, 1, "unknown key 'commonname'" },
	{ "profile missing vservers", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n",
	  NULL, NULL, "profiles/www.yaml", 1, 1,
	  "missing required key 'vservers'" },
	{ "profile unknown device", NULL, NULL,
	  "device: adc9\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\n", NULL, NULL, "profiles/www.yaml", 1, 9,
	  "device: unknown device 'adc9'" },
	{ "profile unknown ca", NULL, NULL,
	  "device: adc1\nca: digicert\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\n", NULL, NULL, "profiles/www.yaml", 2, 5,
	  "ca: unknown CA 'digicert'" },
	{ "profile empty vservers", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: []\n", NULL, NULL, "profiles/www.yaml", 4, 11,
	  "vservers: the list is empty" },
	{ "profile vserver twice", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers:\n  - name: vs1\n  - vs2\n  - name: vs1\n    sni: true\n",
	  NULL, NULL, "profiles/www.yaml", 7, 5,
	  "vservers[2]: virtual server 'vs1' is listed twice" },
	{ "profile vserver no name", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers:\n  - sni: true\n", NULL, NULL, "profiles/www.yaml", 5, 5,
	  "vservers[0]: missing required key 'name'" },
	{ "profile sni quoted", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers:\n  - name: vs1\n    sni: \"true\"\n", NULL, NULL,
	  "profiles/www.yaml", 6, 10,
	  "vservers[0].sni must be true or false, not a string" },
	{ "profile check not host:port", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers:\n  - name: vs1\n    check: 198.51.100.7\n", NULL, NULL,
	  "profiles/www.yaml", 6, 12,
	  "vservers[0].check: '198.51.100.7' is not host:port" },
	{ "profile check bad port", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers:\n  - name: vs1\n    check: \"h.example:70000\"\n", NULL,
	  NULL, "profiles/www.yaml", 6, 12, "is not host:port" },
	{ "profile wildcard http-01", NULL, NULL,
	  "device: adc1\nca: le\ncommon_name: www.example.com\n"
	  "subject_alt_names: [a.example.com, \"*.example.com\"]\n"
	  "vservers: [vs1]\n", NULL, NULL, "profiles/www.yaml", 4, 36,
	  "subject_alt_names[1]: wildcard name '*.example.com' cannot be "
	  "validated with http-01" },
	{ "profile wildcard cn http-01", NULL, NULL,
	  "device: adc1\nca: le\ncommon_name: \"*.Example.com\"\n"
	  "vservers: [vs1]\n", NULL, NULL, "profiles/www.yaml", 3, 14,
	  "common_name: wildcard name '*.example.com'" },
	{ "profile bad dns name", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "subject_alt_names: [ok.example.com, bad_name.example.com]\n"
	  "vservers: [vs1]\n", NULL, NULL, "profiles/www.yaml", 4, 37,
	  "subject_alt_names[1]: 'bad_name.example.com' is not a valid DNS "
	  "name" },
	{ "profile sans not list", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "subject_alt_names: www.example.com\nvservers: [vs1]\n", NULL, NULL,
	  "profiles/www.yaml", 4, 20,
	  "subject_alt_names must be a list, not a string" },
	{ "profile client_ssl on citrix", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\nclient_ssl:\n  parent: /Common/clientssl\n", NULL,
	  NULL, "profiles/www.yaml", 5, 1,
	  "client_ssl: only for f5-bigip devices (device 'adc1' is "
	  "citrix-adc)" },
	{ "profile bigip http-01 no challenge_vserver", NULL, NULL,
	  "device: bigip1\nca: le\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\n", NULL, NULL, "profiles/www.yaml", 1, 1,
	  "missing required key 'challenge_vserver'" },
	{ "profile challenge_vserver without http-01", NULL, NULL,
	  "device: bigip1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\nchallenge_vserver: vs80\n", NULL, NULL,
	  "profiles/www.yaml", 5, 1, "challenge_vserver: only for acme CAs (CA "
	  "'scm' is sectigo-scm)" },
	{ "profile challenge_vserver on acme without http-01", DNS_MAIN(DNS_BLOCK),
	  DNS_CRED, "device: adc1\nca: le\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\nsubject: { organization: Example, state: Yorks, country: GB }\n"
	  "challenge_vserver: vs80\n", NULL, NULL,
	  "profiles/www.yaml", 6, 1, "challenge_vserver: only used with an "
	  "http-01 CA (CA 'le' does not answer http-01)" },
	{ "profile country", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\nsubject:\n  organization: Example\n"
	  "  country: GBR\n", NULL, NULL, "profiles/www.yaml", 7, 12,
	  "subject.country: 'GBR' is not a two-letter country code" },
	{ "profile subject unknown key", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\nsubject: { org: Example }\n", NULL, NULL,
	  "profiles/www.yaml", 5, 12, "subject: unknown key 'org'" },
	{ "profile renew range", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\nrenew_before_days: 4000\n", NULL, NULL,
	  "profiles/www.yaml", 5, 20,
	  "renew_before_days must be between 1 and 3650, not 4000" },
	{ "profile rsa with curve", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\nkey: { type: rsa, curve: P-256 }\n", NULL, NULL,
	  "profiles/www.yaml", 5, 19, "key: curve is for ecdsa keys" },
	{ "profile ecdsa with size", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\nkey: { type: ecdsa, size: 256 }\n", NULL, NULL,
	  "profiles/www.yaml", 5, 21, "key: size is for rsa keys" },
	{ "profile rsa 8192", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\nkey:\n  type: rsa\n  size: 8192\n", NULL, NULL,
	  "profiles/www.yaml", 7, 9,
	  "key.size: unsupported RSA key size 8192" },
	{ "profile bad object_name", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\n"
	  "vservers: [vs1]\nobject_name: \"www example\"\n", NULL, NULL,
	  "profiles/www.yaml", 5, 14, "object_name: 'www example' may hold "
	  "only" },
	{ "profile empty", NULL, NULL, "# nothing\n", NULL, NULL,
	  "profiles/www.yaml", 1, 1, "empty profile" },
	{ "profile null value", NULL, NULL,
	  "device:\nca: scm\ncommon_name: www.example.com\nvservers: [vs1]\n",
	  NULL, NULL, "profiles/www.yaml", 1, 8,
	  "device must be a string, not empty (null)" },
	/* SCM custom fields and DCV */
	{ "scm custom_fields list", SCM_MAIN("    custom_fields: [a]\n"), NULL, NULL,
	  NULL, NULL, "lbcert.yaml", 14, 20,
	  "cas.scm.custom_fields must be a mapping, not a list" },
	{ "scm custom field map value",
	  SCM_MAIN("    custom_fields: { Owner: { a: b } }\n"), NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 14, 29,
	  "cas.scm.custom_fields.Owner must be a string, not a mapping" },
	{ "scm custom field null", SCM_MAIN("    custom_fields:\n      Owner:\n"), NULL,
	  NULL, NULL, NULL, "lbcert.yaml", 15, 13,
	  "cas.scm.custom_fields.Owner must be a string, not empty (null)" },
	{ "scm dcv_mode", SCM_MAIN("    dcv_mode: DNS\n"), NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 14, 15, "cas.scm.dcv_mode: unsupported value 'DNS' "
	  "(expected CNAME | EMAIL | HTTP | HTTPS | TXT | AUTO)" },
	{ "scm dcv_mode list", SCM_MAIN("    dcv_mode: [EMAIL]\n"), NULL, NULL, NULL,
	  NULL, "lbcert.yaml", 14, 15, "cas.scm.dcv_mode must be a string, not a list" },
	{ "scm dcv_email", SCM_MAIN("    dcv_email: nobody\n"), NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 14, 16, "cas.scm.dcv_email: 'nobody' is not an e-mail" },
	{ "acme dcv_mode", "cas:\n  le:\n    type: acme\n"
	  "    directory: https://acme.example.com/dir\n    dcv_mode: EMAIL\n", NULL,
	  "device: x\n", NULL, NULL, "lbcert.yaml", 5, 5,
	  "cas.le: key 'dcv_mode' is not valid for a acme CA" },
	{ "acme allow_origins path", "cas:\n  le:\n    type: acme\n"
	  "    directory: https://acme.example.com/dir\n"
	  "    allow_origins: [https://x.example.com/orders]\n", NULL,
	  "device: x\n", NULL, NULL, "lbcert.yaml", 5, 21,
	  "cas.le.allow_origins[0]: 'https://x.example.com/orders' is not an origin "
	  "(https://host or https://host:port, no path)" },
	{ "acme allow_origins http", "cas:\n  le:\n    type: acme\n"
	  "    directory: https://acme.example.com/dir\n"
	  "    allow_origins: [http://x.example.com]\n", NULL,
	  "device: x\n", NULL, NULL, "lbcert.yaml", 5, 21,
	  "cas.le.allow_origins[0]: 'http://x.example.com' is not an https:// URL" },
	{ "allow_origins on scm", "cas:\n  scm:\n    type: sectigo-scm\n"
	  "    allow_origins: [https://x.example.com]\n", NULL, NULL, NULL, NULL,
	  "lbcert.yaml", 4, 5,
	  "cas.scm: key 'allow_origins' is not valid for a sectigo-scm CA" },
	{ "acme_profile on scm", "cas:\n  scm:\n    type: sectigo-scm\n"
	  "    acme_profile: classic\n", NULL, NULL, NULL, NULL, "lbcert.yaml", 4, 5,
	  "cas.scm: key 'acme_profile' is not valid for a sectigo-scm CA" },
	{ "profile acme_profile on scm", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\nvservers: [vs1]\n"
	  "subject: { organization: Example, state: Yorks, country: GB }\n"
	  "acme_profile: shortlived\n", NULL, NULL, "profiles/www.yaml", 6, 1,
	  "acme_profile: only for acme CAs (CA 'scm' is sectigo-scm)" },
	{ "profile custom_fields on acme", NULL, NULL,
	  "device: adc1\nca: le\ncommon_name: www.example.com\nvservers: [vs1]\n"
	  "subject: { organization: Example, state: Yorks, country: GB }\n"
	  "custom_fields: { a: b }\n", NULL, NULL, "profiles/www.yaml", 6, 1,
	  "custom_fields: only for sectigo-scm CAs (CA 'le' is acme)" },
	{ "profile dcv EMAIL without email", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\nvservers: [vs1]\n"
	  "subject: { organization: Example, state: Yorks, country: GB }\n"
	  "dcv_mode: EMAIL\n", NULL, NULL, "profiles/www.yaml", 6, 11,
	  "dcv_mode: EMAIL needs dcv_email (in the profile or CA 'scm')" },
	{ "profile custom field bool", NULL, NULL,
	  "device: adc1\nca: scm\ncommon_name: www.example.com\nvservers: [vs1]\n"
	  "subject: { organization: Example, state: Yorks, country: GB }\n"
	  "custom_fields:\n  Internal: true\n", NULL, NULL, "profiles/www.yaml", 7, 13,
	  "custom_fields.Internal must be a string, not a boolean" },
	{ "profile syntax", NULL, NULL,
	  "device: adc1\nca: scm\n\tcommon_name: x\n", NULL, NULL,
	  "profiles/www.yaml", 3, 1, "YAML syntax error" },
};

static void
run_bad(const struct bad *b)
{
	struct config *c = NULL;
	struct err e = { 0 };
	char dir[512], want[700];
	int rc;

	new_dir(dir, sizeof(dir));
	put(dir, "lbcert.yaml", b->main != NULL ? b->main : base_main, 0644);
	put(dir, "credentials.yaml", b->cred != NULL ? b->cred : base_cred,
	    0600);
	put(dir, "profiles/www.yaml", b->prof != NULL ? b->prof : base_prof,
	    0644);
	if (b->extra != NULL)
		put(dir, b->extra, b->extra_text, 0644);
	rc = config_load(dir, &cmd_kinds, &c, &e);
	if (rc != LB_ECONFIG || c != NULL)
		fail_msg("case '%s': rc %d, want LB_ECONFIG (msg: %s)", b->name,
		    rc, e.msg);
	if (e.code != LB_ECONFIG)
		fail_msg("case '%s': e.code %d", b->name, e.code);
	snprintf(want, sizeof(want), "%s/%s:%d:%d: ", dir, b->file, b->line,
	    b->col);
	if (strncmp(e.msg, want, strlen(want)) != 0)
		fail_msg("case '%s':\n  want prefix %s\n  got         %s",
		    b->name, want, e.msg);
	if (strstr(e.msg, b->msg) == NULL)
		fail_msg("case '%s':\n  want substring %s\n  got %s", b->name,
		    b->msg, e.msg);
	/* LBCERT_TEST_SHOW=1 prints every message, to review their wording. */
	if (getenv("LBCERT_TEST_SHOW") != NULL)
		print_message("%-40s %s\n", b->name, e.msg + strlen(dir) + 1);
	/* No secret value may leak into an error message. */
	if (strstr(e.msg, "secret-1") != NULL || strstr(e.msg, "leaked"))
		fail_msg("case '%s': secret in message: %s", b->name, e.msg);
}

/* The CA's custom fields and DCV settings are the profile's defaults;
 * the profile's own win, field by field. */
static void
scm_extra_merge(void **state)
{
	struct config *c = NULL;
	struct err e = { 0 };
	const struct cfg_profile *p;
	char dir[512];

	(void)state;
	new_dir(dir, sizeof(dir));
	put(dir, "lbcert.yaml", SCM_MAIN("    custom_fields: { Cost Center: \"1\", "
	    "Owner: ca-team }\n    dcv_mode: EMAIL\n    dcv_email: a@example.com\n"), 0644);
	put(dir, "credentials.yaml", base_cred, 0600);
	put(dir, "profiles/www.yaml", base_prof, 0644);
	put(dir, "profiles/shop.yaml", "device: adc1\nca: scm\ncommon_name: shop.example.com\n"
	    "vservers: [vs1]\nsubject: { organization: Example, state: Yorks, country: GB }\n"
	    "custom_fields: { Owner: shop-team, Ticket: 42 }\ndcv_mode: HTTP\n", 0644);
	if (config_load(dir, &cmd_kinds, &c, &e) != 0)
		fail_msg("%s", e.msg);
	p = config_profile(c, "www");
	assert_int_equal(p->scm.ncustom_fields, 2);
	assert_string_equal(p->scm.custom_fields[0].name, "Cost Center");
	assert_string_equal(p->scm.custom_fields[0].value, "1");
	assert_string_equal(p->scm.dcv_mode, "EMAIL");
	assert_string_equal(p->scm.dcv_email, "a@example.com");
	p = config_profile(c, "shop");
	assert_int_equal(p->scm.ncustom_fields, 3);
	assert_string_equal(p->scm.custom_fields[0].name, "Owner");
	assert_string_equal(p->scm.custom_fields[0].value, "shop-team");
	assert_string_equal(p->scm.custom_fields[1].name, "Ticket");
	assert_string_equal(p->scm.custom_fields[1].value, "42");
	assert_string_equal(p->scm.custom_fields[2].name, "Cost Center");
	assert_string_equal(p->scm.dcv_mode, "HTTP");
	assert_string_equal(p->scm.dcv_email, "a@example.com");
	config_free(c);
}

static void
bad_inputs(void **state)
{
	(void)state;
	unsetenv("LBCERT_TEST_UNSET_VAR");
	/* The base files themselves must load. */
	{
		struct config *c = NULL;
		struct err e = { 0 };
		char dir[512];

		new_dir(dir, sizeof(dir));
		put(dir, "lbcert.yaml", base_main, 0644);
		put(dir, "credentials.yaml", base_cred, 0600);
		put(dir, "profiles/www.yaml", base_prof, 0644);
		if (config_load(dir, &cmd_kinds, &c, &e) != 0)
			fail_msg("base config: %s", e.msg);
		config_free(c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		run_bad(&bad[i]);
}

/* pin_sha256 as one fingerprint or a list: stored normalised, joined
 * with ",". */
static void
pin_lists(void **state)
{
	static const struct {
		const char *name, *tls, *want;
	} rows[] = {
		{ "block list", "    tls:\n      pin_sha256:\n        - "
		  PIN_LC "\n        - 0123456789abcdef0123456789abcdef"
		  "0123456789abcdef0123456789abcdef\n",
		  "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
		  "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89,"
		  "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
		  "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF" },
		{ "flow list of one", "    tls: { pin_sha256: [" PIN_UP "] }\n",
		  "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
		  "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89" },
		{ "sixteen", "    tls:\n      pin_sha256:\n" PIN_ITEMS16, NULL },
	};
	char dir[512], text[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct config *c = NULL;
		struct err e = { 0 };
		const char *pin;

		new_dir(dir, sizeof(dir));
		snprintf(text, sizeof(text), "%s%s%s", ADC1, rows[i].tls,
		    base_main + strlen(ADC1));
		put(dir, "lbcert.yaml", text, 0644);
		put(dir, "credentials.yaml", base_cred, 0600);
		put(dir, "profiles/www.yaml", base_prof, 0644);
		if (config_load(dir, &cmd_kinds, &c, &e) != 0)
			fail_msg("case '%s': %s", rows[i].name, e.msg);
		pin = config_device(c, "adc1")->tls.pin_sha256;
		assert_non_null(pin);
		if (rows[i].want != NULL)
			assert_string_equal(pin, rows[i].want);
		else	/* 16 pins of 95 characters and 15 commas */
			assert_int_equal(strlen(pin), 16 * 95 + 15);
		config_free(c);
	}
}

/* dns-01: the dns block, the TSIG secret from credentials.yaml (a file
 * here) and a wildcard profile on that CA. */
static void
dns01_config(void **state)
{
	struct config *c = NULL;
	struct err e = { 0 };
	struct cfg_ca *ca;
	char dir[512];

	(void)state;
	new_dir(dir, sizeof(dir));
	put(dir, "lbcert.yaml", DNS_MAIN("    dns:\n      server: NS1.Example.com\n"
	    "      port: 5353\n      zone: Example.com\n      tsig_name: lbcert-key\n"
	    "      tsig_algorithm: hmac-sha1\n      timeout_s: 30\n"
	    "  le2:\n    type: acme\n    directory: https://acme.example.com/dir\n"
	    "    challenge: dns-01\n    credentials: le2\n" DNS_BLOCK), 0644);
	put(dir, "credentials.yaml", "adc1: { username: nsroot, password: secret-1 }\n"
	    "le: { tsig_secret_file: tsig.key }\nle2: { tsig_secret: c2VjcmV0 }\n", 0600);
	put(dir, "tsig.key", "c2VjcmV0LXNlY3JldA==\n", 0600);
	put(dir, "profiles/wild.yaml", "device: adc1\nca: le\ncommon_name: \"*.example.com\"\n"
	    "subject_alt_names: [example.com]\nvservers: [vs1]\n"
	    "subject: { organization: Example, state: Yorks, country: GB }\n", 0644);
	if (config_load(dir, &cmd_kinds, &c, &e) != 0)
		fail_msg("%s", e.msg);
	ca = &c->cas[0];
	assert_int_equal(ca->challenge, CHALLENGE_DNS01);
	assert_string_equal(ca->dns.server, "NS1.Example.com");
	assert_int_equal(ca->dns.port, 5353);
	assert_string_equal(ca->dns.zone, "example.com");
	assert_string_equal(ca->dns.tsig_name, "lbcert-key");
	assert_string_equal(ca->dns.tsig_algorithm, "hmac-sha1");
	assert_int_equal(ca->dns.timeout_s, 30);
	assert_string_equal(ca->dns.tsig_secret, "c2VjcmV0LXNlY3JldA==");
	ca = &c->cas[1];
	assert_int_equal(ca->dns.port, 53);
	assert_null(ca->dns.zone);
	assert_string_equal(ca->dns.tsig_algorithm, "hmac-sha256");
	assert_int_equal(ca->dns.timeout_s, 120);
	assert_string_equal(ca->dns.tsig_secret, "c2VjcmV0");
	assert_int_equal(c->nprofiles, 1);
	assert_string_equal(c->profiles[0].common_name, "*.example.com");
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dns01_config),
		cmocka_unit_test(bad_inputs),
		cmocka_unit_test(scm_extra_merge),
		cmocka_unit_test(pin_lists),
	};
	log_init(LL_ERROR, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
