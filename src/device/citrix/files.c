/* Citrix ADC driver: systemfile (see session.c). */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/x509.h"
#include "device/citrix/citrix.h"
#include "device/device.h"
#include "device/nitro.h"
#include "util/log.h"
#include "util/mem.h"

/* --- files (systemfile) --- */

/* Splits a certkey file reference ("x.crt" or "/nsconfig/ssl/x.crt") into
 * directory and file name. -1 when the directory does not fit in dir: a
 * cut directory would name another place (and a DELETE there). */
static int
file_split(const char *ref, char *dir, size_t dlen, const char **base)
{
	const char *slash = strrchr(ref, '/');
	int n;

	if (slash == NULL) {
		*base = ref;
		n = snprintf(dir, dlen, "%s", SSL_DIR);
	} else {
		*base = slash + 1;
		n = slash == ref ? snprintf(dir, dlen, "/") :
		    snprintf(dir, dlen, "%.*s", (int)(slash - ref), ref);
	}
	return n < 0 || (size_t)n >= dlen ? -1 : 0;
}

/* Whether two file references name the same file (bare names live in
 * /nsconfig/ssl, which is also /flash/nsconfig/ssl). */
bool
cx_file_same(const char *a, const char *b)
{
	char da[256], db[256];
	const char *ba, *bb;

	if (a == NULL || b == NULL)
		return false;
	if (file_split(a, da, sizeof(da), &ba) != 0 || file_split(b, db, sizeof(db), &bb) != 0)
		return strcmp(a, b) == 0;
	if (strcmp(ba, bb) != 0)
		return false;
	for (char *p = da; p != NULL; p = p == da ? db : NULL) {
		size_t l = strlen(p);

		while (l > 1 && p[l - 1] == '/')
			p[--l] = '\0';
		if (strncmp(p, "/flash", 6) == 0)
			memmove(p, p + 6, strlen(p + 6) + 1);
	}
	return strcmp(da, db) == 0;
}

int
cx_file_get(struct device *d, const char *ref, char **content, size_t *len, struct err *e)
{
	json_t *items = NULL;
	const char *base, *b64;
	char dir[256], what[320], *args = NULL;
	int rc;

	*content = NULL;
	if (file_split(ref, dir, sizeof(dir), &base) != 0)
		return err_set(e, LB_ERR, "%s: file %s: directory name too long", d->cfg->name,
		    ref);
	snprintf(what, sizeof(what), "file %s/%s", dir, base);
	if ((args = nitro_args("filename", base, "filelocation", dir, NULL)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		goto out;
	}
	{
		char *q = xasprintf("args=%s", args);

		rc = q != NULL ? cx_get_items(d, "systemfile", NULL, q, what, &items, e) :
		    err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		free(q);
	}
	if (rc != 0)
		goto out;
	if (json_array_size(items) == 0) {
		rc = err_set(e, LB_ENOTFOUND, "%s: %s not found", d->cfg->name, what);
		goto out;
	}
	b64 = nitro_json_str(json_array_get(items, 0), "filecontent");
	if (b64 == NULL || nitro_b64_decode(b64, content, len) != 0) {
		rc = err_set(e, LB_ERR, "%s: %s: filecontent missing or not base64",
		    d->cfg->name, what);
		goto out;
	}
	rc = 0;
out:
	free(args);
	json_decref(items);
	return rc;
}

/* Whether a file exists, from the directory listing (which carries no
 * content: a private key is never downloaded just to see it is there). */
int
cx_file_exists(struct device *d, const char *ref, bool *exists, struct err *e)
{
	json_t *items = NULL, *it;
	const char *base;
	char dir[256], what[320], *args, *ef, *q;
	size_t i;
	int rc;

	*exists = false;
	if (file_split(ref, dir, sizeof(dir), &base) != 0)
		return err_set(e, LB_ERR, "%s: file %s: directory name too long", d->cfg->name,
		    ref);
	snprintf(what, sizeof(what), "directory %s", dir);
	args = nitro_args("filelocation", dir, NULL);
	ef = http_escape(base);
	q = args != NULL && ef != NULL ? xasprintf("args=%s&filter=filename:%s", args, ef) :
	    NULL;
	rc = q != NULL ? cx_get_bindings(d, "systemfile", NULL, q, what, &items, e) :
	    err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	if (rc == 0)
		json_array_foreach(items, i, it)
			if (cx_str_eq(nitro_json_str(it, "filename"), base))
				*exists = true;
	json_decref(items);
	free(args);
	free(ef);
	free(q);
	return rc;
}

/* PEM texts equal but for line endings and trailing blanks. */
static bool
pem_same(const char *a, const char *b)
{
	for (;;) {
		while (*a == '\r')
			a++;
		while (*b == '\r')
			b++;
		if (*a == '\0' || *b == '\0')
			break;
		if (*a != *b)
			return false;
		a++;
		b++;
	}
	while (*a == '\n' || *a == ' ' || *a == '\r')
		a++;
	while (*b == '\n' || *b == ' ' || *b == '\r')
		b++;
	return *a == '\0' && *b == '\0';
}

/* Uploads name (in /nsconfig/ssl); a file of that name with the same
 * content counts as done, another content is an error (never overwrite). */
int
cx_file_put(struct device *d, const char *name, const char *content, struct err *e)
{
	json_t *body;
	char what[128], *b64, *have = NULL;
	int rc;

	snprintf(what, sizeof(what), "file %s/%s", SSL_DIR, name);
	if ((b64 = nitro_b64_encode(content, strlen(content))) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	body = json_pack("{s:{s:s, s:s, s:s, s:s}}", "systemfile", "filename", name,
	    "filecontent", b64, "filelocation", SSL_DIR "/", "fileencoding", "BASE64");
	free(b64);
	rc = cx_write(d, "POST", "systemfile", NULL, body, what, e);
	if (rc != LB_EEXIST)
		return rc;
	err_clear(e);
	if ((rc = cx_file_get(d, name, &have, NULL, e)) != 0)
		return rc;
	if (!pem_same(have, content))
		rc = err_set(e, LB_EEXIST, "%s: %s already exists with other content; "
		    "not overwriting it", d->cfg->name, what);
	free(have);
	return rc;
}

/* Deletes a file; an absent file is fine. */
int
cx_file_del(struct device *d, const char *ref, struct err *e)
{
	const char *base;
	char dir[256], what[320], *args, *q;
	int rc;

	if (file_split(ref, dir, sizeof(dir), &base) != 0)
		return err_set(e, LB_ERR, "%s: file %s: directory name too long, not deleting "
		    "it", d->cfg->name, ref);
	snprintf(what, sizeof(what), "file %s/%s", dir, base);
	args = nitro_args("filelocation", dir, NULL);
	q = args != NULL ? xasprintf("args=%s", args) : NULL;
	rc = q != NULL ? cx_call(d, "DELETE", "systemfile", base, q, NULL, what, NULL, e) :
	    err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	free(args);
	free(q);
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		rc = 0;
	}
	return rc;
}

/* The CSR made with a key file: same stem, ".csr". */
char *
cx_csr_of(const char *key_ref)
{
	size_t l = strlen(key_ref);

	if (l > 4 && strcmp(key_ref + l - 4, ".key") == 0)
		return xasprintf("%.*s.csr", (int)(l - 4), key_ref);
	return xasprintf("%s.csr", key_ref);
}
