#include "twoba/oauth_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "clock.h"
#include "fake_transport.h"
#include "twoba/api_client.h"
#include "twoba/encoding.h"

namespace twoba {
namespace {

using testing::FakeTransport;
using testing::reply;

std::map<std::string, std::string> form_of(const HttpRequest& request) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : parse_form(request.body)) {
    EXPECT_EQ(out.count(k), 0u) << "duplicate form field " << k;
    out[k] = v;
  }
  return out;
}

std::string token_json(const std::string& at, const std::string& rt, int expires_in = 3600) {
  std::string body = R"({"access_token":")" + at + R"(","token_type":"Bearer","expires_in":)" +
                     std::to_string(expires_in);
  if (!rt.empty()) body += R"(,"refresh_token":")" + rt + "\"";
  return body + "}";
}

class OAuthClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/twoba-oauth-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    config_.token_url = "http://127.0.0.1:1/OAuth/Token";
    config_.api_base = "http://127.0.0.1:1/1/json";
    config_.client_id = "demo-client";
    config_.client_secret = "s3cr+t &=%/ é€";
    config_.store_path = dir_ + "/tokens.json";
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  // Seeds the store with a pair whose access token expired (by our clock) a second ago.
  void seed_expired(const std::string& at = "at-old", const std::string& rt = "rt-old") {
    TokenSet t;
    t.access_token = at;
    t.refresh_token = rt;
    t.expires_in = std::chrono::hours(1);
    t.obtained_at = token_now() - std::chrono::seconds(3601);
    t.expires_at = token_now() - std::chrono::seconds(1);
    ASSERT_TRUE(TokenStore(config_.store_path).save(t).ok());
  }

  void seed_fresh(const std::string& at = "at-old", const std::string& rt = "rt-old") {
    TokenSet t;
    t.access_token = at;
    t.refresh_token = rt;
    t.expires_in = std::chrono::hours(1);
    t.obtained_at = token_now();
    t.expires_at = token_now() + std::chrono::hours(1);
    ASSERT_TRUE(TokenStore(config_.store_path).save(t).ok());
  }

  std::optional<TokenSet> stored() {
    auto loaded = TokenStore(config_.store_path).load();
    EXPECT_TRUE(loaded.ok());
    return loaded.value_or(std::nullopt);
  }

  std::string dir_;
  ClientConfig config_;
};

TEST_F(OAuthClientTest, PasswordGrantEncodesEveryValueAndStores) {
  auto fake = std::make_shared<FakeTransport>(
      [](const HttpRequest&, int) { return reply(200, token_json("at-1", "rt+/=1")); });
  OAuthClient client(config_, fake);
  auto tokens = client.login_password("us er+&=", "p@ss w+rd&=%/é€");
  ASSERT_TRUE(tokens.ok()) << describe(tokens.error());
  const auto requests = fake->requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.content_type, "application/x-www-form-urlencoded");
  const auto form = form_of(req);
  EXPECT_EQ(form.at("grant_type"), "password");
  EXPECT_EQ(form.at("username"), "us er+&=");
  EXPECT_EQ(form.at("password"), "p@ss w+rd&=%/é€");
  EXPECT_EQ(form.at("client_id"), "demo-client");
  EXPECT_EQ(form.at("client_secret"), "s3cr+t &=%/ é€");
  EXPECT_FALSE(find_header(req.headers, "Authorization").has_value());
  ASSERT_TRUE(stored().has_value());
  EXPECT_EQ(stored()->refresh_token, "rt+/=1");
  EXPECT_EQ(stored()->access_token, "at-1");
}

TEST_F(OAuthClientTest, BasicClientAuthPutsNoSecretInTheBody) {
  config_.client_auth = ClientAuth::kBasic;
  auto fake = std::make_shared<FakeTransport>(
      [](const HttpRequest&, int) { return reply(200, token_json("at-1", "rt-1")); });
  OAuthClient client(config_, fake);
  ASSERT_TRUE(client.login_password("demo", "demo").ok());
  const HttpRequest req = fake->requests().at(0);
  const auto form = form_of(req);
  EXPECT_EQ(form.count("client_secret"), 0u);
  EXPECT_EQ(form.count("client_id"), 0u);
  EXPECT_EQ(find_header(req.headers, "Authorization"),
            "Basic " + base64_encode("demo-client:s3cr%2Bt+%26%3D%25%2F+%C3%A9%E2%82%AC"));
}

