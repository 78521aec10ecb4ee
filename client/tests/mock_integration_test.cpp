// The library against the real mock server, driven through its control API.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <set>
#include <thread>

#include "mock_process.h"
#include "twoba/api_client.h"
#include "twoba/oauth_client.h"

namespace twoba {
namespace {

using testing::form_value;
using testing::json;
using testing::MockServer;
using testing::TempDir;

class MockIntegrationTest : public ::testing::Test {
 protected:
  std::string store_path() const { return dir_.path() + "/tokens.json"; }
  std::optional<TokenSet> stored() const {
    auto loaded = TokenStore(store_path()).load();
    EXPECT_TRUE(loaded.ok());
    return loaded.value_or(std::nullopt);
  }

  TempDir dir_;
};

TEST_F(MockIntegrationTest, PasswordLoginThenProductCall) {
  MockServer mock;
  OAuthClient oauth(testing::demo_config(mock, store_path()));
  ASSERT_TRUE(oauth.login_password("demo", "demo").ok());
  ApiClient api(oauth);
  auto r = api.get("/Product/Search?query=Kabelgoot");
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("6062101"), std::string::npos) << r->body;
  const auto calls = mock.journal("/1/json/Product/Search");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["headers"]["Authorization"], "Bearer " + stored()->access_token);
}

TEST_F(MockIntegrationTest, RotatedRefreshTokenSurvivesRestartAndIsNeverReused) {
  MockServer mock;
  {
    OAuthClient first(testing::demo_config(mock, store_path()));
    ASSERT_TRUE(first.login_password("demo", "demo").ok());
    ASSERT_TRUE(first.force_refresh().ok());
  }
  // A new client object stands for a restarted process: all it has is the store.
  for (int restart = 0; restart < 3; ++restart) {
    OAuthClient again(testing::demo_config(mock, store_path()));
    auto t = again.force_refresh();
    ASSERT_TRUE(t.ok()) << describe(t.error());
  }
  const auto refreshes = mock.token_requests("refresh_token");
  ASSERT_EQ(refreshes.size(), 4u);
  std::set<std::string> presented;
  std::string issued = json::parse(
      mock.token_requests("password").at(0)["response_body"].get<std::string>())["refresh_token"];
  for (const json& entry : refreshes) {
    EXPECT_EQ(entry["status"], 200);
    const std::string rt = form_value(entry, "refresh_token");
    EXPECT_EQ(rt, issued) << "each refresh must present the newest refresh token";
    EXPECT_TRUE(presented.insert(rt).second) << "a rotated refresh token was reused";
    issued = json::parse(entry["response_body"].get<std::string>())["refresh_token"];
  }
  EXPECT_EQ(stored()->refresh_token, issued);
}

