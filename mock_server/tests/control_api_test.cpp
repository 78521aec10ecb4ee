// In-process HTTP tests of the control API, faults, scenarios and timed events; deep JSON
// bodies; the control route table against the document.
#include "control/control_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "http/responses.h"
#include "openapi_document.h"
#include "test_server.h"
#include "test_support.h"
#include "util/text_util.h"

namespace mock2ba::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class ControlApiTest : public ::testing::Test {
 protected:
  TestServer server_;
};

TEST_F(ControlApiTest, Health) {
  json h = server_.get("/__mock/health").json();
  EXPECT_EQ(h["status"], "ok");
  EXPECT_THAT(h["fixture"].get<std::string>(), HasSubstr("default.json"));
}

TEST_F(ControlApiTest, ClockAdvanceSetAndFreeze) {
  json before = server_.get("/__mock/clock").json();
  json after = server_.advance_clock(3600).json();
  EXPECT_GE(after["now"].get<int64_t>() - before["now"].get<int64_t>(), 3600);
  json set = server_.post_json("/__mock/clock", {{"set", 2000000000}, {"frozen", true}}).json();
  EXPECT_EQ(set["now"], 2000000000);
  EXPECT_EQ(set["frozen"], true);
  EXPECT_EQ(server_.get("/__mock/clock").json()["now_ms"], 2000000000000);
  EXPECT_EQ(server_.post_json("/__mock/clock", {{"advance", "soon"}}).status, 400);
  EXPECT_EQ(server_.post_json("/__mock/clock", {{"advanc", 5}}).status, 400);
  EXPECT_EQ(server_.request("POST", "/__mock/clock", "{not json", "application/json").status, 400);
}

TEST_F(ControlApiTest, JournalRecordsEverythingAboutARequest) {
  server_.login();
  json entry = server_.journal().back();
  EXPECT_EQ(entry["method"], "POST");
  EXPECT_EQ(entry["path"], "/OAuth/Token");
  EXPECT_EQ(entry["status"], 200);
  EXPECT_THAT(entry["body"].get<std::string>(), HasSubstr("grant_type=password"));
  EXPECT_EQ(entry["form"]["username"][0], "demo");
  EXPECT_EQ(entry["headers"]["Content-Type"], "application/x-www-form-urlencoded");
  EXPECT_FALSE(entry["headers"].contains("REMOTE_ADDR"));
  EXPECT_THAT(entry["response_body"].get<std::string>(), HasSubstr("access_token"));
  EXPECT_EQ(entry["outcome"]["grant_type"], "password");
  EXPECT_EQ(entry["outcome"]["client_auth"], "client_secret_post");
  EXPECT_TRUE(entry["time"].is_number_integer());
  EXPECT_TRUE(entry["real_time_ms"].is_number_integer());

  uint64_t next = server_.get("/__mock/requests").json()["next_seq"];
  server_.get("/1/json/Product/Search?query=x");
  json newer = server_.journal(next);
  ASSERT_EQ(newer.size(), 1u);
  EXPECT_EQ(newer[0]["query"], "query=x");
  EXPECT_EQ(server_.get("/__mock/requests?path=/oauth/token").json()["requests"].size(), 1u);
  EXPECT_EQ(server_.request("DELETE", "/__mock/requests").status, 200);
  EXPECT_TRUE(server_.journal().empty());
}

TEST_F(ControlApiTest, RefreshOutcomeNamesTheTokenState) {
  std::string rt = server_.login().json()["refresh_token"];
  server_.refresh(rt);
  server_.refresh(rt);
  json entries = server_.journal();
  EXPECT_EQ(entries[1]["outcome"]["refresh_token_state"], "active");
  EXPECT_EQ(entries[2]["outcome"]["refresh_token_state"], "rotated");
  EXPECT_EQ(entries[2]["outcome"]["error"], "invalid_grant");
}

