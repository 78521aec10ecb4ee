// In-process HTTP tests of POST /OAuth/Token and /connect/token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "test_server.h"
#include "util/text_util.h"

namespace mock2ba::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class TokenEndpointTest : public ::testing::Test {
 protected:
  TestServer server_;
};

TEST_F(TokenEndpointTest, PasswordGrantReplyFollowsRfc6749Section5_1) {
  Reply r = server_.login();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json;charset=UTF-8");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  EXPECT_EQ(r.header("Pragma"), "no-cache");
  // Compact, access_token first: some 2BA clients slice the body.
  EXPECT_THAT(r.body, StartsWith("{\"access_token\":\""));
  json body = r.json();
  EXPECT_EQ(r.body.find(' '), std::string::npos);
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_TRUE(body["expires_in"].is_number_integer());
  EXPECT_EQ(body["expires_in"], 3600);
  EXPECT_TRUE(body["refresh_token"].is_string());
  EXPECT_FALSE(body.contains("scope"));
  size_t at = r.body.find("access_token"), tt = r.body.find("token_type"),
         ei = r.body.find("expires_in"), rt = r.body.find("refresh_token");
  EXPECT_LT(at, tt);
  EXPECT_LT(tt, ei);
  EXPECT_LT(ei, rt);
}

TEST_F(TokenEndpointTest, BothPathsAndAnyCaseAreOneEndpoint) {
  for (const char* path :
       {"/OAuth/Token", "/oauth/token", "/OAUTH/TOKEN", "/connect/token", "/Connect/Token"}) {
    Reply r = server_.post_form(path, {{"grant_type", "password"},
                                       {"username", "demo"},
                                       {"password", "demo"},
                                       {"client_id", "demo-client"},
                                       {"client_secret", "demo-secret"}});
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
  }
}

TEST_F(TokenEndpointTest, ScopeIsEchoedAndOfflineAccessDecidesTheRefreshToken) {
  json with_offline = server_.login("openid offline_access").json();
  EXPECT_EQ(with_offline["scope"], "openid offline_access");
  EXPECT_TRUE(with_offline.contains("refresh_token"));
  json without = server_.login("openid unifeed").json();
  EXPECT_EQ(without["scope"], "openid unifeed");
  EXPECT_FALSE(without.contains("refresh_token"));
}

TEST_F(TokenEndpointTest, RefreshRotatesAndAReusedTokenGets400InvalidGrant) {
  json first = server_.login().json();
  Reply r = server_.refresh(first["refresh_token"]);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.json()["refresh_token"], first["refresh_token"]);
  EXPECT_NE(r.json()["access_token"], first["access_token"]);
  Reply reuse = server_.refresh(first["refresh_token"]);
  EXPECT_EQ(reuse.status, 400);
  EXPECT_EQ(reuse.json()["error"], "invalid_grant");
  EXPECT_TRUE(reuse.json()["error_description"].is_string());
  EXPECT_EQ(server_.refresh(r.json()["refresh_token"]).status, 200);
}

TEST_F(TokenEndpointTest, ExpiredRefreshTokenAfterClockAdvanceGets400) {
  json tokens = server_.login().json();
  ASSERT_EQ(server_.advance_clock(14 * 24 * 3600 + 1).status, 200);
  Reply r = server_.refresh(tokens["refresh_token"]);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json()["error"], "invalid_grant");
  EXPECT_THAT(r.json()["error_description"].get<std::string>(), HasSubstr("expired"));
}

TEST_F(TokenEndpointTest, HttpBasicWithFormEncodedCredentials) {
  std::string basic = "Basic " + base64_encode("demo-client:demo-secret");
  Reply r = server_.post_form(
      "/OAuth/Token", {{"grant_type", "password"}, {"username", "demo"}, {"password", "demo"}},
      {{"Authorization", basic}});
  EXPECT_EQ(r.status, 200) << r.body;
  json entry = server_.journal().back();
  EXPECT_EQ(entry["outcome"]["client_auth"], "client_secret_basic");
}

TEST_F(TokenEndpointTest, UnknownExtraParametersAreIgnored) {
  Reply r = server_.post_form("/OAuth/Token", {{"grant_type", "password"},
                                               {"username", "demo"},
                                               {"password", "demo"},
                                               {"client_id", "demo-client"},
                                               {"client_secret", "demo-secret"},
                                               {"api_key", "whatever"}});
  EXPECT_EQ(r.status, 200);
}

