// Mixed load against the mock_server binary: password grants, refreshes, product-API calls and
// control-API reads, with zero 5xx and a resident set that levels off. TWOBA_SOAK_SECONDS sets
// the length (the test command runs a short soak; ci/soak runs 60 s).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/form.h"
#include "reliability_support.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

int soak_seconds() {
  const char* text = std::getenv("TWOBA_SOAK_SECONDS");
  return text ? std::max(2, std::atoi(text)) : 8;
}

TEST(Soak, MixedLoadHasNoServerErrorsAndMemoryLevelsOff) {
  testing::TempDir dir;
  testing::ChildServer server({"--quiet", "--journal-capacity", "2000"}, dir.file("stderr.log"));
  ASSERT_TRUE(server.ready()) << testing::read_file(dir.file("stderr.log"));
  const int kWorkers = 6;
  const double duration = soak_seconds();
  std::atomic<bool> stop{false};
  std::atomic<long> requests{0}, server_errors{0}, no_reply{0}, ok{0};

  auto count = [&](const httplib::Result& res) {
    ++requests;
    if (!res) {
      ++no_reply;
    } else if (res->status >= 500) {
      ++server_errors;
    } else if (res->status == 200) {
      ++ok;
    }
  };
  auto worker = [&](int id) {
    httplib::Client client("127.0.0.1", server.port());
    client.set_tcp_nodelay(true);
    client.set_keep_alive(true);
    const std::string auth = "&client_id=demo-client&client_secret=demo-secret";
    while (!stop) {
      auto login =
          client.Post("/OAuth/Token", "grant_type=password&username=demo&password=demo" + auth,
                      "application/x-www-form-urlencoded");
      count(login);
      if (!login || login->status != 200) continue;
      json tokens = json::parse(login->body);
      std::string access = tokens["access_token"];
      std::string refresh = tokens["refresh_token"];
      for (int i = 0; i < 3 && !stop; ++i) {
        auto api =
            client.Get("/1/json/Product/Search?query=a", {{"Authorization", "Bearer " + access}});
        count(api);
        auto next = client.Post(
            "/OAuth/Token", "grant_type=refresh_token&refresh_token=" + form_encode(refresh) + auth,
            "application/x-www-form-urlencoded");
        count(next);
        if (!next || next->status != 200) break;  // expired by the clock ticker: log in again
        json body = json::parse(next->body);
        access = body["access_token"];
        refresh = body["refresh_token"];
      }
      static const char* kReads[] = {"/__mock/health", "/__mock/clock", "/__mock/faults",
                                     "/__mock/requests?since=999999999",
                                     "/__mock/tokens?user=nobody"};
      count(client.Get(kReads[(id + requests) % 5]));
    }
  };
  // Virtual time runs a day per quarter second, so tokens expire and are purged as they would
  // over weeks of real use; without it the store would rightly keep every 14-day refresh token.
  auto ticker = [&] {
    httplib::Client client("127.0.0.1", server.port());
    client.set_tcp_nodelay(true);
    while (!stop) {
      count(client.Post("/__mock/clock", R"({"advance":86400})", "application/json"));
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  };

  long rss_start = testing::rss_kib(server.pid());
  std::vector<std::thread> threads;
  for (int i = 0; i < kWorkers; ++i) threads.emplace_back(worker, i);
  threads.emplace_back(ticker);
  auto start = Clock::now();
  long rss_third = 0, rss_peak = 0;
  while (std::chrono::duration<double>(Clock::now() - start).count() < duration) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    long rss = testing::rss_kib(server.pid());
    rss_peak = std::max(rss_peak, rss);
    if (!rss_third && std::chrono::duration<double>(Clock::now() - start).count() >= duration / 3)
      rss_third = rss;
  }
  long rss_end = testing::rss_kib(server.pid());
  stop = true;
  for (auto& th : threads) th.join();

  std::printf(
      "soak: %.0f s, %ld requests (%ld ok), %ld 5xx, %ld without reply; RSS start %ld KiB, "
      "at 1/3 %ld KiB, end %ld KiB, peak %ld KiB\n",
      duration, requests.load(), ok.load(), server_errors.load(), no_reply.load(), rss_start,
      rss_third, rss_end, rss_peak);
  EXPECT_EQ(server_errors.load(), 0);
  EXPECT_EQ(no_reply.load(), 0);
  EXPECT_GT(ok.load(), 1000);
  // Levels off: the last two thirds add at most a quarter to what the first third reached.
  EXPECT_LE(rss_end, rss_third + rss_third / 4 + 4096);
  EXPECT_EQ(server.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace mock2ba
