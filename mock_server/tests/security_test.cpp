// Security: the control API's access rule off loopback and over TLS, and TLS with a CA made at
// test time (a client that checks the host name rejects a certificate for another name).
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "reliability_support.h"
#include "server/server.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;

TEST(ControlApiAccess, NonLoopbackHostWithoutAdminTokenIsRefused) {
  ServerOptions options = testing::test_server_options();
  options.host = "0.0.0.0";
  EXPECT_THROW(MockServer server(options), std::invalid_argument);  // refused before binding
  testing::TempDir dir;
  testing::ChildServer child({"--host", "0.0.0.0"}, dir.file("err.log"));
  EXPECT_FALSE(child.ready());
  int status = child.stop(SIGKILL);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
  EXPECT_NE(testing::read_file(dir.file("err.log")).find("--admin-token"), std::string::npos);
}

TEST(ControlApiAccess, AdminTokenIsRequiredWhenSet) {
  ServerOptions options = testing::test_server_options();
  options.admin_token = "admin-token-5d1f08";
  MockServer server(options);
  std::string error;
  ASSERT_TRUE(server.start(&error)) << error;
  httplib::Client client("127.0.0.1", server.port());
  client.set_tcp_nodelay(true);
  auto none = client.Get("/__mock/health");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  auto wrong = client.Get("/__mock/tokens", {{"Authorization", "Bearer admin-token-5d1f09"}});
  EXPECT_EQ(wrong->status, 401);
  auto prefix = client.Get("/__mock/tokens", {{"Authorization", "Bearer admin-token-5d1f08x"}});
  EXPECT_EQ(prefix->status, 401);
  auto right = client.Get("/__mock/tokens", {{"Authorization", "Bearer admin-token-5d1f08"}});
  EXPECT_EQ(right->status, 200);
  // The rest of the mock is not behind the admin token.
  auto discovery = client.Get("/.well-known/openid-configuration");
  EXPECT_EQ(discovery->status, 200);
  server.stop();
}

TEST(ControlApiAccess, AdminTokenIsRequiredOverTlsToo) {
  testing::TestCertificate certificate;
  ServerOptions options = testing::test_server_options();
  options.admin_token = "admin-token-5d1f08";
  options.tls_cert = certificate.cert();
  options.tls_key = certificate.key();
  MockServer server(options);
  std::string error;
  ASSERT_TRUE(server.start(&error)) << error;
  auto get = [&](const std::vector<std::string>& headers) {
    return testing::raw_exchange(
        server.port(), testing::raw_request("GET", "/__mock/tokens", "", headers), 5000, true);
  };
  EXPECT_EQ(get({}).status, 401);
  EXPECT_EQ(get({"Authorization: Bearer admin-token-5d1f09"}).status, 401);
  EXPECT_EQ(get({"Authorization: Bearer admin-token-5d1f08"}).status, 200);
  server.stop();
}

class TlsTest : public ::testing::Test {
 protected:
  static void run(const std::string& command) {
    ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
  }
  // A CA and two server certificates signed by it: one for localhost/127.0.0.1, one for
  // another name.
  void SetUp() override {
    const std::string d = dir_.path();
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
        "/CN=test-ca -keyout " +
        d + "/ca.key -out " + d + "/ca.pem");
    for (const std::string name : {"good", "other"}) {
      std::string san = name == "good" ? "DNS:localhost,IP:127.0.0.1" : "DNS:other.example";
      std::string cn = name == "good" ? "localhost" : "other.example";
      testing::write_file(dir_.file(name + ".ext"), "subjectAltName=" + san + "\n");
      run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn +
          " -keyout " + d + "/" + name + ".key -out " + d + "/" + name + ".csr");
      run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/ca.pem -CAkey " + d +
          "/ca.key -CAcreateserial -days 2 -extfile " + d + "/" + name + ".ext -out " + d + "/" +
          name + ".pem");
    }
  }

  std::unique_ptr<MockServer> serve(const std::string& name) {
    ServerOptions options = testing::test_server_options();
    options.tls_cert = dir_.file(name + ".pem");
    options.tls_key = dir_.file(name + ".key");
    auto server = std::make_unique<MockServer>(options);
    std::string error;
    EXPECT_TRUE(server->start(&error)) << error;
    EXPECT_TRUE(starts_with(server->base_url(), "https://"));
    return server;
  }

  httplib::Result get(const std::string& host, int port, const std::string& ca) {
    httplib::SSLClient client(host, port);
    client.set_tcp_nodelay(true);
    client.set_ca_cert_path(ca.c_str());
    client.enable_server_certificate_verification(true);  // checks the chain and the host name
    return client.Get("/.well-known/openid-configuration");
  }

  testing::TempDir dir_;
};

