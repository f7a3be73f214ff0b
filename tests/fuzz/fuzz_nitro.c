/* NITRO answers as the Citrix driver reads them: the error envelope, the
 * resource arrays (a single object or an array), and the fields it
 * converts (dates, serials, subjects, numbers, systemfile content). */
#include <jansson.h>
#include <stdio.h>

#include "device/nitro.h"
#include "fuzz.h"

FZ_QUIET_INIT

static const char *const resources[] = {
	"sslcertkey", "sslcertfile", "systemfile", "sslcertkey_sslvserver_binding",
	"sslvserver_sslcertkey_binding", "sslcertlink", "hanode", "nsversion",
	"sslcertreq", "responderpolicy", "lbvserver", "csvserver", "sslvserver",
};

static void
item(json_t *it)
{
	const char *k, *s;
	json_t *v;
	char buf[130];
	char *content;
	size_t len;
	long l;

	json_object_foreach(it, k, v) {
		(void)nitro_json_long(v, &l);
		if ((s = nitro_json_str(it, k)) == NULL)
			continue;
		(void)nitro_parse_date(s);
		FZ_ASSERT(nitro_serial_norm(s, buf, sizeof(buf)) == buf);
		FZ_ASSERT(strlen(buf) < sizeof(buf));
		free(nitro_dn_cn(s));
		if (strcmp(k, "filecontent") == 0 && nitro_b64_decode(s, &content, &len) == 0) {
			FZ_ASSERT(content[len] == '\0');
			free(content);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[512];
	json_t *root, *items, *it;
	size_t i;
	int code;

	if (nitro_parse_envelope((const char *)data, size, &code, msg, sizeof(msg)) == 0)
		FZ_ASSERT(strlen(msg) < sizeof(msg));
	root = json_loadb((const char *)data, size, 0, NULL);
	for (size_t r = 0; r < sizeof(resources) / sizeof(resources[0]); r++) {
		items = nitro_items(root, resources[r]);
		FZ_ASSERT(json_is_array(items));
		json_array_foreach(items, i, it)
			item(it);
		json_decref(items);
	}
	json_decref(root);
	return 0;
}