TEST_F(ControlApiTest, FaultWithRetryAfterThenNormalService) {
  json fault = {{"path", "/OAuth/Token"},
                {"grant_type", "refresh_token"},
                {"status", 503},
                {"headers", {{"Retry-After", "2"}}},
                {"body", "{\"error\":\"temporarily_unavailable\"}"},
                {"times", 2}};
  ASSERT_EQ(server_.post_json("/__mock/faults", fault).status, 200);
  std::string rt = server_.login().json()["refresh_token"];  // another grant type: not faulted
  Reply first = server_.refresh(rt);
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(first.header("Retry-After"), "2");
  EXPECT_EQ(server_.refresh(rt).status, 503);
  // The faulted requests did not consume the refresh token.
  EXPECT_EQ(server_.refresh(rt).status, 200);
  EXPECT_TRUE(server_.get("/__mock/faults").json()["faults"].empty());
  json journal = server_.journal();
  EXPECT_EQ(journal[1]["fault"], 1);
}

TEST_F(ControlApiTest, FaultMatchesTheOtherTokenPathToo) {
  server_.post_json("/__mock/faults", {{"path", "/connect/token"}, {"status", 500}, {"body", ""}});
  EXPECT_EQ(server_.login().status, 500);
}

TEST_F(ControlApiTest, DelayIsApplied) {
  server_.post_json("/__mock/faults", {{"path", "/oauth/token"}, {"delay_ms", 200}});
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server_.login().status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
}

TEST_F(ControlApiTest, DropClosesTheConnectionWithoutAReply) {
  server_.post_json("/__mock/faults", {{"path", "/oauth/token"}, {"drop", true}});
  Reply r = server_.login();
  EXPECT_EQ(r.status, 0) << r.body;
  EXPECT_EQ(server_.journal().back()["status"], 0);
  EXPECT_EQ(server_.login().status, 200);
}

TEST_F(ControlApiTest, AfterCommitRotatesThenLosesTheReply) {
  std::string rt = server_.login().json()["refresh_token"];
  server_.post_json(
      "/__mock/faults",
      {{"path", "/oauth/token"}, {"grant_type", "refresh_token"}, {"after_commit", true}});
  EXPECT_EQ(server_.refresh(rt).status, 0);
  // The refresh happened: the old token is rotated now.
  Reply replay = server_.refresh(rt);
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(server_.journal().back()["outcome"]["refresh_token_state"], "rotated");
}

TEST_F(ControlApiTest, BadFaultsNameTheKey) {
  Reply r = server_.post_json("/__mock/faults", {{"path", "/oauth/token"}, {"statuss", 500}});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.json()["error"].get<std::string>(), HasSubstr("statuss: unknown key"));
  EXPECT_EQ(server_.post_json("/__mock/faults", {{"path", "/oauth/token"}, {"status", 99}}).status,
            400);
  EXPECT_EQ(server_.post_json("/__mock/faults", {{"path", "/oauth/token"}}).status, 400);
  EXPECT_EQ(server_.post_json("/__mock/faults", {{"status", 500}}).status, 400);
}

