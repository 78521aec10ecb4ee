#include "twoba/authorization.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <future>
#include <set>

#include "twoba/encoding.h"

namespace twoba {
namespace {

std::map<std::string, std::string> query_of(const std::string& url) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : parse_form(url.substr(url.find('?') + 1))) out[k] = v;
  return out;
}

TEST(Pkce, Rfc7636AppendixBVector) {
  EXPECT_EQ(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(Pkce, FreshVerifiersOfTheRightShape) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const Pkce p = make_pkce();
    EXPECT_EQ(p.verifier.size(), 43u);
    EXPECT_EQ(p.verifier.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"),
              std::string::npos);
    EXPECT_EQ(p.challenge, pkce_challenge(p.verifier));
    EXPECT_TRUE(seen.insert(p.verifier).second);
    EXPECT_TRUE(seen.insert(make_state()).second);
  }
}

TEST(AuthorizeUrl, CarriesEveryParameterEncoded) {
  ClientConfig config;
  config.authorize_url = "http://127.0.0.1:9/OAuth/Authorize";
  config.client_id = "demo client+";
  config.scope = "openid offline_access";
  const std::string url =
      build_authorize_url(config, "http://127.0.0.1:5000/callback", "st+ate", "chal");
  EXPECT_EQ(url.rfind("http://127.0.0.1:9/OAuth/Authorize?", 0), 0u);
  const auto q = query_of(url);
  EXPECT_EQ(q.at("response_type"), "code");
  EXPECT_EQ(q.at("client_id"), "demo client+");
  EXPECT_EQ(q.at("redirect_uri"), "http://127.0.0.1:5000/callback");
  EXPECT_EQ(q.at("scope"), "openid offline_access");
  EXPECT_EQ(q.at("state"), "st+ate");
  EXPECT_EQ(q.at("code_challenge"), "chal");
  EXPECT_EQ(q.at("code_challenge_method"), "S256");
}

TEST(AuthorizeUrl, DerivedFromTheTokenUrl) {
  EXPECT_EQ(derive_authorize_url("https://authorize.2ba.nl/OAuth/Token"),
            "https://authorize.2ba.nl/OAuth/Authorize");
  EXPECT_EQ(derive_authorize_url("http://127.0.0.1:8080/s/x/connect/token"),
            "http://127.0.0.1:8080/s/x/connect/authorize");
  EXPECT_EQ(derive_authorize_url("https://example.invalid/token"), "");
}

// Delivers a redirect to the receiver the way a browser would.
Result<std::string> deliver(const std::string& expected_state, const std::string& query,
                            int* http_status) {
  auto receiver = LoopbackReceiver::start(0, expected_state);
  EXPECT_TRUE(receiver.ok());
  if (!receiver) return receiver.error();
  EXPECT_EQ(receiver.value()->redirect_uri(),
            "http://127.0.0.1:" + std::to_string(receiver.value()->port()) + "/callback");
  auto browser = std::async(std::launch::async, [&] {
    httplib::Client client("127.0.0.1", receiver.value()->port());
    client.set_url_encode(false);  // send the query byte for byte, as a browser would
    auto res = client.Get(("/callback?" + query).c_str());
    return res ? res->status : -1;
  });
  auto code = receiver.value()->wait_for_code(std::chrono::seconds(5));
  *http_status = browser.get();
  return code;
}

TEST(LoopbackReceiver, AcceptsTheMatchingState) {
  int status = 0;
  auto code = deliver("s1", "code=abc%2B%2F%3D&state=s1", &status);
  ASSERT_TRUE(code.ok()) << describe(code.error());
  EXPECT_EQ(code.value(), "abc+/=");
  EXPECT_EQ(status, 200);
}

TEST(LoopbackReceiver, RejectsWrongOrMissingState) {
  int status = 0;
  auto wrong = deliver("s1", "code=abc&state=s2", &status);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().oauth_code, "state_mismatch");
  EXPECT_EQ(status, 400);
  auto missing = deliver("s1", "code=abc", &status);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().oauth_code, "state_missing");
}

TEST(LoopbackReceiver, ReportsAccessDenied) {
  int status = 0;
  auto denied =
      deliver("s1", "error=access_denied&error_description=user+said+no&state=s1", &status);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().kind, ErrorKind::kOAuth);
  EXPECT_EQ(denied.error().oauth_code, "access_denied");
  EXPECT_NE(denied.error().message.find("user said no"), std::string::npos)
      << denied.error().message;
}

TEST(LoopbackReceiver, TimesOut) {
  auto receiver = LoopbackReceiver::start(0, "s");
  ASSERT_TRUE(receiver.ok());
  auto code = receiver.value()->wait_for_code(std::chrono::milliseconds(50));
  ASSERT_FALSE(code.ok());
  EXPECT_EQ(code.error().kind, ErrorKind::kTransport);
}

}  // namespace
}  // namespace twoba
