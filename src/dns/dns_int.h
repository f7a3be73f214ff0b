/* Private to src/dns/: the session and the pieces its files share, and
 * the pure helpers tests/unit/test_dns.c checks. */
#ifndef LB_DNS_INT_H
#define LB_DNS_INT_H

#include <ldns/ldns.h>
#include <stdbool.h>

#include "dns/dns.h"

struct dns {
	const struct cfg_dns *cfg;
	char addr[64];        /* the update server's address, as text */
	ldns_resolver *query; /* queries to the update server, no TSIG */
};

/* A resolver asking addr (text) on port without recursion, no TSIG.
 * NULL when addr is not an address or out of memory. ldns_resolver_deep_free. */
ldns_resolver *dns_resolver_for(const char *addr, int port);

/* The update message for zone: add (TTL ttl, class IN) or delete (class
 * NONE) of the TXT record name → value, unsigned. NULL on a bad name or
 * value, or out of memory. Caller ldns_pkt_free()s. */
ldns_pkt *dns_update_pkt(const char *zone, const char *name, const char *value,
    bool add, uint32_t ttl);

/* Whether the answer holds a TXT record for name whose one string is
 * value. */
bool dns_answer_has_txt(const ldns_pkt *p, const char *name, const char *value);

/* "example.com" from the rdf of a name, without the final dot, lower
 * case. Caller frees; NULL when out of memory. */
char *dns_name_text(const ldns_rdf *dname);

/* The name of a TSIG error code (RFC 8945 §5.3.2: 16 BADSIG, 17 BADKEY,
 * 18 BADTIME, 22 BADTRUNC); "TSIG error N" for others in buf. */
const char *dns_tsig_error_name(unsigned code, char *buf, size_t len);

#endif
