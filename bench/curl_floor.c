/*
 * The memory floor of lbcert's libraries: one HTTPS GET with libcurl and
 * nothing else, linked against every library lbcert links. bench/enroll.py
 * --floor runs it against the appliance simulator and prints its peak RSS
 * beside lbcert's, so an enrollment's memory can be read against what
 * Debian's libcurl costs to load and use once.
 *
 * usage: curl-floor URL CA_FILE
 */
#include <curl/curl.h>
#include <jansson.h>
#include <ldns/ldns.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <yaml.h>

static size_t
discard(char *data, size_t size, size_t n, void *unused)
{
	(void)data;
	(void)unused;
	return size * n;
}

/* Touch one symbol of each library lbcert links, so --as-needed keeps them. */
static void
link_all(void)
{
	(void)sqlite3_libversion();
	(void)yaml_get_version_string();
	(void)jansson_version_str();
	(void)OpenSSL_version_num();
	(void)ldns_version();
}

int
main(int argc, char **argv)
{
	CURL *c;
	CURLcode rc;

	if (argc != 3) {
		fprintf(stderr, "usage: curl-floor URL CA_FILE\n");
		return 2;
	}
	link_all();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if ((c = curl_easy_init()) == NULL) {
		curl_global_cleanup();
		return 1;
	}
	curl_easy_setopt(c, CURLOPT_URL, argv[1]);
	curl_easy_setopt(c, CURLOPT_CAINFO, argv[2]);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fprintf(stderr, "curl-floor: %s\n", curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return rc == CURLE_OK ? 0 : 1;
}
