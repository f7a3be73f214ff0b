#!/usr/bin/env python3
"""Sectigo Certificate Manager REST simulator (classic header auth).

Serves /api/ssl/v1/{types,enroll,<id>,collect,revoke} on 127.0.0.1 over
HTTPS, with its own root + intermediate CA made by the openssl command, as
described in ../shared/reference/sectigo-scm-acme.md sections 1-3:

- every /api request carries the headers login, password, customerUri;
  anything else is 401 {"code": -16, "description": "Unknown user"};
- errors are {"code": <negative int>, "description": "..."} with status 400
  (404 for an unknown sslId, 401 for auth);
- enroll is strict: unknown fields or wrong JSON types are -1002 "Cannot
  parse message body" (what the Java backend answers for a body it cannot
  bind; the doc only shows it for a non-JSON body, so the code for unknown
  fields is inferred), missing fields -7, bad orgId -639, bad certType -39,
  term not in the profile -36, undecodable CSR -10, unsupported key -11/-13,
  a name under --refuse-domain -107;
- collect answers 400 {"code": -183, "description": "Certificate is not
  collectable."} for the first --pending collects of each sslId, then the
  certificate. Chain order per format follows the reference: x509 and pem
  come root first (root, intermediate, leaf: "the doc example output starts
  with the root", sguidia reverses pem), x509R leaf first, x509IO root then
  intermediate, x509IOR intermediate then root, pemia leaf then issuers;
  the reference marks the order as observed, not specified.
- revoke/{sslId}, revoke/serial/{serial} and revoke/manual answer 204.
  reasonCode is an integer (the 25.5 doc) or, with --revoke-reason string,
  a string of the same codes (the newer OpenAPI's enum); the other type is
  -1002 "Cannot parse message body", as for any field the backend cannot
  bind.
- the tenant as configured: GET customFields lists --custom-field
  NAME[:mandatory] ([{id, name, mandatory}]); an enroll without a value for
  a mandatory field is -62 (the doc's "missing mandatory custom field"), a
  field the tenant does not define is -1002 (SIM CHOICE: the doc names no
  code). --dcv-required (a tenant without DCV pre-validation) makes dcvMode
  required in enroll: -7 "dcvMode is required but missing".
- GET /api/ssl/v1?commonName=&size=&position= lists requests
  [{sslId, commonName, subjectAlternativeNames, serialNumber}] with
  X-Total-Count; --list-id id names the id "id" instead (the details call
  sslId deprecated in favour of id; a client must take either).
- --collect-form picks which collect URL forms exist (the reference gives
  both): "both" (default), "query" (/collect/{id}?format=, the current doc;
  the path form is then 404), "path" (/collect/{id}/{format}, what pycm, KF,
  sguidia call; /collect/{id} is then 404), "default-only" (the query form
  exists but ignores format= and serves the documented default, base64 =
  PKCS#7 PEM). --pending-style empty answers a not-yet-collectable
  certificate with an empty 200 body (what sguidia handles) instead of
  400/-183.

Test-only endpoints: GET /_sim/state, GET /_sim/requests, POST /_sim/requests/clear,
POST /_sim/fault {"fail_next": {path_contains, status, count, code?, description?,
drop?}}: drop "before" closes the connection without processing the request,
drop "after" processes it (an enroll is issued) and then closes the connection
without answering, as a lost answer.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scm.server import main  # noqa: E402

if __name__ == "__main__":
    main()
