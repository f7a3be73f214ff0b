/* RFC 2136 dynamic update of one TXT record, signed with TSIG (RFC 8945),
 * and the session with the update server. */
#include "dns/dns.h"
#include "dns/dns_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/log.h"
#include "util/mem.h"

#define DNS_TIMEOUT_S 3 /* per query or update sent */
#define TXT_TTL 60      /* short: the record lives for one validation */

ldns_resolver *
dns_resolver_for(const char *addr, int port)
{
	ldns_resolver *r;
	ldns_rdf *ns;

	ns = ldns_rdf_new_frm_str(strchr(addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A,
	    addr);
	if (ns == NULL)
		return NULL;
	if ((r = ldns_resolver_new()) == NULL ||
	    ldns_resolver_push_nameserver(r, ns) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(ns);
		if (r != NULL)
			ldns_resolver_deep_free(r);
		return NULL;
	}
	ldns_rdf_deep_free(ns);
	ldns_resolver_set_port(r, (uint16_t)port);
	ldns_resolver_set_recursive(r, false);
	ldns_resolver_set_timeout(r, (struct timeval){ DNS_TIMEOUT_S, 0 });
	ldns_resolver_set_retry(r, 2);
	ldns_resolver_set_retrans(r, 1);
	ldns_resolver_set_dnsrch(r, false);
	ldns_resolver_set_defnames(r, false);
	return r;
}

/* The first address of host (numeric or resolved) as text. */
static int
resolve_server(const char *host, int port, char *out, size_t len, struct err *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
	const void *a;
	char serv[8];
	int rc;

	snprintf(serv, sizeof(serv), "%d", port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0)
		return err_set(e, LB_EUNREACH, "dns server %s: %s", host, gai_strerror(rc));
	if (res->ai_family == AF_INET6)
		a = &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr;
	else
		a = &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr;
	rc = inet_ntop(res->ai_family, a, out, (socklen_t)len) == NULL;
	freeaddrinfo(res);
	if (rc)
		return err_set(e, LB_EUNREACH, "dns server %s: no usable address", host);
	return 0;
}

int
dns_open(const struct cfg_dns *cfg, struct dns **out, struct err *e)
{
	struct dns *d;
	int rc;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return err_set(e, LB_ERR, "out of memory");
	d->cfg = cfg;
	if ((rc = resolve_server(cfg->server, cfg->port, d->addr, sizeof(d->addr), e)) != 0) {
		free(d);
		return rc;
	}
	if ((d->query = dns_resolver_for(d->addr, cfg->port)) == NULL) {
		free(d);
		return err_set(e, LB_ERR, "dns server %s: cannot make a resolver for %s",
		    cfg->server, d->addr);
	}
	*out = d;
	return 0;
}

void
dns_close(struct dns *d)
{
	if (d == NULL)
		return;
	ldns_resolver_deep_free(d->query);
	free(d);
}

char *
dns_name_text(const ldns_rdf *dname)
{
	char *s = ldns_rdf2str(dname), *out;
	size_t len;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	if (len > 1 && s[len - 1] == '.')
		s[len - 1] = '\0';
	for (char *p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	/* ldns allocates with its own malloc; hand back one of ours */
	out = xstrdup(s);
	free(s);
	return out;
}

const char *
dns_tsig_error_name(unsigned code, char *buf, size_t len)
{
	switch (code) {
	case 16: return "BADSIG";
	case 17: return "BADKEY";
	case 18: return "BADTIME";
	case 22: return "BADTRUNC";
	}
	snprintf(buf, len, "TSIG error %u", code);
	return buf;
}

/* The TXT record name → value; the string is set from its bytes, so no
 * quoting of the value is involved. */
static ldns_rr *
txt_rr(const char *name, const char *value, bool add, uint32_t ttl)
{
	ldns_rr *rr;
	ldns_rdf *owner, *txt;
	size_t len = strlen(value);
	uint8_t buf[256];

	if (len > 255)
		return NULL;
	buf[0] = (uint8_t)len;
	memcpy(buf + 1, value, len);
	if ((owner = ldns_dname_new_frm_str(name)) == NULL)
		return NULL;
	if ((txt = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, len + 1, buf)) == NULL ||
	    (rr = ldns_rr_new()) == NULL) {
		ldns_rdf_deep_free(owner);
		ldns_rdf_deep_free(txt);
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	/* RFC 2136 §2.5.4: class NONE, TTL 0 deletes this one RR */
	ldns_rr_set_class(rr, add ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE);
	ldns_rr_set_ttl(rr, add ? ttl : 0);
	ldns_rr_push_rdf(rr, txt);
	return rr;
}

ldns_pkt *
dns_update_pkt(const char *zone, const char *name, const char *value, bool add,
    uint32_t ttl)
{
	ldns_rr_list *up;
	ldns_rdf *z;
	ldns_rr *rr;
	ldns_pkt *p = NULL;

	if ((rr = txt_rr(name, value, add, ttl)) == NULL)
		return NULL;
	if ((up = ldns_rr_list_new()) == NULL || !ldns_rr_list_push_rr(up, rr)) {
		ldns_rr_free(rr);
		ldns_rr_list_free(up);
		return NULL;
	}
	if ((z = ldns_dname_new_frm_str(zone)) != NULL)
		p = ldns_update_pkt_new(z, LDNS_RR_CLASS_IN, NULL, up, NULL);
	ldns_rr_list_deep_free(up);
	if (p != NULL)
		ldns_pkt_set_random_id(p);
	return p;
}

/* A resolver for the update server that signs with the TSIG key. */
static ldns_resolver *
tsig_resolver(const struct dns *d)
{
	ldns_resolver *r = dns_resolver_for(d->addr, d->cfg->port);
	char alg[32];

	if (r == NULL)
		return NULL;
	/* ldns names algorithms as domain names, with the final dot */
	snprintf(alg, sizeof(alg), "%s.", d->cfg->tsig_algorithm);
	ldns_resolver_set_tsig_keyname(r, d->cfg->tsig_name);
	ldns_resolver_set_tsig_algorithm(r, alg);
	ldns_resolver_set_tsig_keydata(r, d->cfg->tsig_secret);
	return r;
}

/* The user's message for an update the server answered with an error. */
static int
update_refused(const struct dns *d, const ldns_pkt *ans, const char *what, struct err *e)
{
	ldns_rr *t = ldns_pkt_tsig(ans);
	ldns_rdf *terr = t != NULL ? ldns_rr_rdf(t, 5) : NULL;
	unsigned tcode = terr != NULL ? ldns_rdf2native_int16(terr) : 0;
	ldns_lookup_table *rc = ldns_lookup_by_id(ldns_rcodes, ldns_pkt_get_rcode(ans));
	const char *rname = rc != NULL ? rc->name : "?";
	char buf[32];

	if (tcode != 0 || ldns_pkt_get_rcode(ans) == LDNS_RCODE_NOTAUTH)
		return err_set(e, LB_EAUTH, "dns server %s: %s refused: %s%s%s (check "
		    "tsig_name, tsig_algorithm and tsig_secret)", d->cfg->server, what, rname,
		    tcode != 0 ? ", " : "", tcode != 0 ? dns_tsig_error_name(tcode, buf,
		    sizeof(buf)) : "");
	if (ldns_pkt_get_rcode(ans) == LDNS_RCODE_REFUSED)
		return err_set(e, LB_EAUTH, "dns server %s: %s refused: REFUSED (the "
		    "zone does not allow updates with key %s)", d->cfg->server, what,
		    d->cfg->tsig_name);
	return err_set(e, LB_ERR, "dns server %s: %s refused: %s", d->cfg->server, what,
	    rname);
}

/* Signs update q (taken: freed here) with the TSIG key and sends it; what
 * names it in messages. An answer that does not verify is LB_EUNKNOWN: a
 * success unproven, so the update may or may not have been applied. */
static int
send_update(struct dns *d, ldns_pkt *q, const char *what, struct err *e)
{
	ldns_resolver *r = NULL;
	ldns_pkt *ans = NULL;
	ldns_status st;
	int rc;

	if (q == NULL)
		return err_set(e, LB_ERR, "dns: cannot build %s", what);
	ldns_pkt_set_random_id(q);
	if ((r = tsig_resolver(d)) == NULL) {
		ldns_pkt_free(q);
		return err_set(e, LB_ERR, "dns: no resolver for %s", d->addr);
	}
	if ((st = ldns_update_pkt_tsig_add(q, r)) != LDNS_STATUS_OK) {
		rc = err_set(e, LB_ECONFIG, "dns: cannot sign %s with key %s (%s): %s", what,
		    d->cfg->tsig_name, d->cfg->tsig_algorithm, ldns_get_errorstr_by_id(st));
		goto out;
	}
	log_debug("dns: %s at %s port %d", what, d->addr, d->cfg->port);
	st = ldns_send(&ans, r, q);
	if (ans == NULL)
		/* no answer: whether the server applied it is unknown */
		rc = err_set(e, LB_EUNREACH, "dns server %s (%s port %d): no answer to %s: %s",
		    d->cfg->server, d->addr, d->cfg->port, what, ldns_get_errorstr_by_id(st));
	else if (ldns_pkt_get_rcode(ans) != LDNS_RCODE_NOERROR)
		rc = update_refused(d, ans, what, e);
	else if (st != LDNS_STATUS_OK)
		rc = err_set(e, LB_EUNKNOWN, "dns server %s: the answer to %s does not "
		    "verify: %s", d->cfg->server, what, ldns_get_errorstr_by_id(st));
	else
		rc = 0;
out:
	ldns_pkt_free(ans);
	ldns_pkt_free(q);
	ldns_resolver_deep_free(r);
	return rc;
}

int
dns_check_key(struct dns *d, const char *zone, struct err *e)
{
	ldns_rr_list *none = ldns_rr_list_new();
	ldns_pkt *q = NULL;
	ldns_rdf *z;
	char what[300];
	int rc;

	snprintf(what, sizeof(what), "an empty update of zone %s (the key check)", zone);
	/* ldns wants the update section as a list, even an empty one */
	if (none != NULL && (z = ldns_dname_new_frm_str(zone)) != NULL)
		q = ldns_update_pkt_new(z, LDNS_RR_CLASS_IN, NULL, none, NULL);
	ldns_rr_list_free(none);
	/* a key check whose answer does not verify has not passed */
	if ((rc = send_update(d, q, what, e)) == LB_EUNKNOWN)
		e->code = rc = LB_EAUTH;
	return rc;
}

int
dns_txt_update(struct dns *d, const char *zone, const char *name, const char *value,
    bool add, struct err *e)
{
	char what[600];

	snprintf(what, sizeof(what), "the %s of TXT %s in zone %s", add ? "adding" : "deleting",
	    name, zone);
	return send_update(d, dns_update_pkt(zone, name, value, add, TXT_TTL), what, e);
}