TEST_F(TokenEndpointTest, ContentTypeMayCarryACharset) {
  Reply r = server_.request("POST", "/OAuth/Token",
                            form_body({{"grant_type", "password"},
                                       {"username", "demo"},
                                       {"password", "demo"},
                                       {"client_id", "demo-client"},
                                       {"client_secret", "demo-secret"}}),
                            "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(TokenEndpointTest, OtherMethodsGet405WithAllow) {
  for (const char* method : {"GET", "PUT", "DELETE"}) {
    Reply r = server_.request(method, "/OAuth/Token");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.header("Allow"), "POST");
    EXPECT_EQ(r.json()["error"], "invalid_request");
  }
}

struct ErrorCase {
  const char* name;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string authorization;  // header value, if any
  int status;
  const char* error;
};

class TokenErrorTest : public ::testing::TestWithParam<ErrorCase> {
 protected:
  TestServer server_;
};

TEST_P(TokenErrorTest, AnswersRfc6749Section5_2) {
  const ErrorCase& c = GetParam();
  httplib::Headers headers;
  if (!c.authorization.empty()) headers.emplace("Authorization", c.authorization);
  Reply r = server_.post_form("/OAuth/Token", c.fields, headers);
  EXPECT_EQ(r.status, c.status) << r.body;
  json body = r.json();
  EXPECT_EQ(body["error"], c.error) << r.body;
  EXPECT_TRUE(body["error_description"].is_string());
  EXPECT_EQ(r.header("Content-Type"), "application/json;charset=UTF-8");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  if (c.status == 401) {
    EXPECT_THAT(r.header("WWW-Authenticate"), StartsWith("Basic"));
  }
  // The server keeps serving after every error.
  EXPECT_EQ(server_.login().status, 200);
}

using F = std::vector<std::pair<std::string, std::string>>;
const F kClient = {{"client_id", "demo-client"}, {"client_secret", "demo-secret"}};
F with_client(F fields) {
  fields.insert(fields.end(), kClient.begin(), kClient.end());
  return fields;
}
const std::string kBasic = "Basic " + base64_encode("demo-client:demo-secret");

INSTANTIATE_TEST_SUITE_P(
    Table, TokenErrorTest,
    ::testing::Values(
        ErrorCase{"MissingGrantType", with_client({{"username", "demo"}}), "", 400,
                  "invalid_request"},
        ErrorCase{"DuplicatedParameter",
                  with_client({{"grant_type", "password"},
                               {"username", "demo"},
                               {"username", "demo"},
                               {"password", "demo"}}),
                  "", 400, "invalid_request"},
        ErrorCase{"PasswordMissing",
                  with_client({{"grant_type", "password"}, {"username", "demo"}}), "", 400,
                  "invalid_request"},
        ErrorCase{"RefreshTokenMissing", with_client({{"grant_type", "refresh_token"}}), "", 400,
                  "invalid_request"},
        ErrorCase{"CodeMissing", with_client({{"grant_type", "authorization_code"}}), "", 400,
                  "invalid_request"},
        ErrorCase{
            "BothAuthMethods",
            with_client({{"grant_type", "password"}, {"username", "demo"}, {"password", "demo"}}),
            kBasic, 400, "invalid_request"},
        ErrorCase{
            "WrongPassword",
            with_client({{"grant_type", "password"}, {"username", "demo"}, {"password", "nope"}}),
            "", 400, "invalid_grant"},
        ErrorCase{
            "UnknownUser",
            with_client({{"grant_type", "password"}, {"username", "nobody"}, {"password", "demo"}}),
            "", 400, "invalid_grant"},
        ErrorCase{"UnknownRefreshToken",
                  with_client({{"grant_type", "refresh_token"}, {"refresh_token", "bogus"}}), "",
                  400, "invalid_grant"},
        ErrorCase{"UnknownCode",
                  with_client({{"grant_type", "authorization_code"}, {"code", "bogus"}}), "", 400,
                  "invalid_grant"},
        ErrorCase{"WrongSecretInBody",
                  {{"grant_type", "password"},
                   {"username", "demo"},
                   {"password", "demo"},
                   {"client_id", "demo-client"},
                   {"client_secret", "x"}},
                  "",
                  400,
                  "invalid_client"},
        ErrorCase{"MissingSecret",
                  {{"grant_type", "password"},
                   {"username", "demo"},
                   {"password", "demo"},
                   {"client_id", "demo-client"}},
                  "",
                  400,
                  "invalid_client"},
        ErrorCase{"NoClientAtAll",
                  {{"grant_type", "password"}, {"username", "demo"}, {"password", "demo"}},
                  "",
                  400,
                  "invalid_client"},
        ErrorCase{"UnknownClient",
                  {{"grant_type", "password"}, {"client_id", "who"}, {"client_secret", "x"}},
                  "",
                  400,
                  "invalid_client"},
        ErrorCase{"WrongSecretInBasic",
                  {{"grant_type", "password"}, {"username", "demo"}, {"password", "demo"}},
                  "Basic " + base64_encode("demo-client:wrong"),
                  401,
                  "invalid_client"},
        ErrorCase{
            "MalformedBasic", {{"grant_type", "password"}}, "Basic ###", 401, "invalid_client"},
        ErrorCase{"BasicWithoutColon",
                  {{"grant_type", "password"}},
                  "Basic " + base64_encode("demo-client"),
                  401,
                  "invalid_client"},
        ErrorCase{"MadeUpGrant", with_client({{"grant_type", "magic"}}), "", 400,
                  "unsupported_grant_type"},
        ErrorCase{"PublicClientPasswordGrant",
                  {{"grant_type", "password"},
                   {"username", "demo"},
                   {"password", "demo"},
                   {"client_id", "demo-public"}},
                  "",
                  400,
                  "unauthorized_client"},
        ErrorCase{"UnknownScope",
                  with_client({{"grant_type", "password"},
                               {"username", "demo"},
                               {"password", "demo"},
                               {"scope", "openid admin"}}),
                  "", 400, "invalid_scope"}),
    [](const auto& info) { return std::string(info.param.name); });