TEST_F(OAuthClientTest, SixteenThreadsWithAnExpiredTokenRefreshOnce) {
  seed_expired();
  auto fake = std::make_shared<FakeTransport>(
      [](const HttpRequest&, int) { return reply(200, token_json("at-new", "rt-new")); },
      std::chrono::milliseconds(50));
  OAuthClient client(config_, fake);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      auto t = client.valid_tokens();
      if (t.ok() && t.value().access_token == "at-new") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
  ASSERT_EQ(fake->requests().size(), 1u);
  EXPECT_EQ(form_of(fake->requests()[0]).at("refresh_token"), "rt-old");
  EXPECT_EQ(stored()->refresh_token, "rt-new");
}

TEST_F(OAuthClientTest, TwoClientObjectsOnOneStoreRefreshOnce) {
  seed_expired();
  auto fake = std::make_shared<FakeTransport>(
      [](const HttpRequest&, int i) {
        return reply(200, token_json("at-" + std::to_string(i), "rt-" + std::to_string(i)));
      },
      std::chrono::milliseconds(50));
  // Separate objects share only the store file (as two processes would).
  OAuthClient a(config_, fake);
  OAuthClient b(config_, fake);
  std::thread ta([&] { EXPECT_TRUE(a.refresh_after_rejection("at-old").ok()); });
  std::thread tb([&] { EXPECT_TRUE(b.refresh_after_rejection("at-old").ok()); });
  ta.join();
  tb.join();
  EXPECT_EQ(fake->requests().size(), 1u);
  EXPECT_EQ(stored()->refresh_token, "rt-0");
}