TEST_F(TlsTest, TrustedCertificateForTheHostIsAccepted) {
  auto server = serve("good");
  auto res = get("localhost", server->port(), dir_.file("ca.pem"));
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(starts_with(json::parse(res->body)["token_endpoint"].get<std::string>(), "https://"));
  // The token endpoint works over TLS too (control requests are not logged; the other 7 are).
  httplib::SSLClient client("localhost", server->port());
  client.set_ca_cert_path(dir_.file("ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  auto token = client.Post("/OAuth/Token",
                           "grant_type=password&username=demo&password=demo&client_id=demo-client&"
                           "client_secret=demo-secret",
                           "application/x-www-form-urlencoded");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 200);
  server->stop();
}

TEST_F(TlsTest, AFaultWithAnEmptyBodyStaysEmptyOverTls) {
  auto server = serve("good");
  httplib::SSLClient client("localhost", server->port());
  client.set_ca_cert_path(dir_.file("ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  auto fault = client.Post("/__mock/faults", R"({"path":"/OAuth/Token","status":400,"body":""})",
                           "application/json");
  ASSERT_TRUE(fault);
  ASSERT_EQ(fault->status, 200) << fault->body;
  auto bare =
      client.Post("/OAuth/Token", "grant_type=password", "application/x-www-form-urlencoded");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->status, 400);
  EXPECT_EQ(bare->body, "");  // as over plain HTTP: cpp-httplib's error handler must not fill it
  auto framing = client.Get("/" + std::string(9000, 'a'));  // cpp-httplib's own 414
  ASSERT_TRUE(framing);
  EXPECT_EQ(json::parse(framing->body)["error"], "invalid_request");
  server->stop();
}

TEST_F(TlsTest, CertificateForAnotherNameIsRejected) {
  auto server = serve("other");
  auto res = get("localhost", server->port(), dir_.file("ca.pem"));
  EXPECT_FALSE(res) << "a certificate for other.example was accepted for localhost";
  if (!res) {
    EXPECT_EQ(res.error(), httplib::Error::SSLServerVerification);
  }
  // The same server is fine for a client that does not check (the mock itself is not broken).
  httplib::SSLClient lax("localhost", server->port());
  lax.enable_server_certificate_verification(false);
  auto ok = lax.Get("/.well-known/openid-configuration");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  server->stop();
}

TEST_F(TlsTest, CertificateFromAnUntrustedCaIsRejected) {
  auto server = serve("good");
  run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
      "/CN=other-ca -keyout " +
      dir_.file("x.key") + " -out " + dir_.file("other-ca.pem"));
  auto res = get("localhost", server->port(), dir_.file("other-ca.pem"));
  EXPECT_FALSE(res);
  server->stop();
}

TEST_F(TlsTest, CertificateWithoutItsKeyIsRefusedAtStart) {
  ServerOptions options = testing::test_server_options();
  options.tls_cert = dir_.file("good.pem");
  options.tls_key = dir_.file("other.key");
  EXPECT_THROW(MockServer server(options), std::invalid_argument);
}

}  // namespace
}  // namespace mock2ba