// A failed client authentication says which part failed, in the reply and the journal.
TEST_F(TokenEndpointTest, FailedClientAuthenticationSaysWhichPartFailed) {
  struct Case {
    F fields;
    std::string authorization;
    std::string failure;
    std::string description;
  };
  const F login = {{"grant_type", "password"}, {"username", "demo"}, {"password", "demo"}};
  auto with = [&login](const F& extra) {
    F fields = login;
    fields.insert(fields.end(), extra.begin(), extra.end());
    return fields;
  };
  const std::vector<Case> cases = {
      {with({{"client_id", "who"}, {"client_secret", "x"}}), "", "unknown_client",
       "The client 'who' is unknown."},
      {with({{"client_id", "demo-client"}, {"client_secret", "wrong"}}), "", "wrong_secret",
       "The client_secret sent in the body is wrong for client 'demo-client'."},
      {login, "Basic " + base64_encode("demo-client:wrong"), "wrong_secret",
       "The client_secret sent in the Authorization header (HTTP Basic) is wrong for client "
       "'demo-client'."},
      {with({{"client_id", "demo-client"}}), "", "missing_secret",
       "The client_secret of client 'demo-client' is missing: send it in the body or use HTTP "
       "Basic."},
      {with({{"client_secret", "demo-secret"}}),
       "Basic " + base64_encode("demo-client:demo-secret"), "secret_sent_twice",
       "Client credentials were sent both in the Authorization header"},
      {with({{"client_id", "demo-public"}, {"client_secret", "x"}}), "", "secret_for_public_client",
       "is public and has no secret"},
  };
  for (const auto& c : cases) {
    httplib::Headers headers;
    if (!c.authorization.empty()) headers.emplace("Authorization", c.authorization);
    Reply r = server_.post_form("/OAuth/Token", c.fields, headers);
    EXPECT_THAT(r.json()["error_description"].get<std::string>(), HasSubstr(c.description))
        << c.failure;
    json entry = server_.journal().back();
    EXPECT_EQ(entry["outcome"]["client_auth_failure"], c.failure) << entry.dump();
  }
  // A client that authenticates carries no failure.
  ASSERT_EQ(server_.login().status, 200);
  EXPECT_FALSE(server_.journal().back()["outcome"].contains("client_auth_failure"));
}

TEST_F(TokenEndpointTest, WrongContentTypeAndBadEncodingAreInvalidRequest) {
  Reply json_body =
      server_.request("POST", "/OAuth/Token", R"({"grant_type":"password"})", "application/json");
  EXPECT_EQ(json_body.status, 400);
  EXPECT_EQ(json_body.json()["error"], "invalid_request");
  EXPECT_THAT(json_body.json()["error_description"].get<std::string>(), HasSubstr("Content-Type"));
  Reply bad_escape = server_.request("POST", "/OAuth/Token", "grant_type=password&username=%zz",
                                     "application/x-www-form-urlencoded");
  EXPECT_EQ(bad_escape.status, 400);
  EXPECT_EQ(bad_escape.json()["error"], "invalid_request");
}

