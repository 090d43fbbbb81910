#include "api/test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

namespace berth::api::test {
namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

Key newKey() { return Key(EVP_EC_gen("P-256"), &EVP_PKEY_free); }

// A certificate for `key` named CN=`cn`, signed by `issuer` (itself when null) with
// `issuer_key`, carrying `extensions` (NID, value in openssl.cnf syntax). Leaves name their
// CA by key id, so that two test CAs with one name are told apart, as `openssl x509 -req`
// does.
Cert newCert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, long serial,
             const std::vector<std::pair<int, const char*>>& extensions) {
  Cert x(X509_new(), &X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 2 * 24 * 3600);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : x.get();
  X509_set_issuer_name(x.get(), X509_get_subject_name(signer));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, signer, x.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext || !X509_add_ext(x.get(), ext, -1)) return Cert(nullptr, &X509_free);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x.get(), issuer_key, EVP_sha256()) <= 0) return Cert(nullptr, &X509_free);
  return x;
}

bool writePem(const std::string& dir, const std::string& name, X509* cert, EVP_PKEY* key) {
  FILE* c = std::fopen((dir + "/" + name + ".pem").c_str(), "w");
  FILE* k = std::fopen((dir + "/" + name + "-key.pem").c_str(), "w");
  bool ok = c && k && PEM_write_X509(c, cert) &&
            PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  if (c) std::fclose(c);
  if (k) std::fclose(k);
  return ok;
}

}  // namespace

bool makeTestCertificates(const std::string& dir) {
  Key ca_key = newKey(), server_key = newKey(), client_key = newKey();
  if (!ca_key || !server_key || !client_key) return false;
  Cert ca = newCert("berth-test-ca", ca_key.get(), nullptr, ca_key.get(), 1,
                    {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}});
  if (!ca) return false;
  Cert server = newCert("server", server_key.get(), ca.get(), ca_key.get(), 2,
                        {{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                         {NID_ext_key_usage, "serverAuth"},
                         {NID_authority_key_identifier, "keyid:always"}});
  Cert client =
      newCert("client", client_key.get(), ca.get(), ca_key.get(), 3,
              {{NID_ext_key_usage, "clientAuth"}, {NID_authority_key_identifier, "keyid:always"}});
  return server && client && writePem(dir, "ca", ca.get(), ca_key.get()) &&
         writePem(dir, "server", server.get(), server_key.get()) &&
         writePem(dir, "client", client.get(), client_key.get());
}

}  // namespace berth::api::test
