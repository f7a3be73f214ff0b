/* ACME dns-01 (RFC 8555 §8.4): the _acme-challenge TXT record of one
 * authorization, put in DNS before the challenge is answered and taken
 * out afterwards, whatever the outcome. */
#include "ca/acme_client.h"
#include "ca/acme_internal.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/jws.h"
#include "dns/dns.h"
#include "util/log.h"
#include "util/mem.h"

char *
acme_dns01_name(const char *ident)
{
	/* a wildcard's record is its base domain's */
	if (strncmp(ident, "*.", 2) == 0)
		ident += 2;
	return xasprintf("_acme-challenge.%s", ident);
}

char *
acme_dns01_value(const char *keyauth)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(keyauth, strlen(keyauth), md, &mdlen, EVP_sha256(), NULL))
		return NULL;
	return jws_b64url_encode(md, mdlen);
}

struct acme_dns01 {
	struct dns *dns;
	char *zone;
	char *name;
	char *value;
};

static void
dns01_free(struct acme_dns01 *s)
{
	if (s == NULL)
		return;
	dns_close(s->dns);
	free(s->zone);
	free(s->name);
	free(s->value);
	free(s);
}

void
acme_dns01_withdraw(struct ca *c, struct acme_dns01 *s)
{
	struct err e = { 0 };

	if (s == NULL)
		return;
	if (dns_txt_update(s->dns, s->zone, s->name, s->value, false, &e) != 0)
		log_warn("acme %s: the TXT record %s stays in zone %s: %s", c->cfg->name,
		    s->name, s->zone, e.msg);
	else
		log_info("acme %s: deleted the dns-01 TXT record %s", c->cfg->name, s->name);
	dns01_free(s);
}

int
acme_dns01_publish(struct ca *c, const char *ident, const char *keyauth,
    struct acme_dns01 **out, struct err *e)
{
	struct acme_dns01 *s;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return err_set(e, LB_ERR, "out of memory");
	s->name = acme_dns01_name(ident);
	s->value = acme_dns01_value(keyauth);
	if (s->name == NULL || s->value == NULL) {
		dns01_free(s);
		return err_set(e, LB_ERR, "out of memory");
	}
	if ((rc = dns_open(&c->cfg->dns, &s->dns, e)) != 0 ||
	    (rc = dns_zone_of(s->dns, s->name, &s->zone, e)) != 0) {
		dns01_free(s);
		return rc;
	}
	rc = dns_txt_update(s->dns, s->zone, s->name, s->value, true, e);
	if (rc != 0 && rc != LB_EUNREACH && rc != LB_EUNKNOWN) {
		/* refused: nothing was added */
		dns01_free(s);
		return rc;
	}
	if (rc == 0) {
		log_info("acme %s: added the dns-01 TXT record %s in zone %s; waiting for its "
		    "name servers", c->cfg->name, s->name, s->zone);
		rc = dns_txt_wait(s->dns, s->zone, s->name, s->value, e);
	}
	if (rc != 0) {
		/* the add may have reached the server even without an answer */
		acme_dns01_withdraw(c, s);
		return rc;
	}
	*out = s;
	return 0;
}

int
acme_dns01_check(struct ca *c, const struct cfg_profile *p, struct err *e)
{
	struct dns *d = NULL;
	char *name, *zone = NULL;
	int rc;

	if ((name = acme_dns01_name(p->common_name)) == NULL)
		return err_set(e, LB_ERR, "out of memory");
	if ((rc = dns_open(&c->cfg->dns, &d, e)) == 0 &&
	    (rc = dns_zone_of(d, name, &zone, e)) == 0 &&
	    (rc = dns_check_key(d, zone, e)) == 0)
		log_debug("acme %s: dns server %s takes key %s for zone %s", c->cfg->name,
		    c->cfg->dns.server, c->cfg->dns.tsig_name, zone);
	if (rc != 0)
		err_prefix(e, "acme %s: dns-01", c->cfg->name);
	dns_close(d);
	free(zone);
	free(name);
	return rc;
}