// Every control body is read by the one JSON reader: an unknown key is named with the key it
// resembles or else with the keys that are expected; other errors name the key and the rule.
TEST_F(ControlApiTest, BadBodiesNameTheKeyAndWhatIsExpected) {
  struct Case {
    const char* path;
    const char* body;
    const char* error;
  };
  const Case kCases[] = {
      {"/__mock/clock", R"({"frozen2": true})", R"(frozen2: unknown key (did you mean "frozen"?))"},
      {"/__mock/clock", R"({"foo": 1})", "foo: unknown key (expected advance, set or frozen)"},
      {"/__mock/clock", R"({"advance": 1, "set": 2, "foo": 1})",
       "foo: unknown key (expected advance, set or frozen)"},
      {"/__mock/clock", R"({"advance": 1, "set": 2})", "Give either advance or set, not both."},
      {"/__mock/clock", R"({"advance": "60"})",
       "advance: expected a number of seconds within ±1e11"},
      {"/__mock/clock", R"({"set": -1})", "set: expected unix seconds from 0 to 1e11"},
      {"/__mock/clock", R"({"frozen": "yes"})", R"(frozen: expected true or false, got "yes")"},
      {"/__mock/clock", "[60]", R"(Expected an object such as {"advance": 60}.)"},
      {"/__mock/tokens/revoke", R"({"nobody": "x"})",
       "nobody: unknown key (expected token, user, client or grant)"},
      {"/__mock/tokens/revoke", R"({"tokn": "x"})", R"(tokn: unknown key (did you mean "token"?))"},
      {"/__mock/tokens/revoke", R"({"token": 1})", "token: expected a non-empty string, got 1"},
      {"/__mock/tokens/expire", R"({"grant": "gx"})", R"(grant: expected a grant id such as "g3")"},
      {"/__mock/tokens/revoke", R"({"user": "demo", "client": "x"})",
       R"(Expected exactly one of {"token"}, {"user"}, {"client"} or {"grant"}.)"},
      {"/__mock/codes", R"({"colour": "x"})",
       "colour: unknown key (expected client_id, username, redirect_uri, scope, code_challenge or "
       "code_challenge_method)"},
      {"/__mock/codes", R"({"redirect_ur": "http://a"})",
       R"(redirect_ur: unknown key (did you mean "redirect_uri"?))"},
      {"/__mock/codes", R"({"client_id": 5})", "client_id: expected a string, got 5"},
      {"/__mock/codes", R"({"client_id": "demo-client", "username": "demo"})",
       "redirect_uri: required (the code is bound to it)"},
      {"/__mock/codes", R"({"redirect_uri": "http://a", "code_challenge_method": "MD5"})",
       "code_challenge_method: expected S256 or plain"},
      {"/__mock/faults", R"({"path": "/oauth/token", "statuss": 500})",
       R"(fault.statuss: unknown key (did you mean "status"?))"},
      {"/__mock/faults", R"([{"path": "/x", "status": 500}, {"colour": 1}])",
       "[1].colour: unknown key (expected after_commit, body, delay_ms, drop, grant_type, headers, "
       "path, status or times)"},
      {"/__mock/faults", R"({"path": "/x", "status": 500, "headers": {"X": 1}})",
       "fault.headers.X: expected a string"},
      {"/__mock/faults", R"({"path": "/x", "status": 99})",
       "fault.status: expected an HTTP status 100-599"},
      {"/__mock/faults", R"({"path": "/x"})",
       "fault: a fault needs at least one of status, drop, after_commit or delay_ms"},
      {"/__mock/faults", "[1]", "[0]: expected an object, got 1"},
  };
  for (const Case& c : kCases) {
    Reply r = server_.request("POST", c.path, c.body, "application/json");
    EXPECT_EQ(r.status, 400) << c.path << " " << c.body;
    EXPECT_EQ(r.json().value("error", ""), c.error) << c.path << " " << c.body;
  }
}

TEST_F(ControlApiTest, TokensListRevokeAndExpire) {
  json login = server_.login().json();
  json grants = server_.get("/__mock/tokens").json()["grants"];
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0]["username"], "demo");
  EXPECT_EQ(grants[0]["access_tokens"][0]["token"], login["access_token"]);
  EXPECT_EQ(server_.post_json("/__mock/tokens/expire", {{"token", login["refresh_token"]}})
                .json()["affected"],
            1);
  EXPECT_EQ(server_.refresh(login["refresh_token"]).status, 400);
  std::string grant = server_.login().json()["refresh_token"];
  json g = server_.get("/__mock/tokens?user=demo").json()["grants"][1];
  EXPECT_EQ(server_.post_json("/__mock/tokens/revoke", {{"grant", g["grant"]}}).json()["affected"],
            2);
  EXPECT_EQ(server_.refresh(grant).status, 400);
  EXPECT_EQ(server_.post_json("/__mock/tokens/revoke", {{"user", "demo"}, {"client", "x"}}).status,
            400);
  EXPECT_EQ(server_.post_json("/__mock/tokens/revoke", {{"nobody", "x"}}).status, 400);
}

