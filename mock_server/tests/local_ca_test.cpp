// --https: the local CA and the server certificate it signs, checked by a verifying TLS client.
#include "http/local_ca.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "test_server.h"

namespace mock2ba::testing {
namespace {

class LocalCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("local-ca-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  LocalTlsFiles make(const std::string& sub = "") {
    std::string error;
    auto files =
        make_local_tls((dir_ / sub).string(), local_certificate_names("127.0.0.1"), &error);
    EXPECT_TRUE(files) << error;
    if (files) files->lock.reset();  // as mock_server does once the server has loaded them
    return files.value_or(LocalTlsFiles{});
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Status of GET /__mock/health over HTTPS to `server` from a client that trusts only `ca_file`
  // and checks the host name; 0 when the TLS handshake is refused.
  static int health_status(const TestServer& server, const std::string& host,
                           const std::string& ca_file) {
    httplib::SSLClient client(host, server.port());
    client.set_ca_cert_path(ca_file.c_str());
    client.enable_server_certificate_verification(true);
    auto result = client.Get("/__mock/health");
    return result ? result->status : 0;
  }

  std::filesystem::path dir_;
};

TEST_F(LocalCaTest, AVerifyingClientTrustsTheServerThroughTheCa) {
  LocalTlsFiles files = make();
  ServerOptions options;
  options.tls_cert = files.cert_file;
  options.tls_key = files.key_file;
  TestServer server("default", options);
  EXPECT_EQ(server.base_url().rfind("https://127.0.0.1:", 0), 0u);
  EXPECT_EQ(health_status(server, "127.0.0.1", files.ca_file), 200);
  EXPECT_EQ(health_status(server, "localhost", files.ca_file), 200);

  // Another CA does not vouch for this server: the client refuses the handshake.
  LocalTlsFiles other = make("other");
  EXPECT_EQ(health_status(server, "127.0.0.1", other.ca_file), 0);
}

TEST_F(LocalCaTest, TheCaIsKeptAcrossStartsAndKeysAreNotWorldReadable) {
  LocalTlsFiles first = make();
  std::string ca = read(first.ca_file);
  std::string cert = read(first.cert_file);
  LocalTlsFiles second = make();
  EXPECT_EQ(read(second.ca_file), ca);      // a client set up to trust it keeps working
  EXPECT_NE(read(second.cert_file), cert);  // a fresh certificate each start
  for (const auto& key : {second.key_file, (dir_ / "ca-key.pem").string()}) {
    struct stat st {};
    ASSERT_EQ(::stat(key.c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0077, 0u) << key;
  }
}

TEST_F(LocalCaTest, CertificateNamesCoverLoopbackAndTheListeningHost) {
  EXPECT_EQ(local_certificate_names("127.0.0.1"),
            (std::vector<std::string>{"localhost", "127.0.0.1", "::1"}));
  EXPECT_EQ(local_certificate_names("[::1]"),
            (std::vector<std::string>{"localhost", "127.0.0.1", "::1"}));
  EXPECT_EQ(local_certificate_names("mock.test").back(), "mock.test");
  EXPECT_EQ(local_certificate_names("0.0.0.0").size(), 4u);  // and this machine's name
}

TEST_F(LocalCaTest, PublicHostsAreAddedOnceAfterTheListeningHost) {
  EXPECT_EQ(local_certificate_names("127.0.0.1", {"twoba-mock", "localhost", "10.89.0.7"}),
            (std::vector<std::string>{"localhost", "127.0.0.1", "::1", "twoba-mock", "10.89.0.7"}));
  auto wildcard = local_certificate_names("0.0.0.0", {"twoba-mock"});
  EXPECT_EQ(wildcard.size(), 5u);  // this machine's name, then the public host
  EXPECT_EQ(wildcard.back(), "twoba-mock");
}

// The certificate --https makes with --public-host names the service alias (as a DNS name) and an
// address (as an IP), and no other name: what a verifying client checks against the URL's host.
TEST_F(LocalCaTest, TheCertificateNamesThePublicHosts) {
  std::string error;
  auto files = make_local_tls(
      dir_.string(), local_certificate_names("0.0.0.0", {"twoba-mock", "10.89.0.7"}), &error);
  ASSERT_TRUE(files) << error;
  files->lock.reset();
  FILE* file = std::fopen(files->cert_file.c_str(), "r");
  ASSERT_NE(file, nullptr);
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert, "twoba-mock", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "10.89.0.7", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(cert, "other-mock", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_host(cert, "10.89.0.7", 0, 0, nullptr), 0);  // an address is no DNS name
  EXPECT_EQ(X509_check_ip_asc(cert, "10.89.0.8", 0), 0);
  X509_free(cert);
}

// A second mock on the same folder waits for the first to load its files.
TEST_F(LocalCaTest, TheFolderIsLockedUntilTheFilesAreLoaded) {
  std::string error;
  auto first = make_local_tls(dir_.string(), {"localhost"}, &error);
  ASSERT_TRUE(first) << error;
  std::atomic<bool> second_done{false};
  std::thread second([&] {
    std::string second_error;
    EXPECT_TRUE(make_local_tls(dir_.string(), {"localhost"}, &second_error)) << second_error;
    second_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(second_done);
  first->lock.reset();
  second.join();
  EXPECT_TRUE(second_done);
}

TEST_F(LocalCaTest, AFolderThatCannotBeMadeIsAnError) {
  std::string error;
  std::ofstream(dir_.string());  // a file where the folder should be
  EXPECT_FALSE(make_local_tls((dir_ / "sub").string(), {"localhost"}, &error));
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
  std::filesystem::remove(dir_);
}

}  // namespace
}  // namespace mock2ba::testing
