// Security: the control API's access rule, secrets kept out of the logs, and TLS with a CA made
// at test time (a client that checks the host name rejects a certificate for another name).
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "http/form.h"
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

// Runs a session that uses every kind of secret, then greps the log for each of them.
void expect_log_free_of_secrets(const std::string& format) {
  testing::TempDir dir;
  const std::string client_secret = "cs-7Qv3xZp9Lm2w";
  const std::string password = "pw-Hk4s8JdQ1rTy";
  const std::string wrong_password = "pw-wrong-Ue6nB0c";
  const std::string admin = "admin-Rz5tY8uI3oPa";
  const std::string verifier = "verifier-Xc2Vb7Nm4Qw9Er6Ty1Ui8Op3As5Df0GhJkLzxcv";
  json fixture = {{"clients",
                   {{{"client_id", "app"},
                     {"client_secret", client_secret},
                     {"redirect_uris", {"http://127.0.0.1/callback"}}}}},
                  {"users", {{{"username", "alice"}, {"password", password}}}}};
  testing::write_file(dir.file("fixture.json"), fixture.dump());
  testing::ChildServer server(
      {"--fixture", dir.file("fixture.json"), "--log-format", format, "--admin-token", admin},
      dir.file("log.txt"));
  ASSERT_TRUE(server.ready()) << testing::read_file(dir.file("log.txt"));
  httplib::Client client("127.0.0.1", server.port());
  client.set_tcp_nodelay(true);
  const char* kForm = "application/x-www-form-urlencoded";
  std::vector<std::string> secrets = {client_secret, password, wrong_password, admin, verifier};

  auto login = client.Post("/OAuth/Token?password=" + password,
                           "grant_type=password&username=alice&password=" + password +
                               "&client_id=app&client_secret=" + client_secret,
                           kForm);
  ASSERT_TRUE(login && login->status == 200);
  json tokens = json::parse(login->body);
  const std::string first_refresh = tokens["refresh_token"];
  const httplib::Headers basic = {
      {"Authorization", "Basic " + base64_encode("app:" + client_secret)}};
  secrets.push_back(tokens["access_token"]);
  secrets.push_back(tokens["refresh_token"]);
  client.Post("/OAuth/Token", basic,
              "grant_type=password&username=alice&password=" + wrong_password, kForm);
  auto refreshed =
      client.Post("/OAuth/Token", basic,
                  "grant_type=refresh_token&refresh_token=" + form_encode(first_refresh), kForm);
  ASSERT_TRUE(refreshed && refreshed->status == 200);
  secrets.push_back(json::parse(refreshed->body)["access_token"]);
  secrets.push_back(json::parse(refreshed->body)["refresh_token"]);
  // Reuse of the rotated refresh token: an error path that names the token's state.
  client.Post("/OAuth/Token", basic,
              "grant_type=refresh_token&refresh_token=" + form_encode(first_refresh), kForm);
  client.Get("/1/json/Product/Search?query=a",
             {{"Authorization", "Bearer " + tokens["access_token"].get<std::string>()}});
  client.Get("/1/json/Product/Search?query=a&access_token=" +
             tokens["access_token"].get<std::string>());
  auto code = client.Post("/__mock/codes", httplib::Headers{{"Authorization", "Bearer " + admin}},
                          json{{"client_id", "app"},
                               {"username", "alice"},
                               {"redirect_uri", "http://127.0.0.1/callback"},
                               {"code_challenge", verifier},
                               {"code_challenge_method", "plain"}}
                              .dump(),
                          "application/json");
  ASSERT_TRUE(code && code->status == 200) << (code ? code->body : "");
  std::string code_value = json::parse(code->body)["code"];
  secrets.push_back(code_value);
  auto redeemed = client.Post("/OAuth/Token",
                              "grant_type=authorization_code&code=" + form_encode(code_value) +
                                  "&redirect_uri=" + form_encode("http://127.0.0.1/callback") +
                                  "&code_verifier=" + verifier +
                                  "&client_id=app&client_secret=" + client_secret,
                              kForm);
  ASSERT_TRUE(redeemed && redeemed->status == 200) << redeemed->body;
  secrets.push_back(json::parse(redeemed->body)["access_token"]);
  client.Get("/__mock/tokens", {{"Authorization", "Bearer " + admin}});
  client.Get("/__mock/tokens", {{"Authorization", "Bearer " + admin + "-wrong"}});
  ASSERT_EQ(server.stop(SIGTERM), 0);

  std::string log = testing::read_file(dir.file("log.txt"));
  ASSERT_GE(std::count(log.begin(), log.end(), '\n'), 7) << "expected one line per request:\n"
                                                         << log;
  for (const auto& secret : secrets) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "the " << format << " log shows a secret:\n"
                                                   << log;
    // Also not in encoded form (a logged query or body would carry it percent-encoded).
    EXPECT_EQ(log.find(form_encode(secret)), std::string::npos);
  }
}

TEST(Logs, TextLogShowsNoSecrets) { expect_log_free_of_secrets("text"); }
TEST(Logs, JsonLogShowsNoSecrets) { expect_log_free_of_secrets("json"); }

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