TEST_F(ControlApiTest, ResetForgetsTokensJournalFaultsAndClock) {
  std::string rt = server_.login().json()["refresh_token"];
  server_.advance_clock(100000);
  server_.post_json("/__mock/faults", {{"path", "/oauth/token"}, {"status", 500}});
  ASSERT_EQ(server_.post_json("/__mock/reset", json::object()).status, 200);
  EXPECT_TRUE(server_.journal().empty());
  EXPECT_TRUE(server_.get("/__mock/faults").json()["faults"].empty());
  EXPECT_LT(server_.get("/__mock/clock").json()["now"].get<int64_t>(), real_now_ms() / 1000 + 60);
  EXPECT_EQ(server_.refresh(rt).status, 400);
  EXPECT_EQ(server_.login().status, 200);
}

TEST_F(ControlApiTest, PutFixtureValidatesAndKeepsTheOldOneOnError) {
  Reply bad = server_.request("PUT", "/__mock/fixture", R"({"clients": [], "users": []})",
                              "application/json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.json()["error"].get<std::string>(), HasSubstr("PUT /__mock/fixture: "));
  EXPECT_EQ(server_.login().status, 200);
  json doc = json::parse(R"({"policy": {"access_token_lifetime": 42},
                             "clients": [{"client_id": "demo-client", "client_secret": "demo-secret"}],
                             "users": [{"username": "demo", "password": "demo"}]})");
  ASSERT_EQ(server_.request("PUT", "/__mock/fixture", doc.dump(), "application/json").status, 200);
  EXPECT_EQ(server_.login().json()["expires_in"], 42);
}

TEST_F(ControlApiTest, ScenariosByPathPrefixAreIndependent) {
  Reply fast = server_.post_form("/s/fast-expiry/OAuth/Token", {{"grant_type", "password"},
                                                                {"username", "demo"},
                                                                {"password", "demo"},
                                                                {"client_id", "demo-client"},
                                                                {"client_secret", "demo-secret"}});
  ASSERT_EQ(fast.status, 200) << fast.body;
  EXPECT_EQ(fast.json()["expires_in"], 5);
  EXPECT_EQ(server_.login().json()["expires_in"], 3600);
  EXPECT_EQ(server_.get("/s/fast-expiry/__mock/requests").json()["requests"].size(), 1u);
  EXPECT_EQ(server_.journal().size(), 1u);
  json discovery = server_.get("/s/fast-expiry/.well-known/openid-configuration").json();
  EXPECT_EQ(discovery["token_endpoint"], server_.base_url() + "/s/fast-expiry/connect/token");
  EXPECT_EQ(server_.get("/s/no-such-scenario/OAuth/Token").status, 404);
  EXPECT_EQ(server_.get("/s/..%2Fetc/OAuth/Token").status, 404);
}

TEST_F(ControlApiTest, TimedEventsRevokeAtTheirVirtualTime) {
  json doc =
      json::parse(R"({"clients": [{"client_id": "demo-client", "client_secret": "demo-secret"}],
                             "users": [{"username": "demo", "password": "demo"}],
                             "events": [{"after": 600, "action": "revoke", "user": "demo"}]})");
  ASSERT_EQ(server_.request("PUT", "/__mock/fixture", doc.dump(), "application/json").status, 200);
  std::string rt = server_.login().json()["refresh_token"];
  server_.advance_clock(300);
  rt = server_.refresh(rt).json()["refresh_token"];
  server_.advance_clock(301);
  Reply r = server_.refresh(rt);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.json()["error_description"].get<std::string>(), HasSubstr("revoked"));
  EXPECT_EQ(server_.login().status, 200);  // the event fires once; new logins work
}

