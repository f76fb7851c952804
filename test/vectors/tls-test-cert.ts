/**
 * A fixed self-signed TLS certificate and key for the vclient TLS tests (node has no certificate
 * generation). Not a secret: it only ever signs test handshakes between two in-process Clients.
 *
 * How it was made (OpenSSL 3.0.19, 2026-11-22):
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test.local \
 *     -addext "subjectAltName=DNS:test.local,IP:10.0.0.1" -days 3650 -keyout key.pem -out cert.pem
 *
 * The subjectAltName (test.local and 10.0.0.1) lets a client verify it by name with the
 * certificate as its own CA (`ca: TLS_TEST_CERT`). Valid until 2036-11-19.
 */

export const TLS_TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBnDCCAUKgAwIBAgIURQ6yKe6rcTTgsD4TmzYGxc+LpgkwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKdGVzdC5sb2NhbDAeFw0yNjExMjIyMDM1MDdaFw0zNjExMTky
MDM1MDdaMBUxEzARBgNVBAMMCnRlc3QubG9jYWwwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARF1RhNzdCWFUNISNw+b0gVRQIwlWe8qbsfHN1GnmD4ZRMJZ32PzmHl
WxRwSG/JCKMFG50Oqz8/A8TIHm6jtc/Co3AwbjAdBgNVHQ4EFgQUdvfdg0vnHV90
c5SRPgXJ6VAXelswHwYDVR0jBBgwFoAUdvfdg0vnHV90c5SRPgXJ6VAXelswDwYD
VR0TAQH/BAUwAwEB/zAbBgNVHREEFDASggp0ZXN0LmxvY2FshwQKAAABMAoGCCqG
SM49BAMCA0gAMEUCICq735+uQHJWLWvcbklq2kWO6vkOUH9GKpJP3J6tozb6AiEA
0E9xQYKIUuzkX60ivLV02kfLGCqVOF9SK6onwW6Q6dU=
-----END CERTIFICATE-----
`;

export const TLS_TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAIeJBsIP7eYp+Cpk
JBrwOg7IpugS8LpRc1hrFb9RlwehRANCAARF1RhNzdCWFUNISNw+b0gVRQIwlWe8
qbsfHN1GnmD4ZRMJZ32PzmHlWxRwSG/JCKMFG50Oqz8/A8TIHm6jtc/C
-----END PRIVATE KEY-----
`;
