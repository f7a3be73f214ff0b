#include "spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int
num(json_t *o, const char *key, int def)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

static char **
strv(json_t *o, const char *key, size_t *n)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;
	char **out;

	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return NULL;
	out = calloc(json_array_size(a), sizeof(*out));
	json_array_foreach(a, i, v)
		out[(*n)++] = xstrdup(json_string_value(v));
	return out;
}

int
spec_device(json_t *j, struct cfg_device *d)
{
	const char *type = json_string_value(json_object_get(j, "type"));

	memset(d, 0, sizeof(*d));
	if (type == NULL)
		return -1;
	d->type = strcmp(type, "f5-bigip") == 0 ? DEV_F5_BIGIP : DEV_CITRIX_ADC;
	d->name = str(j, "name");
	d->url = str(j, "url");
	d->peers = strv(j, "peers", &d->npeers);
	d->tls.ca_file = str(j, "ca_file");
	d->tls.pin_sha256 = str(j, "pin_sha256");
	d->tls.insecure = json_is_true(json_object_get(j, "insecure"));
	d->username = str(j, "username");
	d->password = str(j, "password");
	d->partition = str(j, "partition");
	if (d->partition == NULL)
		d->partition = xstrdup("Common");
	d->sync_group = str(j, "sync_group");
	d->timeout_s = num(j, "timeout_s", 30);
	d->credentials = xstrdup(d->name);
	return 0;
}

int
spec_profile(json_t *j, struct cfg_device *d, struct cfg_profile *p)
{
	json_t *key = json_object_get(j, "key"), *subj = json_object_get(j, "subject");
	json_t *cs = json_object_get(j, "client_ssl"), *vs = json_object_get(j, "vservers"), *v;
	const char *kt = json_string_value(json_object_get(key, "type"));
	const char *curve = json_string_value(json_object_get(key, "curve"));
	size_t i;

	memset(p, 0, sizeof(*p));
	p->name = str(j, "name");
	p->device = d;
	p->common_name = str(j, "common_name");
	p->sans = strv(j, "sans", &p->nsans);
	p->key.type = kt != NULL && strcmp(kt, "ecdsa") == 0 ? KEY_ECDSA : KEY_RSA;
	p->key.size = p->key.type == KEY_RSA ? num(key, "size", 2048) : 0;
	p->key.curve = p->key.type == KEY_RSA ? CURVE_NONE :
	    (curve != NULL && strcmp(curve, "P-384") == 0 ? CURVE_P384 : CURVE_P256);
	p->subject.organization = str(subj, "organization");
	p->subject.organizational_unit = str(subj, "organizational_unit");
	p->subject.locality = str(subj, "locality");
	p->subject.state = str(subj, "state");
	p->subject.country = str(subj, "country");
	p->subject.email = str(subj, "email");
	p->renew_before_days = num(j, "renew_before_days", -1);
	p->object_name = str(j, "object_name");
	if (p->object_name == NULL)
		p->object_name = xstrdup(p->name);
	p->nvservers = json_array_size(vs);
	p->vservers = calloc(p->nvservers + 1, sizeof(*p->vservers));
	json_array_foreach(vs, i, v) {
		p->vservers[i].name = str(v, "name");
		p->vservers[i].sni = json_is_true(json_object_get(v, "sni"));
		p->vservers[i].check = str(v, "check");
	}
	p->client_ssl.parent = str(cs, "parent");
	if (p->client_ssl.parent == NULL)
		p->client_ssl.parent = xstrdup("/Common/clientssl");
	p->client_ssl.profile = str(cs, "profile");
	if (p->client_ssl.profile == NULL)
		p->client_ssl.profile = xasprintf("%s_clientssl", p->object_name);
	p->client_ssl.sni_default = json_is_true(json_object_get(cs, "sni_default"));
	p->client_ssl.server_name = str(cs, "server_name");
	p->challenge_vserver = str(j, "challenge_vserver");
	return 0;
}

int
spec_ca(json_t *j, struct cfg_ca *c)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *ch = json_string_value(json_object_get(j, "challenge"));
	json_t *org = json_object_get(j, "org_id"), *ct = json_object_get(j, "cert_type");

	memset(c, 0, sizeof(*c));
	if (type == NULL)
		return -1;
	c->type = strcmp(type, "acme") == 0 ? CA_ACME : CA_SECTIGO_SCM;
	c->name = str(j, "name");
	c->ca_file = str(j, "ca_file");
	c->timeout_s = num(j, "timeout_s", 30);
	c->url = str(j, "url");
	c->customer_uri = str(j, "customer_uri");
	c->org_id = json_is_integer(org) ? (long)json_integer_value(org) : 0;
	c->cert_type = json_is_integer(ct) ? xasprintf("%lld", (long long)json_integer_value(ct)) :
	    str(j, "cert_type");
	c->term = num(j, "term", 365);
	c->poll_interval_s = num(j, "poll_interval_s", 10);
	c->poll_timeout_s = num(j, "poll_timeout_s", 600);
	c->directory = str(j, "directory");
	c->contact = strv(j, "contact", &c->ncontact);
	c->challenge = ch != NULL && strcmp(ch, "http-01") == 0 ? CHALLENGE_HTTP01 : CHALLENGE_NONE;
	c->preferred_chain = str(j, "preferred_chain");
	c->credentials = xstrdup(c->name);
	c->login = str(j, "login");
	c->password = str(j, "password");
	c->eab_kid = str(j, "eab_kid");
	c->eab_hmac_key = str(j, "eab_hmac_key");
	return 0;
}

char *
spec_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else if (buf != NULL)
			buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

void
spec_reply(json_t *fields, int rc, const char *error)
{
	json_t *o = fields != NULL ? fields : json_object();
	char *s;

	json_object_set_new(o, "ok", json_boolean(rc == 0));
	if (rc != 0) {
		json_object_set_new(o, "code", json_integer(rc));
		json_object_set_new(o, "error", json_string(error != NULL ? error : ""));
	}
	s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s != NULL ? s : "{\"ok\":false}");
	fflush(stdout);
	free(s);
	json_decref(o);
}
