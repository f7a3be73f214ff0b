/* ACME account: the key and account URL kept in the state directory,
 * registration with External Account Binding. */
#include "ca/acme_client.h"
#include "ca/acme_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/jws.h"
#include "crypto/x509.h"
#include "util/log.h"
#include "util/mem.h"

static int
write_private(const char *path, const char *text, struct err *e)
{
	/* one temporary name per call: run --jobs workers of the same CA may
	 * save the account at once (mkostemp makes the file 0600) */
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd = -1, rc = LB_ERR;
	size_t len = strlen(text);
	ssize_t n;

	if (tmp == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		rc = err_set(e, LB_ERR, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	errno = 0;
	if ((n = write(fd, text, len)) != (ssize_t)len || fsync(fd) != 0) {
		rc = err_set(e, LB_ERR, "%s: %s", tmp, n >= 0 && errno == 0 ? "short write" :
		    strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		rc = err_set(e, LB_ERR, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* The cached account URL, when it belongs to this directory. */
static void
account_load(struct ca *c)
{
	json_t *j = json_load_file(c->acct_path, 0, NULL);
	const char *d = acme_jstr(j, "directory"), *a = acme_jstr(j, "account");

	if (d != NULL && a != NULL && strcmp(d, c->cfg->directory) == 0)
		c->kid = xstrdup(a);
	json_decref(j);
}

static int
account_save(struct ca *c, struct err *e)
{
	json_t *j = json_pack("{s:s, s:s}", "directory", c->cfg->directory,
	    "account", c->kid);
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	int rc;

	json_decref(j);
	if (text == NULL)
		return err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
	rc = write_private(c->acct_path, text, e);
	free(text);
	if (rc != 0)
		err_prefix(e, "acme %s: account cache", c->cfg->name);
	return rc;
}

static int
account_payload(struct ca *c, const char *url, char **out, struct err *e)
{
	const struct cfg_ca *cfg = c->cfg;
	json_t *p = json_pack("{s:b}", "termsOfServiceAgreed", 1), *eab = NULL;
	json_t *contact = json_array();
	int rc = LB_ERR;

	*out = NULL;
	if (p == NULL || contact == NULL)
		goto oom;
	for (size_t i = 0; i < cfg->ncontact; i++)
		if (json_array_append_new(contact, json_string(cfg->contact[i])) != 0)
			goto oom;
	if (cfg->ncontact > 0 && json_object_set(p, "contact", contact) != 0)
		goto oom;
	if (cfg->eab_kid != NULL) {
		if (cfg->eab_hmac_key == NULL) {
			rc = err_set(e, LB_ECONFIG, "acme %s: eab_kid is set but eab_hmac_key "
			    "is not (credentials %s)", cfg->name,
			    cfg->credentials ? cfg->credentials : "?");
			goto out;
		}
		if ((rc = jws_eab(c->key, cfg->eab_kid, cfg->eab_hmac_key, url, &eab, e)) != 0) {
			err_prefix(e, "acme %s", cfg->name);
			goto out;
		}
		if (json_object_set(p, "externalAccountBinding", eab) != 0)
			goto oom;
	}
	if ((*out = json_dumps(p, JSON_COMPACT)) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	rc = err_set(e, LB_ERR, "acme %s: out of memory", cfg->name);
out:
	json_decref(eab);
	json_decref(contact);
	json_decref(p);
	return rc;
}

int
acme_account_register(struct ca *c, struct err *e)
{
	const struct cfg_ca *cfg = c->cfg;
	const char *url = acme_jstr(c->dir, "newAccount"), *loc;
	struct http_resp r = { 0 };
	char *payload = NULL;
	int rc;

	if (acme_eab_required(c) && cfg->eab_kid == NULL)
		return err_set(e, LB_ECONFIG, "acme %s: the CA requires External Account "
		    "Binding (meta.externalAccountRequired): set eab_kid and eab_hmac_key "
		    "in credentials entry '%s'", cfg->name,
		    cfg->credentials ? cfg->credentials : cfg->name);
	if ((rc = account_payload(c, url, &payload, e)) != 0)
		return rc;
	if ((rc = acme_post(c, url, payload, true, NULL, &r, e)) != 0)
		goto out;
	if (r.status != 200 && r.status != 201) {
		rc = acme_problem(c, "newAccount", &r, e);
		goto out;
	}
	if ((loc = http_resp_header(&r, "location")) == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: newAccount: HTTP %ld without Location",
		    cfg->name, r.status);
		goto out;
	}
	if ((rc = acme_check_url(c, loc, e)) != 0)
		goto out;
	c->kid = xstrdup(loc);
	log_info("acme %s: %s account %s", cfg->name,
	    r.status == 201 ? "registered" : "found existing", c->kid);
	rc = account_save(c, e);
out:
	free(payload);
	http_resp_free(&r);
	return rc;
}

int
acme_ensure_account(struct ca *c, struct err *e)
{
	int rc;

	if (c->kid != NULL)
		return 0;
	if ((rc = acme_directory(c, e)) != 0)
		return rc;
	if (c->key == NULL) {
		if ((rc = jws_key_load_or_create(c->key_path, JWS_KEY_EC_P256, &c->key, e)) != 0)
			return err_prefix(e, "acme %s", c->cfg->name);
		if ((rc = jws_thumbprint(c->key, &c->thumb, e)) != 0)
			return err_prefix(e, "acme %s", c->cfg->name);
	}
	account_load(c);
	if (c->kid != NULL)
		return 0;
	return acme_account_register(c, e);
}
