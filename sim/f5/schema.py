"""The iControl REST objects the simulator knows: directories on the box, each
kind's properties and the collections under /mgmt/tm."""


UPLOAD_DIR = "/var/config/rest/downloads"
BULK_DIR = "/var/config/rest/bulk"
CSR_DIR = "/config/ssl/ssl.csr"
# Where util/unix-mv may put a file (SIM CHOICE: the REST worker's own
# directories and the temporary ones; a real unit refuses other targets
# for a non-root REST user (unverified which)).
MV_TARGETS = (UPLOAD_DIR, BULK_DIR, "/var/tmp", "/shared/tmp")
CHUNK_MAX = 1024 * 1024
TOKEN_MAX_TIMEOUT = 36000
# Active tokens per user; "admin" is exempt (reference §1.3).
TOKENS_PER_USER = 100

# Allowed JSON properties per collection (besides the common ones).
COMMON_PROPS = {"name", "partition", "fullPath", "kind", "generation",
                "selfLink", "description", "subPath", "appService"}
PROPS = {
    "cert": {"sourcePath", "command", "from-local-file", "fromLocalFile",
             "checksum", "isBundle"},
    "key": {"sourcePath", "passphrase", "securityType", "keyType", "keySize",
            "curveName", "command", "from-local-file", "fromLocalFile",
            "commonName", "organization", "ou", "city", "state", "country",
            "emailAddress", "subjectAlternativeName",
            "subject-alternative-name", "options", "checksum"},
    "csr": {"key", "commonName", "organization", "ou", "city", "state",
            "country", "emailAddress", "subjectAlternativeName",
            "subject-alternative-name", "challengePassword", "passphrase"},
    "clientssl": {"defaultsFrom", "certKeyChain", "serverName", "sniDefault",
                  "sniRequire", "cert", "key", "chain", "passphrase",
                  "ciphers", "options", "inheritCertkeychain"},
    "http": {"defaultsFrom"},
    "tcp": {"defaultsFrom"},
    "virtual": {"destination", "mask", "ipProtocol", "profiles", "rules",
                "source", "pool", "sourceAddressTranslation", "enabled",
                "disabled"},
    "rule": {"apiAnonymous"},
    "datagroup": {"type", "records"},
}
CKC_PROPS = {"name", "cert", "key", "chain", "passphrase", "appService",
             "certReference", "keyReference", "chainReference", "usage"}

COLLECTIONS = [
    ("sys/file/ssl-cert", "cert", "tm:sys:file:ssl-cert:ssl-certstate", "Certificate File"),
    ("sys/crypto/cert", "cert", "tm:sys:crypto:cert:certstate", "Certificate"),
    ("sys/file/ssl-key", "key", "tm:sys:file:ssl-key:ssl-keystate", "Key File"),
    ("sys/crypto/key", "key", "tm:sys:crypto:key:keystate", "Key"),
    ("sys/crypto/csr", "csr", "tm:sys:crypto:csr:csrstate", "CSR"),
    ("ltm/profile/client-ssl", "clientssl", "tm:ltm:profile:client-ssl:client-sslstate", "ClientSSL Profile"),
    ("ltm/profile/http", "http", "tm:ltm:profile:http:httpstate", "HTTP Profile"),
    ("ltm/profile/tcp", "tcp", "tm:ltm:profile:tcp:tcpstate", "TCP Profile"),
    ("ltm/virtual", "virtual", "tm:ltm:virtual:virtualstate", "Virtual Server"),
    ("ltm/rule", "rule", "tm:ltm:rule:rulestate", "Rule"),
    ("ltm/data-group/internal", "datagroup", "tm:ltm:data-group:internal:internalstate", "Data Group"),
]
