#pragma once
// Test support: a throwaway PKI made with OpenSSL's library (no openssl command), for the
// mutual-TLS tests. Writes into `dir`: ca.pem/ca-key.pem (a CA), server.pem/server-key.pem
// (CN=server, subjectAltName localhost and 127.0.0.1, serverAuth) and client.pem/
// client-key.pem (CN=client, clientAuth), all P-256 keys signed with SHA-256, valid 2 days.

#include <string>

namespace berth::api::test {

bool makeTestCertificates(const std::string& dir);

}  // namespace berth::api::test
