// Who may steer the mock through the control API: the admin token, Host and Origin against DNS
// rebinding and cross-site pages, JSON bodies only, declared public hosts, and what loopback is.
#include "server/control_access.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "server/server.h"
#include "test_server.h"
#include "test_support.h"

namespace mock2ba::testing {
namespace {

using nlohmann::json;

using ControlApiFromWebPages = InProcess;

TEST_F(ControlApiFromWebPages, ARebindedHostCannotReadTheJournal) {
  auto rebind = client_->Get("/__mock/requests", {{"Host", "rebind.example"}});
  ASSERT_TRUE(rebind);
  EXPECT_EQ(rebind->status, 403) << rebind->body;
  EXPECT_EQ(rebind->body.find("requests\""), std::string::npos);
  for (const char* host : {"127.0.0.1.nip.io", "localhost.example:8080", "evil.com:80"}) {
    auto reply = client_->Get("/__mock/tokens", {{"Host", host}});
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 403) << host;
  }
  for (const char* host : {"localhost", "LOCALHOST:1234", "127.0.0.1", "127.1.2.3:80", "[::1]:9"}) {
    auto reply = client_->Get("/__mock/requests", {{"Host", host}});
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200) << host;
  }
  // A scenario's control API is guarded alike; the rest of the mock answers any Host.
  auto scenario = client_->Get("/s/fast-expiry/__mock/requests", {{"Host", "rebind.example"}});
  EXPECT_EQ(scenario->status, 403);
  auto discovery = client_->Get("/.well-known/openid-configuration", {{"Host", "rebind.example"}});
  EXPECT_EQ(discovery->status, 200);
}

TEST_F(ControlApiFromWebPages, ACrossSitePageCannotSteerTheMock) {
  auto before = client_->Get("/__mock/clock");
  ASSERT_TRUE(before);
  // What a browser sends cross-site without a preflight: text/plain or a form, with its Origin.
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "application/json"}) {
    auto moved = client_->Post("/__mock/clock", {{"Origin", "https://evil.example"}},
                               "{\"advance\": 3600}", type);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->status, 403) << type;
  }
  auto reset = client_->Post("/__mock/reset", {{"Origin", "null"}}, "", "text/plain");
  EXPECT_EQ(reset->status, 403);
  auto after = client_->Get("/__mock/clock");
  EXPECT_EQ(json::parse(after->body)["now"], json::parse(before->body)["now"]);
  // A page of the developer's own on loopback (same site) may use it.
  auto local = client_->Post("/__mock/clock", {{"Origin", "http://localhost:3000"}},
                             "{\"frozen\": true}", "application/json");
  EXPECT_EQ(local->status, 200) << local->body;
}

TEST_F(ControlApiFromWebPages, ControlBodiesMustBeJson) {
  // curl -d sends application/x-www-form-urlencoded: refused with the fix in the message.
  auto form =
      client_->Post("/__mock/clock", "{\"advance\": 60}", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);
  EXPECT_NE(form->body.find("Content-Type: application/json"), std::string::npos) << form->body;
  auto plain = client_->Post("/__mock/faults", "{\"path\":\"/x\",\"status\":500}", "text/plain");
  EXPECT_EQ(plain->status, 415);
  auto json_body =
      client_->Post("/__mock/clock", "{\"advance\": 60}", "application/json; charset=utf-8");
  EXPECT_EQ(json_body->status, 200) << json_body->body;
  // Bodyless control requests need no type (curl -X POST .../__mock/reset).
  auto reset = client_->Post("/__mock/reset");
  EXPECT_EQ(reset->status, 200);
}

TEST(Loopback, DecidedByTheParsedAddress) {
  for (const char* host :
       {"127.0.0.1", "127.255.0.9", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"})
    EXPECT_TRUE(is_loopback_host(host)) << host;
  for (const char* host : {"127.0.0.1.nip.io", "127.example", "0.0.0.0", "::", "10.0.0.1",
                           "localhost.example", "1270.0.0.1"})
    EXPECT_FALSE(is_loopback_host(host)) << host;
  ServerOptions options = testing::test_server_options();
  options.host = "127.0.0.1.nip.io";
  EXPECT_THROW(MockServer server(options), std::invalid_argument);
}

TEST(ControlApiAccess, AdminTokenIsRequiredWhenConfigured) {
  ServerOptions options;
  options.admin_token = "correct-horse-battery";
  TestServer server("default", options);
  EXPECT_EQ(server.get("/__mock/health").status, 401);
  EXPECT_EQ(server.get("/__mock/health", {{"Authorization", "Bearer wrong-horse-battery"}}).status,
            401);
  EXPECT_EQ(
      server.get("/__mock/health", {{"Authorization", "Bearer correct-horse-battery"}}).status,
      200);
  EXPECT_EQ(server.login().status, 200);  // the mocked service itself stays open
}

// --public-host: a CI job reaches the mock's service container by its alias, and only that name
// joins loopback and --host; any other Host is still a DNS-rebinding page's (403).
TEST(ControlApiAccess, ADeclaredPublicHostIsAcceptedAndNoOtherName) {
  ServerOptions options;
  options.host = "0.0.0.0";
  options.control_from_any = true;  // as the container image runs
  options.public_hosts = {"twoba-mock", "fd00::5"};
  TestServer server("default", options);
  for (const char* host : {"twoba-mock", "TWOBA-MOCK:8080", "[fd00::5]:8080", "127.0.0.1:1"}) {
    EXPECT_EQ(server.get("/__mock/requests", {{"Host", host}}).status, 200) << host;
  }
  auto move_clock = [&server](const httplib::Headers& headers) {
    return server.request("POST", "/__mock/clock", "{\"advance\": 60}", "application/json", headers)
        .status;
  };
  EXPECT_EQ(move_clock({{"Host", "twoba-mock:8080"}, {"Origin", "http://twoba-mock:8080"}}), 200);
  for (const char* host : {"rebind.example", "twoba-mock.evil.example", "evil-twoba-mock",
                           "twoba-mock.", "fd00::6", "[fd00::6]:8080"}) {
    EXPECT_EQ(server.get("/__mock/requests", {{"Host", host}}).status, 403) << host;
  }
  EXPECT_EQ(move_clock({{"Host", "twoba-mock"}, {"Origin", "https://evil.example"}}), 403);

  // Without the declaration the alias is refused like any other name.
  options.public_hosts.clear();
  TestServer undeclared("default", options);
  EXPECT_EQ(undeclared.get("/__mock/requests", {{"Host", "twoba-mock:8080"}}).status, 403);
  EXPECT_EQ(undeclared.get("/__mock/requests", {{"Host", "localhost:8080"}}).status, 200);
}

}  // namespace
}  // namespace mock2ba::testing
