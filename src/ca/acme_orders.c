/* Pure pieces of the ACME order lookup (acme_internal.h): the account's
 * orders list (RFC 8555 7.1.2.1) and whether an order is one lbcert may
 * take over after a newOrder whose answer was lost. */
#include "ca/acme_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/mem.h"

size_t
acme_orders_parse(const char *body, size_t len, char **out, size_t max)
{
	json_t *j = json_loadb(body, len, 0, NULL), *v;
	size_t i, n = 0;

	json_array_foreach(json_object_get(j, "orders"), i, v) {
		if (n < max && json_is_string(v) && (out[n] = xstrdup(json_string_value(v))) != NULL)
			n++;
	}
	json_decref(j);
	return n;
}

static bool
has_name(char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], s) == 0)
			return true;
	return false;
}

bool
acme_order_matches(const char *body, size_t len, char *const *names, size_t nnames)
{
	json_t *j = json_loadb(body, len, 0, NULL), *ids, *id;
	const char *st = json_string_value(json_object_get(j, "status"));
	bool ok = st != NULL && (strcmp(st, "pending") == 0 || strcmp(st, "ready") == 0);
	size_t i, seen = 0;

	ids = json_object_get(j, "identifiers");
	if (!json_is_array(ids) || json_array_size(ids) == 0)
		ok = false;
	/* the same set of DNS names: each identifier one of ours, and each
	 * of ours (counted once) among them */
	json_array_foreach(ids, i, id) {
		const char *type = json_string_value(json_object_get(id, "type"));
		const char *value = json_string_value(json_object_get(id, "value"));

		if (!ok)
			break;
		if (type == NULL || value == NULL || strcmp(type, "dns") != 0 ||
		    !has_name(names, nnames, value))
			ok = false;
	}
	for (i = 0; ok && i < nnames; i++) {
		bool dup = has_name(names, i, names[i]);
		size_t k;

		if (dup)
			continue;
		seen++;
		json_array_foreach(ids, k, id)
			if (strcasecmp(json_string_value(json_object_get(id, "value")),
			    names[i]) == 0)
				break;
		if (k == json_array_size(ids))
			ok = false;
	}
	if (ok && seen != json_array_size(ids))
		ok = false; /* an identifier twice */
	json_decref(j);
	return ok;
}