TEST_F(ControlApiTest, DiscoveryDocument) {
  json d = server_.get("/.well-known/openid-configuration").json();
  EXPECT_EQ(d["issuer"], server_.base_url());
  EXPECT_EQ(d["token_endpoint"], server_.base_url() + "/connect/token");
  // grant_types_supported: GrantTable checks it against the grant type table.
  EXPECT_EQ(d["code_challenge_methods_supported"], json({"S256", "plain"}));
}

using DeepJson = InProcess;

TEST_F(DeepJson, DeepControlBodiesAre400AndTheServerKeepsServing) {
  const std::string deep = nested_arrays(100000);
  for (const char* path :
       {"/__mock/faults", "/__mock/tokens/revoke", "/__mock/clock", "/__mock/codes"}) {
    auto reply = post_json(path, deep);
    ASSERT_TRUE(reply) << path;
    EXPECT_EQ(reply->status, 400) << path;
    EXPECT_NE(reply->body.find("nested deeper than 64"), std::string::npos) << reply->body;
  }
  auto fixture = client_->Put("/__mock/fixture", "{\"users\":" + nested_arrays(100000) + "}",
                              "application/json");
  ASSERT_TRUE(fixture);
  EXPECT_EQ(fixture->status, 400);
  // The same deep values inside an object, where the error paths used to render them.
  auto selector = post_json("/__mock/tokens/revoke", "{\"grant\":" + nested_arrays(60000) + "}");
  ASSERT_TRUE(selector);
  EXPECT_EQ(selector->status, 400);
  auto health = client_->Get("/__mock/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(DeepJson, OffendingValuesWithinTheLimitAreNotRenderedWhole) {
  // 60 levels pass the limit; the messages describe such a value instead of printing it.
  auto selector = post_json("/__mock/tokens/revoke", "{\"grant\":" + nested_arrays(60) + "}");
  ASSERT_TRUE(selector);
  EXPECT_EQ(selector->status, 400);
  EXPECT_EQ(selector->body.find("[["), std::string::npos) << selector->body;
  // The default fixture with one client's id replaced by a deep list.
  json document = json::parse(testing::read_file(testing::fixture_dir() + "/default.json"));
  document["clients"][0]["client_id"] = "DEEP";
  std::string text = document.dump();
  text.replace(text.find("\"DEEP\""), 6, nested_arrays(60));
  auto fixture = client_->Put("/__mock/fixture", text, "application/json");
  ASSERT_TRUE(fixture);
  EXPECT_EQ(fixture->status, 400);
  EXPECT_EQ(fixture->body.find("[["), std::string::npos) << fixture->body;
  EXPECT_NE(fixture->body.find("a list"), std::string::npos) << fixture->body;
}

// The control API's table decides its methods the same way: 405 with the row's Allow.
TEST(ControlRouteTable, EveryRouteIsDocumentedWithItsMethodsAndRefusesOthers) {
  TestServer mock;
  json doc = document();
  for (const std::string& path : control_api_routes()) {
    const ControlRoute* route = find_control_route(path);
    ASSERT_NE(route, nullptr) << path;
    std::set<std::string> documented;
    // Named: a range-for over value(…).items() would iterate a destroyed temporary.
    const json operations = doc["paths"].value(path, json::object());
    for (const auto& op : operations.items()) {
      std::string method = op.key();
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      documented.insert(method);
    }
    EXPECT_EQ(documented, split_methods(route->methods)) << path;
    auto refused = mock.request("PATCH", path);
    EXPECT_EQ(refused.status, 405) << path;
    EXPECT_EQ(refused.header("Allow"), allow_header(route->methods)) << path;
  }
  EXPECT_EQ(find_control_route("/__mock/no-such-route"), nullptr);
  EXPECT_EQ(mock.request("GET", "/__mock/no-such-route").status, 404);
}

}  // namespace
}  // namespace mock2ba::testing