TEST_F(OAuthClientTest, RejectedTokenRefreshesOnceAcrossThreads) {
  seed_fresh();
  auto fake = std::make_shared<FakeTransport>([](const HttpRequest& req, int) {
    if (req.method == "GET") {
      const auto auth = find_header(req.headers, "Authorization");
      if (auth == "Bearer at-new") return reply(200, R"({"ok":true})");
      return reply(401, R"({"IsError":true})",
                   {{"WWW-Authenticate", "Bearer error=\"invalid_token\""}});
    }
    return reply(200, token_json("at-new", "rt-new"));
  });
  OAuthClient client(config_, fake);
  ApiClient api(client);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      auto r = api.get("/Product/Search?query=kabel");
      if (r.ok() && r.value().status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
  int posts = 0;
  for (const auto& r : fake->requests()) posts += r.method == "POST";
  EXPECT_EQ(posts, 1);
  EXPECT_EQ(fake->requests()[0].url, "http://127.0.0.1:1/1/json/Product/Search?query=kabel");
}

TEST_F(OAuthClientTest, A401IsRefreshedAtMostOncePerCall) {
  seed_fresh();
  auto fake = std::make_shared<FakeTransport>([](const HttpRequest& req, int) {
    if (req.method == "GET") {
      return reply(401, "", {{"WWW-Authenticate", "Bearer error=\"invalid_token\""}});
    }
    return reply(200, token_json("at-new", "rt-new"));
  });
  OAuthClient client(config_, fake);
  ApiClient api(client);
  auto r = api.get("/Product/Search?query=x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().status, 401);
  ASSERT_EQ(fake->requests().size(), 3u);  // GET, refresh, GET
  EXPECT_EQ(find_header(fake->requests()[2].headers, "Authorization"), "Bearer at-new");
}

TEST_F(OAuthClientTest, OtherBearerErrorsAreNotRefreshed) {
  seed_fresh();
  auto fake = std::make_shared<FakeTransport>([](const HttpRequest&, int) {
    return reply(401, "", {{"WWW-Authenticate", "Bearer error=\"insufficient_scope\""}});
  });
  OAuthClient client(config_, fake);
  ApiClient api(client);
  auto r = api.get("/x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(fake->requests().size(), 1u);
}

TEST_F(OAuthClientTest, Bare400OnRefreshMeansReloginAndClearsTheStore) {
  for (const char* body : {"", R"({"error":"invalid_grant"})", R"({"error":"invalid_request"})",
                           "<html>bad request</html>"}) {
    seed_expired();
    auto fake =
        std::make_shared<FakeTransport>([&](const HttpRequest&, int) { return reply(400, body); });
    OAuthClient client(config_, fake);
    auto t = client.valid_tokens();
    ASSERT_FALSE(t.ok()) << body;
    EXPECT_EQ(t.error().kind, ErrorKind::kReloginRequired) << body;
    EXPECT_EQ(fake->requests().size(), 1u) << "a terminal error must not be retried";
    EXPECT_FALSE(stored().has_value()) << body;
    // The next attempt needs a login; nothing is sent, least of all a password.
    auto again = client.valid_tokens();
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().kind, ErrorKind::kReloginRequired);
    EXPECT_EQ(fake->requests().size(), 1u);
    for (const auto& req : fake->requests()) {
      EXPECT_EQ(form_of(req).count("password"), 0u);
    }
  }
}

TEST_F(OAuthClientTest, ServiceUnavailableHonoursRetryAfterAndKeepsTokens) {
  seed_expired();
  auto fake = std::make_shared<FakeTransport>([](const HttpRequest&, int i) {
    if (i == 0) return reply(503, "", {{"Retry-After", "1"}});
    return reply(200, token_json("at-new", "rt-new"));
  });
  OAuthClient client(config_, fake);
  auto t = client.valid_tokens();
  ASSERT_TRUE(t.ok()) << describe(t.error());
  const auto times = fake->times();
  ASSERT_EQ(times.size(), 2u);
  EXPECT_GE(times[1] - times[0], std::chrono::milliseconds(1000));
  EXPECT_EQ(form_of(fake->requests()[1]).at("refresh_token"), "rt-old");
}

TEST_F(OAuthClientTest, PersistentOverloadGivesUpBoundedAndKeepsTokens) {
  seed_expired();
  config_.max_retries = 3;
  auto fake = std::make_shared<FakeTransport>([](const HttpRequest&, int) {
    return reply(429, "", {{"Retry-After", "0"}});
  });
  OAuthClient client(config_, fake);
  auto t = client.valid_tokens();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind, ErrorKind::kHttp);
  EXPECT_EQ(t.error().http_status, 429);
  EXPECT_EQ(fake->requests().size(), 4u);
  ASSERT_TRUE(stored().has_value());
  EXPECT_EQ(stored()->refresh_token, "rt-old");
}

TEST_F(OAuthClientTest, RetryAfterBeyondTheLimitIsNotWaitedFor) {
  seed_expired();
  config_.max_retry_wait = std::chrono::seconds(5);
  auto fake = std::make_shared<FakeTransport>([](const HttpRequest&, int) {
    return reply(503, "", {{"Retry-After", "3600"}});
  });
  OAuthClient client(config_, fake);
  const auto start = std::chrono::steady_clock::now();
  auto t = client.valid_tokens();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().http_status, 503);
  EXPECT_EQ(fake->requests().size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(stored()->refresh_token, "rt-old");
}

TEST_F(OAuthClientTest, TransportErrorKeepsTokens) {
  seed_expired();
  auto fake = std::make_shared<FakeTransport>([](const HttpRequest&, int) -> Result<HttpResponse> {
    return Error::transport("connection refused");
  });
  OAuthClient client(config_, fake);
  auto t = client.valid_tokens();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind, ErrorKind::kTransport);
  EXPECT_EQ(stored()->refresh_token, "rt-old");
}

TEST_F(OAuthClientTest, RefreshWithoutNewRefreshTokenKeepsTheOldOne) {
  seed_expired();
  auto fake = std::make_shared<FakeTransport>(
      [](const HttpRequest&, int) { return reply(200, token_json("at-new", "")); });
  OAuthClient client(config_, fake);
  ASSERT_TRUE(client.valid_tokens().ok());
  EXPECT_EQ(stored()->access_token, "at-new");
  EXPECT_EQ(stored()->refresh_token, "rt-old");
  ASSERT_TRUE(client.force_refresh().ok());
  EXPECT_EQ(form_of(fake->requests()[1]).at("refresh_token"), "rt-old");
}

