/* iControl REST answers as the BIG-IP driver reads them: the error
 * envelope, failover/sync status from a stats tree, PEM text inside a
 * command's output, an ssl-cert's serialNumber. */
#include <jansson.h>
#include <stdio.h>

#include "device/icontrol.h"
#include "fuzz.h"

FZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const labels[] = { "CERTIFICATE REQUEST", "CERTIFICATE" };
	char msg[512], *text, *pem;
	const char *d;
	json_t *root;

	if (icontrol_parse_error((const char *)data, size, msg, sizeof(msg)) == 0)
		FZ_ASSERT(strlen(msg) < sizeof(msg));
	root = json_loadb((const char *)data, size, 0, NULL);
	if ((d = icontrol_stats_desc(root, "failover-status")) != NULL)
		(void)strlen(d);
	if ((d = icontrol_stats_desc(root, "sync-status")) != NULL)
		(void)strlen(d);
	/* util/bash answers {"commandResult": "..."}; raw text too */
	text = fz_str(data, size);
	for (size_t i = 0; i < 2; i++) {
		const char *src = i == 0 ? text :
		    json_string_value(json_object_get(root, "commandResult"));
		for (size_t l = 0; src != NULL && l < 2; l++) {
			if ((pem = icontrol_extract_pem(src, labels[l])) != NULL) {
				FZ_ASSERT(strncmp(pem, "-----BEGIN ", 11) == 0);
				free(pem);
			}
		}
	}
	/* serialNumber as the unit prints it, or as a hostile one might */
	if (icontrol_serial_norm(text, msg, sizeof(msg))) {
		FZ_ASSERT(msg[0] != '\0' && strspn(msg, "0123456789abcdef") == strlen(msg));
		FZ_ASSERT(strcmp(msg, "0") == 0 || msg[0] != '0');
	}
	if ((d = json_string_value(json_object_get(root, "serialNumber"))) != NULL)
		(void)icontrol_serial_norm(d, msg, sizeof(msg));
	free(text);
	json_decref(root);
	return 0;
}
