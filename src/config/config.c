/* The configuration's public entry points: load a directory, look up,
 * describe and free. */

#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "config/secret.h"
#include "net/http.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- public ---- */

static char *
clean_dir(const char *dir)
{
	size_t len = strlen(dir);

	while (len > 1 && dir[len - 1] == '/')
		len--;
	return strndup(dir, len);
}

static void
warn_insecure(const struct config *c)
{
	for (size_t i = 0; i < c->ndevices; i++)
		if (c->devices[i].tls.insecure)
			log_warn("device %s: tls.insecure is true: the "
			    "management certificate is NOT verified; anyone "
			    "on the path can take its credentials",
			    c->devices[i].name);
}

int
config_load(const char *dir, const struct cfg_kinds *kinds, struct config **out,
    struct err *e)
{
	struct loader l = { .e = e, .kinds = kinds };
	struct config *c;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return oom(e);
	l.c = c;
	c->renew_before_days = -1;
	c->key = (struct cfg_key){ KEY_RSA, 2048, CURVE_NONE };
	c->hooks.timeout_s = HOOK_TIMEOUT_DEFAULT;
	c->keep_previous_hours = KEEP_PREVIOUS_DEFAULT;
	l.cred.secret = true;
	if ((c->dir = clean_dir(dir)) == NULL ||
	    (l.main.file = xasprintf("%s/lbcert.yaml", c->dir)) == NULL ||
	    (l.cred.file = xasprintf("%s/credentials.yaml", c->dir)) == NULL) {
		rc = oom(e);
		goto out;
	}
	if ((rc = ydoc_load(&l.main, e)) != 0) {
		/* A missing lbcert.yaml is a configuration error too. */
		if (rc == LB_ENOTFOUND && e != NULL)
			e->code = LB_ECONFIG;
		rc = LB_ECONFIG;
		goto out;
	}
	if ((rc = load_credentials(&l)) != 0 || (rc = parse_main(&l)) != 0 ||
	    (rc = load_profiles(&l)) != 0)
		goto out;
	warn_insecure(c);
out:
	ydoc_free(&l.main);
	ydoc_free(&l.cred);
	if (rc != 0) {
		config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void
wipe(char *s)
{
	if (s == NULL)
		return;
	log_secret_remove(s);
	secret_free(s);
}

void
config_device_free(struct cfg_device *d)
{
	free(d->name);
	free(d->url);
	strv_free(d->peers, d->npeers);
	free(d->credentials);
	free(d->tls.ca_file);
	free(d->tls.pin_sha256);
	free(d->partition);
	free(d->sync_group);
	free(d->username);
	wipe(d->password);
}

static void
scm_extra_free(struct cfg_scm_extra *x)
{
	for (size_t i = 0; i < x->ncustom_fields; i++) {
		free(x->custom_fields[i].name);
		free(x->custom_fields[i].value);
	}
	free(x->custom_fields);
	free(x->dcv_mode);
	free(x->dcv_email);
}

void
config_ca_free(struct cfg_ca *ca)
{
	scm_extra_free(&ca->scm);
	free(ca->name);
	free(ca->ca_file);
	free(ca->url);
	free(ca->customer_uri);
	free(ca->cert_type);
	free(ca->directory);
	strv_free(ca->contact, ca->ncontact);
	free(ca->preferred_chain);
	free(ca->acme_profile);
	strv_free(ca->allow_origins, ca->nallow_origins);
	free(ca->credentials);
	free(ca->login);
	wipe(ca->password);
	wipe(ca->eab_kid);
	wipe(ca->eab_hmac_key);
	free(ca->dns.server);
	free(ca->dns.zone);
	free(ca->dns.tsig_name);
	free(ca->dns.tsig_algorithm);
	wipe(ca->dns.tsig_secret);
}

void
config_profile_free(struct cfg_profile *p)
{
	struct cfg_subject *s = &p->subject;

	free(p->name);
	free(p->group);
	free(p->file);
	free(p->common_name);
	strv_free(p->sans, p->nsans);
	free(s->organization);
	free(s->organizational_unit);
	free(s->locality);
	free(s->state);
	free(s->country);
	free(s->email);
	free(p->object_name);
	for (size_t i = 0; i < p->nvservers; i++) {
		free(p->vservers[i].name);
		free(p->vservers[i].check);
	}
	free(p->vservers);
	free(p->client_ssl.parent);
	free(p->client_ssl.profile);
	free(p->client_ssl.server_name);
	free(p->challenge_vserver);
	free(p->acme_profile);
	scm_extra_free(&p->scm);
	config_hooks_free(&p->hooks);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ndevices; i++)
		config_device_free(&c->devices[i]);
	for (size_t i = 0; i < c->ncas; i++)
		config_ca_free(&c->cas[i]);
	for (size_t i = 0; i < c->nprofiles; i++)
		config_profile_free(&c->profiles[i]);
	free(c->devices);
	free(c->cas);
	free(c->profiles);
	config_hooks_free(&c->hooks);
	free(c->metrics_file);
	free(c->dir);
	free(c);
}

struct cfg_profile *
config_profile(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}

const char *
config_profile_group(const struct cfg_profile *p)
{
	return p->group != NULL ? p->group : p->name;
}

const char *
config_key_type_name(enum key_type t)
{
	return t == KEY_ECDSA ? "ecdsa" : "rsa";
}

struct cfg_device *
config_device(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->ndevices; i++)
		if (strcmp(c->devices[i].name, name) == 0)
			return &c->devices[i];
	return NULL;
}

const char *
config_key_desc(const struct cfg_key *k, char *buf, size_t len)
{
	if (k->type == KEY_RSA)
		snprintf(buf, len, "rsa:%d", k->size);
	else
		snprintf(buf, len, "ecdsa:%s",
		    k->curve == CURVE_P384 ? "P-384" : "P-256");
	return buf;
}