TEST_F(MockIntegrationTest, SixteenThreadsWithAnExpiredAccessTokenCauseOneRefresh) {
  MockServer mock;
  OAuthClient oauth(testing::demo_config(mock, store_path()));
  ASSERT_TRUE(oauth.login_password("demo", "demo").ok());
  mock.advance_clock(3700);  // the access token is dead on the server; our clock disagrees
  ApiClient api(oauth);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      auto r = api.get("/Product/DetailsForProduct?gtin=08711893010011");
      if (r.ok() && r->status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
  EXPECT_EQ(mock.token_requests("refresh_token").size(), 1u);
}

TEST_F(MockIntegrationTest, ExpiredRefreshTokenMeansReloginAndAClearedStore) {
  MockServer mock;
  OAuthClient oauth(testing::demo_config(mock, store_path()));
  ASSERT_TRUE(oauth.login_password("demo", "demo").ok());
  mock.advance_clock(15 * 24 * 3600);
  ApiClient api(oauth);
  auto r = api.get("/Product/Search?query=x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kReloginRequired);
  EXPECT_FALSE(stored().has_value());
  EXPECT_NE(::access(store_path().c_str(), F_OK), 0);
  // One refresh attempt, no retry, and no password re-posted behind the user's back.
  EXPECT_EQ(mock.token_requests("refresh_token").size(), 1u);
  EXPECT_EQ(mock.token_requests("password").size(), 1u);
  auto again = api.get("/Product/Search?query=x");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kReloginRequired);
  EXPECT_EQ(mock.token_requests("refresh_token").size(), 1u);
}

TEST_F(MockIntegrationTest, ServiceUnavailableWithRetryAfterSecondsIsHonoured) {
  MockServer mock;
  OAuthClient oauth(testing::demo_config(mock, store_path()));
  ASSERT_TRUE(oauth.login_password("demo", "demo").ok());
  const std::string rt = stored()->refresh_token;
  mock.add_fault({{"path", "/OAuth/Token"},
                  {"grant_type", "refresh_token"},
                  {"status", 503},
                  {"headers", {{"Retry-After", "1"}}},
                  {"times", 1}});
  auto t = oauth.force_refresh();
  ASSERT_TRUE(t.ok()) << describe(t.error());
  const auto attempts = mock.token_requests("refresh_token");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0]["status"], 503);
  EXPECT_EQ(attempts[1]["status"], 200);
  const auto gap = attempts[1]["real_time_ms"].get<std::int64_t>() -
                   attempts[0]["real_time_ms"].get<std::int64_t>();
  EXPECT_GE(gap, 1000);
  EXPECT_LT(gap, 2000);
  EXPECT_EQ(form_value(attempts[1], "refresh_token"), rt);  // the tokens were kept
}

TEST_F(MockIntegrationTest, ServiceUnavailableWithRetryAfterDateIsHonoured) {
  MockServer mock;
  OAuthClient oauth(testing::demo_config(mock, store_path()));
  ASSERT_TRUE(oauth.login_password("demo", "demo").ok());
  const std::time_t when = std::time(nullptr) + 2;
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&when));
  mock.add_fault({{"path", "/OAuth/Token"},
                  {"grant_type", "refresh_token"},
                  {"status", 429},
                  {"headers", {{"Retry-After", date}}},
                  {"times", 1}});
  ASSERT_TRUE(oauth.force_refresh().ok());
  const auto attempts = mock.token_requests("refresh_token");
  ASSERT_EQ(attempts.size(), 2u);
  const auto second_ms = attempts[1]["real_time_ms"].get<std::int64_t>();
  EXPECT_GE(second_ms, static_cast<std::int64_t>(when) * 1000);
}

TEST_F(MockIntegrationTest, HostileTokensRoundTripByteForByte) {
  MockServer mock("hostile-tokens.json");
  for (const ClientAuth auth : {ClientAuth::kBody, ClientAuth::kBasic}) {
    ClientConfig config = testing::demo_config(mock, store_path());
    config.client_id = "hostile+client/=&%";
    config.client_secret = "s3cr+t/with=&%:é€ space";
    config.client_auth = auth;
    OAuthClient oauth(config);
    auto login = oauth.login_password("jan+de/vries=&%é", "p@ss+word/=&% é€");
    ASSERT_TRUE(login.ok()) << describe(login.error());
    const TokenSet first = *stored();
    EXPECT_GE(first.access_token.size(), 2048u);
    EXPECT_GE(first.refresh_token.size(), 2048u);
    EXPECT_NE(first.refresh_token.find_first_of("+/="), std::string::npos);
    ASSERT_TRUE(oauth.force_refresh().ok());
    const auto refresh = mock.token_requests("refresh_token").back();
    EXPECT_EQ(refresh["status"], 200);
    EXPECT_EQ(form_value(refresh, "refresh_token"), first.refresh_token);
    // The stored pair is exactly what the server issued.
    const json issued = json::parse(refresh["response_body"].get<std::string>());
    EXPECT_EQ(stored()->access_token, issued["access_token"]);
    EXPECT_EQ(stored()->refresh_token, issued["refresh_token"]);
    ApiClient api(oauth);
    auto r = api.get("/Product/DetailsForProduct?gtin=08711893010011");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(mock.journal("/1/json/Product/DetailsForProduct").back()["headers"]["Authorization"],
              "Bearer " + stored()->access_token);
  }
}

