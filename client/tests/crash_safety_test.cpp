// kill -9 a refreshing twoba-client again and again: the store must always hold a whole pair
// that the server still accepts, or the pair just before it (when the kill fell between the
// server's rotation and our write).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "mock_process.h"
#include "twoba/oauth_client.h"

namespace twoba {
namespace {

using testing::json;
using testing::MockServer;
using testing::Subprocess;
using testing::TempDir;

// A killed client may still have a request in flight: its bytes reached the kernel before the
// kill, and the server answers it a moment later. Judge only once the journal has stood still.
void wait_for_quiet_server(const MockServer& mock) {
  constexpr auto kQuiet = std::chrono::milliseconds(50);
  auto next_seq = [&] {
    return mock.get("/__mock/requests?since=18446744073709551").value("next_seq", 0);
  };
  int last = next_seq();
  auto stable_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - stable_since < kQuiet) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    int now = next_seq();
    if (now != last) {
      last = now;
      stable_since = std::chrono::steady_clock::now();
    }
  }
}

// The mock's state of a token ("active", "rotated", ...), "" when it does not know it.
std::string token_state(const json& grants, const char* list, const std::string& token) {
  for (const json& grant : grants) {
    for (const json& entry : grant[list]) {
      if (entry["token"] == token) return entry["state"];
    }
  }
  return {};
}

TEST(CrashSafety, KillNineDuringRefreshNeverLosesThePair) {
  constexpr int kKills = 220;
  // Generous: the loop is bounded by kKills; the budget only guards a hung run on a loaded machine.
  const auto budget = std::chrono::seconds(240);
  MockServer mock;
  TempDir dir;
  const std::string store_path = dir.path() + "/tokens.json";
  const ClientConfig config = testing::demo_config(mock, store_path);
  ASSERT_TRUE(OAuthClient(config).login_password("demo", "demo").ok());
  const TokenStore store(store_path);
  // Delays spread across process start, the request, the write and the rename: over the time a
  // whole refresh takes here (about 10 ms in a plain build, far more under a sanitizer or load),
  // so every stage is hit whatever the build.
  auto whole_refresh = std::chrono::microseconds::max();
  for (int i = 0; i < 3; ++i) {
    const auto began = std::chrono::steady_clock::now();
    Subprocess refresh({TWOBA_CLIENT_CLI, "refresh"}, testing::demo_env(mock, store_path));
    ASSERT_EQ(refresh.wait(), 0);
    whole_refresh = std::min(whole_refresh, std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - began));
  }
  std::mt19937 random(12345);
  std::uniform_int_distribution<int64_t> delay_us(
      0, std::max<int64_t>(25000, whole_refresh.count() * 3 / 2));

  int rotated_and_saved = 0;
  int killed_before_rotation = 0;
  int killed_after_rotation = 0;
  const auto start = std::chrono::steady_clock::now();
  int kills = 0;
  for (; kills < kKills && std::chrono::steady_clock::now() - start < budget; ++kills) {
    const auto before = store.load();
    ASSERT_TRUE(before.ok() && before->has_value());
    const TokenSet previous = **before;

    Subprocess refresh({TWOBA_CLIENT_CLI, "refresh"}, testing::demo_env(mock, store_path));
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    refresh.kill(SIGKILL);
    refresh.wait();
    wait_for_quiet_server(mock);

    const auto after = store.load();
    ASSERT_TRUE(after.ok()) << "store unreadable after kill " << kills << ": "
                            << describe(after.error());
    ASSERT_TRUE(after.value().has_value()) << "store vanished after kill " << kills;
    const TokenSet& now = *after.value();
    const json grants = mock.grants();
    const std::string rt_state = token_state(grants, "refresh_tokens", now.refresh_token);
    if (rt_state == "active") {
      EXPECT_EQ(token_state(grants, "access_tokens", now.access_token), "active");
      if (now.refresh_token == previous.refresh_token) {
        ++killed_before_rotation;
      } else {
        ++rotated_and_saved;
      }
      continue;
    }
    // Otherwise only the pair just before the server's newest one is acceptable.
    ASSERT_EQ(now.refresh_token, previous.refresh_token) << "after kill " << kills;
    ASSERT_EQ(now.access_token, previous.access_token) << "after kill " << kills;
    ASSERT_EQ(rt_state, "rotated") << "after kill " << kills;
    ++killed_after_rotation;
    // That grant cannot continue without the lost reply: start a new one.
    ASSERT_TRUE(OAuthClient(config).login_password("demo", "demo").ok());
  }
  std::printf(
      "kills=%d rotated_and_saved=%d killed_before_rotation=%d "
      "killed_after_rotation=%d elapsed_ms=%lld\n",
      kills, rotated_and_saved, killed_before_rotation, killed_after_rotation,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - start)
                                 .count()));
  EXPECT_GE(kills, 200);
  // The loop must really have hit refreshes at different stages.
  EXPECT_GT(rotated_and_saved, 0);
  EXPECT_GT(killed_before_rotation, 0);
}

}  // namespace
}  // namespace twoba
