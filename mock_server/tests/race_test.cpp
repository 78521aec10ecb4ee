// Concurrent refreshes through HTTP: rotation is atomic, so every refresh token wins exactly
// once and no rotation is lost. Sizes scale down with TWOBA_RACE_SCALE for sanitizer builds.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/form.h"
#include "reliability_support.h"
#include "server/server.h"

namespace mock2ba {
namespace {

using nlohmann::json;

// Divides the default sizes, e.g. TWOBA_RACE_SCALE=10 under ThreadSanitizer.
int scaled(int n) {
  const char* scale = std::getenv("TWOBA_RACE_SCALE");
  int divisor = scale ? std::max(1, std::atoi(scale)) : 1;
  return std::max(1, n / divisor);
}

httplib::Client make_client(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_tcp_nodelay(true);
  client.set_keep_alive(true);
  client.set_read_timeout(30, 0);
  return client;
}

const char* kClientAuth = "&client_id=demo-client&client_secret=demo-secret";

std::string login(httplib::Client& client) {
  auto res = client.Post(
      "/OAuth/Token", std::string("grant_type=password&username=demo&password=demo") + kClientAuth,
      "application/x-www-form-urlencoded");
  if (!res || res->status != 200) return "";
  return json::parse(res->body).value("refresh_token", "");
}

struct RefreshOutcome {
  int status = 0;  // 0: no reply
  std::string error;
  std::string refresh_token;
  std::string transport;  // the client's error when there was no reply
};

RefreshOutcome refresh(httplib::Client& client, const std::string& token) {
  auto res = client.Post(
      "/OAuth/Token", "grant_type=refresh_token&refresh_token=" + form_encode(token) + kClientAuth,
      "application/x-www-form-urlencoded");
  RefreshOutcome out;
  if (!res) {
    out.transport = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  json body = json::parse(res->body, nullptr, false);
  if (res->status == 200) {
    out.refresh_token = body.value("refresh_token", "");
  } else if (body.is_object()) {
    out.error = body.value("error", "");
  }
  return out;
}

class RefreshRaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options = testing::test_server_options();
    options.threads = 2;
    options.journal_capacity = 1000;
    server_ = std::make_unique<MockServer>(options);
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }
  void TearDown() override { server_->stop(); }

  std::unique_ptr<MockServer> server_;
};

// 64 threads × 1000 refreshes over 64 grants: each thread walks the grants in its own order, so
// several threads often present the same refresh token at once.
TEST_F(RefreshRaceTest, EveryRefreshTokenWinsExactlyOnceAndNoRotationIsLost) {
  const int kThreads = 64;
  const int kGrants = 64;
  const int kRefreshesPerThread = scaled(1000);

  struct GrantSlot {
    std::mutex mutex;
    std::string current;  // the newest refresh token seen for this grant
    int wins = 0;
  };
  std::vector<GrantSlot> grants(kGrants);
  {
    auto client = make_client(server_->port());
    for (auto& g : grants) {
      g.current = login(client);
      ASSERT_FALSE(g.current.empty());
    }
  }
  std::mutex wins_mutex;
  std::map<std::string, int> wins_per_token;  // presented token -> number of 200s
  std::map<std::string, int> issued_by;       // new token -> number of times issued
  std::atomic<int> ok{0}, invalid_grant{0}, other{0};

  auto worker = [&](int t) {
    auto client = make_client(server_->port());
    for (int i = 0; i < kRefreshesPerThread; ++i) {
      GrantSlot& g = grants[(t * 7 + i) % kGrants];
      std::string presented;
      {
        std::lock_guard<std::mutex> lock(g.mutex);
        presented = g.current;
      }
      RefreshOutcome out = refresh(client, presented);
      if (out.status == 200) {
        ++ok;
        std::lock_guard<std::mutex> lock(g.mutex);
        ++g.wins;
        // The winner's successor replaces the token it presented; a slower winner of an
        // older token cannot exist, since each token wins only once (checked below).
        if (g.current == presented) g.current = out.refresh_token;
        std::lock_guard<std::mutex> wins_lock(wins_mutex);
        ++wins_per_token[presented];
        ++issued_by[out.refresh_token];
      } else if (out.status == 400 && out.error == "invalid_grant") {
        ++invalid_grant;
      } else {
        if (++other <= 5) {
          std::printf("unexpected reply: status %d error '%s' (%s)\n", out.status,
                      out.error.c_str(), out.transport.c_str());
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();

  std::printf("refresh race: %d refreshes, %d won, %d lost with invalid_grant, %d other\n",
              kThreads * kRefreshesPerThread, ok.load(), invalid_grant.load(), other.load());
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load() + invalid_grant.load(), kThreads * kRefreshesPerThread);
  EXPECT_GT(ok.load(), kGrants);
  for (const auto& [token, wins] : wins_per_token)
    EXPECT_EQ(wins, 1) << "a refresh token won " << wins << " times";
  for (const auto& [token, count] : issued_by)
    EXPECT_EQ(count, 1) << "a refresh token was issued twice";

  // No lost rotation: each grant's newest token is the one the server holds as active, and the
  // server counted exactly as many refreshes as clients saw succeed.
  json described = server_->root().state()->store.describe(std::nullopt, std::nullopt,
                                                           server_->root().state()->clock.now_ms());
  ASSERT_EQ(described["grants"].size(), static_cast<size_t>(kGrants));
  std::map<std::string, int> refreshes_by_active_token;
  for (const auto& grant : described["grants"]) {
    int active = 0;
    for (const auto& rt : grant["refresh_tokens"]) {
      if (rt["state"] == "active") {
        ++active;
        refreshes_by_active_token[rt["token"]] = grant["refreshes"];
      }
    }
    EXPECT_EQ(active, 1) << grant.dump();
  }
  auto client = make_client(server_->port());
  for (auto& g : grants) {
    ASSERT_TRUE(refreshes_by_active_token.count(g.current))
        << "the newest token a client saw is not active";
    EXPECT_EQ(refreshes_by_active_token[g.current], g.wins);
    EXPECT_EQ(refresh(client, g.current).status, 200) << "the newest token no longer refreshes";
  }
}

// Many threads released at once with the same refresh token: exactly one 200.
TEST_F(RefreshRaceTest, SameTokenFromManyThreadsHasOneWinner) {
  const int kThreads = 32;
  const int kRounds = scaled(20);
  auto setup = make_client(server_->port());
  std::string token = login(setup);
  ASSERT_FALSE(token.empty());
  std::vector<httplib::Client> clients;
  for (int t = 0; t < kThreads; ++t) clients.push_back(make_client(server_->port()));
  for (int round = 0; round < kRounds; ++round) {
    std::mutex mutex;
    std::condition_variable go;
    bool released = false;
    std::vector<RefreshOutcome> outcomes(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        auto& client = clients[t];
        client.Get("/__mock/health");  // connect before the start signal
        std::unique_lock<std::mutex> lock(mutex);
        go.wait(lock, [&] { return released; });
        lock.unlock();
        outcomes[t] = refresh(client, token);
      });
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      released = true;
    }
    go.notify_all();
    for (auto& th : threads) th.join();
    int winners = 0;
    std::string next;
    for (const auto& out : outcomes) {
      if (out.status == 200) {
        ++winners;
        next = out.refresh_token;
      } else {
        EXPECT_EQ(out.status, 400);
        EXPECT_EQ(out.error, "invalid_grant");
      }
    }
    ASSERT_EQ(winners, 1) << "round " << round;
    token = next;
  }
}

}  // namespace
}  // namespace mock2ba
