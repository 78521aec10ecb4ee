// TLS against the mock served over https: an untrusted certificate aborts before any request;
// the same server with its CA given is accepted.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>

#include "mock_process.h"

namespace twoba {
namespace {

using testing::json;
using testing::TempDir;

// Writes a self-signed certificate for IP 127.0.0.1 and its key as PEM files.
bool write_self_signed(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  bool ok = key != nullptr && cert != nullptr;
  if (ok) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    ok = san != nullptr && X509_add_ext(cert, san, -1) == 1 &&
         X509_sign(cert, key, EVP_sha256()) > 0;
    X509_EXTENSION_free(san);
  }
  if (ok) {
    std::FILE* c = std::fopen(cert_path.c_str(), "w");
    std::FILE* k = std::fopen(key_path.c_str(), "w");
    ok = c != nullptr && k != nullptr && PEM_write_X509(c, cert) == 1 &&
         PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (c != nullptr) std::fclose(c);
    if (k != nullptr) std::fclose(k);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

TEST(Tls, UntrustedCertificateAbortsBeforeAnyRequest) {
  TempDir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  ASSERT_TRUE(write_self_signed(cert, key));
  testing::MockServer mock("default.json", {"--tls-cert", cert, "--tls-key", key});
  ASSERT_EQ(mock.base_url().rfind("https://", 0), 0u);
  const auto env = testing::demo_env(mock, dir.path() + "/tokens.json");
  const auto untrusted =
      testing::run_cli({"login", "--username", "demo", "--password", "demo"}, env);
  EXPECT_EQ(untrusted.code, 4) << untrusted.err;
  EXPECT_TRUE(mock.journal().empty()) << "credentials reached a server we do not trust";
  const auto trusted = testing::run_cli(
      {"--ca-file", cert, "login", "--username", "demo", "--password", "demo"}, env);
  EXPECT_EQ(trusted.code, 0) << trusted.err;
  EXPECT_EQ(mock.journal().size(), 1u);
}

}  // namespace
}  // namespace twoba
