// The mock's request log as the real binary writes it: one line per request that a client
// cannot forge, what happened to a presented token, and no secret in the text or JSON format.
#include "server/request_log.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/form.h"
#include "reliability_support.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;

const char* kForm = "application/x-www-form-urlencoded";
const std::string kLogin =
    "grant_type=password&username=demo&password=demo&client_id=demo-client&client_secret=demo-"
    "secret";

TEST(TextLog, ControlBytesInAPathCannotForgeALine) {
  testing::TempDir dir;
  {
    testing::ChildServer server({}, dir.file("err.log"));
    ASSERT_TRUE(server.ready());
    testing::raw_exchange(
        server.port(),
        testing::raw_request("GET", "/x%0a2030-01-01T00:00:00Z%20GET%20/forged%1b%5b31m"));
    server.stop(SIGTERM);
  }
  std::string log = testing::read_file(dir.file("err.log"));
  EXPECT_EQ(log.find("\n2030-01-01"), std::string::npos) << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << log;
  EXPECT_NE(log.find("/x\\x0a2030-01-01T00:00:00Z GET /forged\\x1b[31m"), std::string::npos) << log;
}

TEST(TextLog, TokenEndpointLinesSayWhatHappenedToTheToken) {
  testing::TempDir dir;
  std::string first;
  {
    testing::ChildServer server({}, dir.file("err.log"));
    ASSERT_TRUE(server.ready());
    httplib::Client client("127.0.0.1", server.port());
    first = json::parse(client.Post("/OAuth/Token", kLogin, kForm)->body)["refresh_token"];
    auto refresh = [&](const std::string& token) {
      return client.Post("/OAuth/Token",
                         "grant_type=refresh_token&refresh_token=" + token +
                             "&client_id=demo-client&client_secret=demo-secret",
                         kForm);
    };
    ASSERT_EQ(refresh(first)->status, 200);
    ASSERT_EQ(refresh(first)->status, 400);  // rotated
    ASSERT_EQ(refresh("no-such-token")->status, 400);
    server.stop(SIGTERM);
  }
  std::string log = testing::read_file(dir.file("err.log"));
  EXPECT_NE(log.find("error=invalid_grant refresh_token=rotated"), std::string::npos) << log;
  EXPECT_NE(log.find("error=invalid_grant refresh_token=unknown"), std::string::npos) << log;
  EXPECT_NE(log.find("refresh_token=active"), std::string::npos) << log;
  EXPECT_EQ(log.find(first), std::string::npos) << "a token in the log";
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

}  // namespace
}  // namespace mock2ba