TEST_F(MockIntegrationTest, NoRotationKeepsTheRefreshToken) {
  MockServer mock("no-rotation.json");
  OAuthClient oauth(testing::demo_config(mock, store_path()));
  ASSERT_TRUE(oauth.login_password("demo", "demo").ok());
  const std::string rt = stored()->refresh_token;
  ASSERT_TRUE(oauth.force_refresh().ok());
  ASSERT_TRUE(oauth.force_refresh().ok());
  const auto refreshes = mock.token_requests("refresh_token");
  ASSERT_EQ(refreshes.size(), 2u);
  for (const json& entry : refreshes) {
    EXPECT_EQ(entry["status"], 200);
    EXPECT_EQ(form_value(entry, "refresh_token"), rt);
  }
  EXPECT_EQ(stored()->refresh_token, rt);
}

TEST_F(MockIntegrationTest, LowercaseBearerAndExtraMembersAreAccepted) {
  MockServer mock("lowercase-bearer.json");
  OAuthClient oauth(testing::demo_config(mock, store_path()));
  ASSERT_TRUE(oauth.login_password("demo", "demo").ok());
  ApiClient api(oauth);
  auto r = api.get("/Product/Search?query=Niko");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  const std::string header =
      mock.journal("/1/json/Product/Search").back()["headers"]["Authorization"];
  EXPECT_EQ(header.rfind("Bearer ", 0), 0u);
}

TEST_F(MockIntegrationTest, WithoutExpiresInA401TriggersTheRefresh) {
  MockServer mock("no-expires-in.json");
  OAuthClient oauth(testing::demo_config(mock, store_path()));
  ASSERT_TRUE(oauth.login_password("demo", "demo").ok());
  EXPECT_FALSE(stored()->expires_in.has_value());
  ApiClient api(oauth);
  ASSERT_EQ(api.get("/Product/Search?query=Niko")->status, 200);
  EXPECT_EQ(mock.token_requests("refresh_token").size(), 0u);
  mock.advance_clock(2 * 24 * 3600);
  auto r = api.get("/Product/Search?query=Niko");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(mock.token_requests("refresh_token").size(), 1u);
}

TEST_F(MockIntegrationTest, ShortLifetimesDoNotCauseARefreshLoop) {
  MockServer mock("fast-expiry.json");  // 5 s access tokens
  OAuthClient oauth(testing::demo_config(mock, store_path()));
  ASSERT_TRUE(oauth.login_password("demo", "demo").ok());
  ApiClient api(oauth);
  const auto start = std::chrono::steady_clock::now();
  int calls = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3200)) {
    auto r = api.get("/Product/Search?query=Niko");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Refreshed once, at half of the 5 s lifetime; never once per call.
  EXPECT_GE(calls, 20);
  EXPECT_EQ(mock.token_requests("refresh_token").size(), 1u);
  for (const json& e : mock.journal("/1/json/Product/Search")) EXPECT_EQ(e["status"], 200);
}

TEST_F(MockIntegrationTest, LostRefreshReplyKeepsTheOldPairAndEndsInRelogin) {
  MockServer mock;
  ClientConfig config = testing::demo_config(mock, store_path());
  OAuthClient oauth(config);
  ASSERT_TRUE(oauth.login_password("demo", "demo").ok());
  const std::string rt = stored()->refresh_token;
  mock.add_fault({{"path", "/OAuth/Token"},
                  {"grant_type", "refresh_token"},
                  {"after_commit", true},
                  {"drop", true},
                  {"times", 1}});
  auto lost = oauth.force_refresh();
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().kind, ErrorKind::kTransport);
  EXPECT_EQ(stored()->refresh_token, rt);  // nothing half-written, the old pair kept
  EXPECT_EQ(mock.token_requests("refresh_token").size(), 1u);  // a transport error: no retry
  auto next = oauth.force_refresh();  // the server rotated it: the old token is now dead
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().kind, ErrorKind::kReloginRequired);
}

}  // namespace
}  // namespace twoba