TEST_F(OAuthClientTest, RefreshSendsClientCredentialsAndEncodedToken) {
  seed_expired("at", "rt+/==");
  auto fake = std::make_shared<FakeTransport>(
      [](const HttpRequest&, int) { return reply(200, token_json("at-new", "rt-new")); });
  OAuthClient client(config_, fake);
  ASSERT_TRUE(client.force_refresh().ok());
  const auto form = form_of(fake->requests()[0]);
  EXPECT_EQ(form.at("grant_type"), "refresh_token");
  EXPECT_EQ(form.at("refresh_token"), "rt+/==");
  EXPECT_EQ(form.at("client_secret"), "s3cr+t &=%/ é€");
  EXPECT_NE(fake->requests()[0].body.find("rt%2B%2F%3D%3D"), std::string::npos);
}

TEST_F(OAuthClientTest, MalformedSuccessReplyKeepsTokens) {
  seed_expired();
  auto fake = std::make_shared<FakeTransport>(
      [](const HttpRequest&, int) { return reply(200, "{not json"); });
  OAuthClient client(config_, fake);
  auto t = client.force_refresh();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind, ErrorKind::kParse);
  EXPECT_EQ(stored()->refresh_token, "rt-old");
}

TEST_F(OAuthClientTest, NotLoggedInIsReloginRequired) {
  auto fake =
      std::make_shared<FakeTransport>([](const HttpRequest&, int) { return reply(500, ""); });
  OAuthClient client(config_, fake);
  auto t = client.valid_tokens();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind, ErrorKind::kReloginRequired);
  EXPECT_TRUE(fake->requests().empty());
}

// Tokens kept in memory: what a caller with its own storage (a keychain, a database) writes.
class MemoryStorage final : public TokenStorage {
 public:
  Result<std::optional<TokenSet>> load() const override {
    std::lock_guard<std::mutex> guard(mutex_);
    return tokens_;
  }
  Status save(const TokenSet& tokens) override {
    std::lock_guard<std::mutex> guard(mutex_);
    tokens_ = tokens;
    return Ok{};
  }
  Status remove() override {
    std::lock_guard<std::mutex> guard(mutex_);
    tokens_.reset();
    return Ok{};
  }
  Result<std::unique_ptr<Lock>> lock() override {
    ++locks_taken;
    return std::unique_ptr<Lock>(std::make_unique<Held>(exclusive_));
  }
  std::atomic<int> locks_taken{0};

 private:
  class Held final : public Lock {
   public:
    explicit Held(std::mutex& m) : guard_(m) {}

   private:
    std::lock_guard<std::mutex> guard_;
  };
  mutable std::mutex mutex_;
  std::mutex exclusive_;
  std::optional<TokenSet> tokens_;
};

TEST_F(OAuthClientTest, KeepsTokensInTheStorageItIsGiven) {
  auto fake = std::make_shared<FakeTransport>([](const HttpRequest& req, int) {
    return form_of(req).at("grant_type") == "password" ? reply(200, token_json("at-1", "rt-1"))
                                                       : reply(200, token_json("at-2", "rt-2"));
  });
  auto memory = std::make_shared<MemoryStorage>();
  OAuthClient client(config_, fake, memory);
  EXPECT_EQ(client.storage(), memory);
  ASSERT_TRUE(client.login_password("demo", "demo").ok());
  EXPECT_EQ(memory->load()->value_or(TokenSet{}).refresh_token, "rt-1");
  auto refreshed = client.force_refresh();
  ASSERT_TRUE(refreshed.ok()) << describe(refreshed.error());
  EXPECT_EQ(form_of(fake->requests().at(1)).at("refresh_token"), "rt-1");
  EXPECT_EQ(memory->load()->value_or(TokenSet{}).refresh_token, "rt-2");
  EXPECT_GE(memory->locks_taken.load(), 2);  // the login's save and the refresh
  EXPECT_FALSE(stored().has_value()) << "the default file store was written";
  ASSERT_TRUE(client.logout().ok());
  EXPECT_FALSE(memory->load()->has_value());
}

TEST_F(OAuthClientTest, PlainHttpToARemoteHostIsRefused) {
  config_.token_url = "http://authorize.example.invalid/OAuth/Token";
  OAuthClient client(config_);
  auto t = client.login_password("demo", "demo");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind, ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace twoba