TEST_F(TokenEndpointTest, HostileCredentialsMustBeFormEncoded) {
  TestServer hostile("hostile-tokens");
  F fields = {{"grant_type", "password"},
              {"username", "jan+de/vries=&%é"},
              {"password", "p@ss+word/=&% é€"},
              {"client_id", "hostile+client/=&%"},
              {"client_secret", "s3cr+t/with=&%:é€ space"}};
  Reply ok = hostile.post_form("/OAuth/Token", fields);
  ASSERT_EQ(ok.status, 200) << ok.body;
  json tokens = ok.json();
  EXPECT_GE(tokens["refresh_token"].get<std::string>().size(), 2048u);
  // The 4 KB refresh token round-trips when form-encoded...
  Reply refreshed =
      hostile.refresh(tokens["refresh_token"], "hostile+client/=&%", "s3cr+t/with=&%:é€ space");
  EXPECT_EQ(refreshed.status, 200) << refreshed.body;
  // ... and a client that pastes the raw values into the body fails.
  std::string raw =
      "grant_type=password&username=jan+de/vries=&%é&password=p@ss+word/=&% é€"
      "&client_id=hostile+client/=&%&client_secret=s3cr+t/with=&%:é€ space";
  Reply broken = hostile.request("POST", "/OAuth/Token", raw, "application/x-www-form-urlencoded");
  EXPECT_EQ(broken.status, 400);
}

TEST_F(TokenEndpointTest, CodeGrantWithPkceThroughTheControlApi) {
  const std::string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  Reply issued = server_.post_json(
      "/__mock/codes", {{"client_id", "demo-public"},
                        {"username", "demo"},
                        {"redirect_uri", "http://127.0.0.1:4321/tokenreceiver"},
                        {"code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
                        {"code_challenge_method", "S256"}});
  ASSERT_EQ(issued.status, 200) << issued.body;
  std::string code = issued.json()["code"];
  F exchange = {{"grant_type", "authorization_code"},
                {"code", code},
                {"redirect_uri", "http://127.0.0.1:4321/tokenreceiver"},
                {"client_id", "demo-public"},
                {"code_verifier", verifier}};
  Reply ok = server_.post_form("/OAuth/Token", exchange);
  ASSERT_EQ(ok.status, 200) << ok.body;
  Reply again = server_.post_form("/OAuth/Token", exchange);
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.json()["error"], "invalid_grant");
  // The reuse revoked what the first exchange issued.
  Reply api =
      server_.get("/1/json/Product/DetailsForProduct?gtin=08711893010011",
                  {{"Authorization", "Bearer " + ok.json()["access_token"].get<std::string>()}});
  EXPECT_EQ(api.status, 401);
}

TEST_F(TokenEndpointTest, PublicClientsMustUsePkceAndSendNoSecret) {
  const std::string redirect_uri = "http://127.0.0.1/callback";
  Reply no_pkce = server_.post_json(
      "/__mock/codes",
      {{"client_id", "demo-public"}, {"username", "demo"}, {"redirect_uri", redirect_uri}});
  EXPECT_EQ(no_pkce.status, 400);
  EXPECT_EQ(no_pkce.json()["error"], "code_challenge: this client must use PKCE");
  Reply issued = server_.post_json("/__mock/codes", {{"client_id", "demo-public"},
                                                     {"username", "demo"},
                                                     {"redirect_uri", redirect_uri},
                                                     {"code_challenge", std::string(43, 'a')},
                                                     {"code_challenge_method", "plain"}});
  ASSERT_EQ(issued.status, 200) << issued.body;
  Reply with_secret = server_.post_form("/OAuth/Token", {{"grant_type", "authorization_code"},
                                                         {"code", issued.json()["code"]},
                                                         {"redirect_uri", redirect_uri},
                                                         {"client_id", "demo-public"},
                                                         {"client_secret", "guess"},
                                                         {"code_verifier", std::string(43, 'a')}});
  EXPECT_EQ(with_secret.status, 400);
  EXPECT_EQ(with_secret.json()["error"], "invalid_client");
}

