/* ACME documents as the client reads them: problem documents (type,
 * formatting with subproblems, the error code), and the directory, order
 * and authorization objects with the problems and URLs they carry. The
 * first byte picks the HTTP status. */
#include <jansson.h>
#include <stdio.h>

#include "ca/acme_internal.h"
#include "fuzz.h"
#include "util/err.h"

#define BASE "https://ca.example/acme/order/1"

FZ_QUIET_INIT

/* A nested problem (order "error", challenge "error") goes through the
 * same formatter as a response body. */
static void
nested_problem(json_t *pe)
{
	char *txt, *s;

	if (pe == NULL || (txt = json_dumps(pe, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return;
	s = acme_problem_format(txt, strlen(txt), 0);
	FZ_ASSERT(s != NULL);
	free(s);
	free(txt);
}

static void
url(json_t *v)
{
	const char *u = json_string_value(v);

	if (u != NULL)
		free(acme_url_resolve(BASE, u));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 201, 400, 401, 403, 404, 429, 500 };
	const char *body, *t;
	char tbuf[256], *s;
	json_t *j, *v, *ch;
	size_t i;
	long status;
	int code;

	if (size < 1)
		return 0;
	status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	body = (const char *)data + 1;
	size--;

	t = acme_problem_type(body, size, tbuf, sizeof(tbuf));
	FZ_ASSERT(t == NULL || (t == tbuf && strlen(t) < sizeof(tbuf)));
	code = acme_problem_code(t, status);
	FZ_ASSERT(code < 0);
	s = acme_problem_format(body, size, status);
	FZ_ASSERT(s != NULL);
	free(s);

	if ((j = json_loadb(body, size, 0, NULL)) == NULL || !json_is_object(j)) {
		json_decref(j);
		return 0;
	}
	/* directory */
	url(json_object_get(j, "newNonce"));
	url(json_object_get(j, "newAccount"));
	url(json_object_get(j, "newOrder"));
	url(json_object_get(j, "revokeCert"));
	(void)json_is_true(json_object_get(json_object_get(j, "meta"),
	    "externalAccountRequired"));
	/* order */
	(void)json_string_value(json_object_get(j, "status"));
	json_array_foreach(json_object_get(j, "authorizations"), i, v)
		url(v);
	url(json_object_get(j, "finalize"));
	url(json_object_get(j, "certificate"));
	nested_problem(json_object_get(j, "error"));
	/* authorization */
	(void)json_string_value(json_object_get(json_object_get(j, "identifier"), "value"));
	json_array_foreach(json_object_get(j, "challenges"), i, ch) {
		(void)json_string_value(json_object_get(ch, "type"));
		(void)json_string_value(json_object_get(ch, "token"));
		url(json_object_get(ch, "url"));
		nested_problem(json_object_get(ch, "error"));
	}
	json_decref(j);
	return 0;
}
