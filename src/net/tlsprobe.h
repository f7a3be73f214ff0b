/* Connects to a TLS service as a client would (with SNI) and returns the
 * certificate it serves, for the post-install check of SPEC §1 step 9. */
#ifndef LB_TLSPROBE_H
#define LB_TLSPROBE_H

#include "util/err.h"

/* hostport: "host:port" or "[v6]:port". sni may be NULL. *pem_out is the
 * served leaf in PEM, malloc'd, freed by the caller. No trust check: the
 * caller compares the leaf with the certificate it installed. */
int tlsprobe_leaf(const char *hostport, const char *sni, long timeout_s,
    char **pem_out, struct err *e);

/* Which certificate to ask for: any (what a default client gets), or the
 * one of a key type, offering only that type's signature algorithms and
 * TLS 1.2 cipher suites (a vserver may serve an RSA and an ECDSA
 * certificate side by side and pick by what the client offers). */
enum probe_key { PROBE_ANY_KEY, PROBE_RSA, PROBE_ECDSA };
int tlsprobe_leaf_key(const char *hostport, const char *sni, enum probe_key key,
    long timeout_s, char **pem_out, struct err *e);

#endif