TEST_F(TokenEndpointTest, ConcurrentRefreshesOverHttpHaveExactlyOneWinner) {
  std::string refresh_token = server_.login().json()["refresh_token"];
  std::atomic<int> ok{0}, invalid_grant{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", server_.port());
      auto r = client.Post("/OAuth/Token",
                           form_body({{"grant_type", "refresh_token"},
                                      {"refresh_token", refresh_token},
                                      {"client_id", "demo-client"},
                                      {"client_secret", "demo-secret"}}),
                           "application/x-www-form-urlencoded");
      if (r && r->status == 200) ++ok;
      if (r && r->status == 400 && json::parse(r->body)["error"] == "invalid_grant")
        ++invalid_grant;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(invalid_grant.load(), 11);
}

TEST_F(TokenEndpointTest, ReplyVariantsFromTheFixture) {
  TestServer lower("lowercase-bearer");
  json body = lower.login().json();
  EXPECT_EQ(body["token_type"], "bearer");
  EXPECT_EQ(body["userName"], "demo");
  EXPECT_TRUE(body.contains(".issued"));
  TestServer no_expiry("no-expires-in");
  EXPECT_FALSE(no_expiry.login().json().contains("expires_in"));
  TestServer no_rotation("no-rotation");
  json first = no_rotation.login().json();
  Reply r = no_rotation.refresh(first["refresh_token"]);
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(r.json().contains("refresh_token"));
  EXPECT_EQ(no_rotation.refresh(first["refresh_token"]).status, 200);
}

TEST_F(TokenEndpointTest, RepeatedParametersAre400NamingTheFirstInNameOrder) {
  std::vector<std::pair<std::string, std::string>> fields = {{"grant_type", "password"},
                                                             {"username", "demo"},
                                                             {"password", "demo"},
                                                             {"client_id", "demo-client"},
                                                             {"client_secret", "demo-secret"}};
  auto with = [&](std::vector<std::pair<std::string, std::string>> extra) {
    auto all = fields;
    all.insert(all.end(), extra.begin(), extra.end());
    return server_.post_form("/OAuth/Token", all);
  };
  Reply once = with({});
  EXPECT_EQ(once.status, 200) << once.body;
  Reply twice = with({{"username", "demo"}});
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(twice.json()["error"], "invalid_request");
  EXPECT_THAT(twice.json()["error_description"].get<std::string>(),
              HasSubstr("'username' is repeated"));
  Reply two_names = with({{"username", "x"}, {"client_id", "demo-client"}});
  EXPECT_THAT(two_names.json()["error_description"].get<std::string>(),
              HasSubstr("'client_id' is repeated"));
  // A name that may repeat (an unknown one) does not count; nor does a long form.
  EXPECT_EQ(with({{"x", "1"}, {"x", "2"}}).status, 200);
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 20; ++i) many.emplace_back("x" + std::to_string(i), "1");
  EXPECT_EQ(with(many).status, 200);
  many.emplace_back("scope", "openid");
  many.emplace_back("scope", "openid");
  EXPECT_THAT(with(many).json()["error_description"].get<std::string>(),
              HasSubstr("'scope' is repeated"));
}

// The reply is written by hand, not by a JSON library: it must still be exactly what dumping the
// same members in the same order gives, whatever characters the fixture's strings contain.
TEST_F(TokenEndpointTest, ReplyTextIsCompactJsonWithEveryCharacterEscaped) {
  json fixture = json::parse(R"({
      "clients": [{"client_id": "demo-client", "client_secret": "demo-secret"}],
      "users": [{"username": "demo", "password": "demo"}]})");
  // Quote, backslash, control bytes (named and \u00XX), non-ASCII, '/' and DEL.
  const std::string awkward = "B\"e\\a\r\xc3\xa9r/\x01\x1f\b\f\n\t<\x7f>";
  fixture["policy"] = {
      {"token_type", awkward},
      {"expires_in_as_string", true},
      {"extra_response_fields",
       {{"z\"k\n", "v\x02"}, {"a", {1, 2.5, nullptr, {{"y", true}, {"b", "\xc3\xbc"}}}}}}};
  Reply loaded = server_.request("PUT", "/__mock/fixture", fixture.dump(), "application/json");
  ASSERT_EQ(loaded.status, 200) << loaded.body;
  for (const std::string& scope : {std::string(), std::string("openid offline_access")}) {
    Reply r = server_.login(scope);
    ASSERT_EQ(r.status, 200) << r.body;
    nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(r.body);
    EXPECT_EQ(r.body, parsed.dump()) << "not as a JSON library writes it";
    EXPECT_EQ(parsed["token_type"], awkward);
    EXPECT_EQ(parsed["expires_in"], "3600");
    std::vector<std::string> keys;
    for (const auto& item : parsed.items()) keys.push_back(item.key());
    std::vector<std::string> expected = {"access_token", "token_type", "expires_in",
                                         "refresh_token"};
    if (!scope.empty()) expected.push_back("scope");
    expected.insert(expected.end(), {"a", "z\"k\n"});  // the fixture's, in key order
    EXPECT_EQ(keys, expected);
    if (!scope.empty()) {
      EXPECT_EQ(parsed["scope"], scope);
    }
  }
}

}  // namespace
}  // namespace mock2ba::testing
