// --state-file: tokens, grants and the clock survive a restart, including kill -9 under load; a
// deep or planted file is refused, and spent tokens leave the file.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "http/form.h"
#include "oauth/fixture.h"
#include "reliability_support.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::nested_arrays;

const std::string kAuth = "&client_id=demo-client&client_secret=demo-secret";
const char* kForm = "application/x-www-form-urlencoded";

httplib::Client client_for(const testing::ChildServer& server) {
  httplib::Client client("127.0.0.1", server.port());
  client.set_tcp_nodelay(true);
  client.set_keep_alive(true);
  return client;
}

// Tokens a client holds: it got them in a 200 and has not sent them back since.
struct Held {
  std::mutex mutex;
  std::vector<std::string> access;
  std::set<std::string> refresh;
};

void load_until_killed(int port, Held* held, std::atomic<bool>* stop) {
  httplib::Client client("127.0.0.1", port);
  client.set_tcp_nodelay(true);
  client.set_keep_alive(true);
  while (!*stop) {
    auto login = client.Post("/OAuth/Token",
                             "grant_type=password&username=demo&password=demo" + kAuth, kForm);
    if (!login || login->status != 200) return;  // the server is gone
    json body = json::parse(login->body);
    std::string refresh = body["refresh_token"];
    {
      std::lock_guard<std::mutex> lock(held->mutex);
      held->access.push_back(body["access_token"]);
      held->refresh.insert(refresh);
    }
    for (int i = 0; i < 5; ++i) {
      {
        std::lock_guard<std::mutex> lock(held->mutex);
        held->refresh.erase(refresh);  // sent back: it may be rotated even if no reply comes
      }
      auto next = client.Post(
          "/OAuth/Token", "grant_type=refresh_token&refresh_token=" + form_encode(refresh) + kAuth,
          kForm);
      if (!next || next->status != 200) return;
      body = json::parse(next->body);
      refresh = body["refresh_token"];
      std::lock_guard<std::mutex> lock(held->mutex);
      held->access.push_back(body["access_token"]);
      held->refresh.insert(refresh);
    }
  }
}

TEST(StateFile, EveryTokenThatGotA200SurvivesKill9) {
  testing::TempDir dir;
  const std::string state = dir.file("state.json");
  Held held;
  long clock_offset_before = 0;
  {
    testing::ChildServer server({"--quiet", "--state-file", state}, dir.file("first.log"));
    ASSERT_TRUE(server.ready()) << testing::read_file(dir.file("first.log"));
    auto control = client_for(server);
    auto clock = control.Post("/__mock/clock", R"({"advance":100000})", "application/json");
    ASSERT_TRUE(clock && clock->status == 200);
    clock_offset_before =
        json::parse(clock->body)["now"].get<long>() - static_cast<long>(time(nullptr));

    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
      threads.emplace_back(load_until_killed, server.port(), &held, &stop);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    int status = server.stop(SIGKILL);  // in the middle of the load
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    stop = true;
    for (auto& t : threads) t.join();
  }
  ASSERT_GT(held.access.size(), 20u) << "too little load before the kill";

  testing::ChildServer server({"--quiet", "--state-file", state}, dir.file("second.log"));
  ASSERT_TRUE(server.ready()) << testing::read_file(dir.file("second.log"));
  auto client = client_for(server);
  auto clock = client.Get("/__mock/clock");
  ASSERT_TRUE(clock && clock->status == 200);
  long offset_after =
      json::parse(clock->body)["now"].get<long>() - static_cast<long>(time(nullptr));
  EXPECT_NEAR(offset_after, clock_offset_before, 3) << "the clock offset was not kept";

  size_t access_ok = 0, refresh_ok = 0;
  for (const auto& token : held.access) {
    auto res = client.Get("/1/json/Product/Search?query=a", {{"Authorization", "Bearer " + token}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << "an access token that got a 200 was lost: " << res->body;
    access_ok += res->status == 200;
  }
  for (const auto& token : held.refresh) {
    auto res =
        client.Post("/OAuth/Token",
                    "grant_type=refresh_token&refresh_token=" + form_encode(token) + kAuth, kForm);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << "a refresh token that got a 200 was lost: " << res->body;
    refresh_ok += res->status == 200;
  }
  std::printf(
      "state file: after kill -9, %zu/%zu access tokens and %zu/%zu refresh tokens still valid\n",
      access_ok, held.access.size(), refresh_ok, held.refresh.size());
  EXPECT_EQ(server.stop(SIGTERM), 0);
}

TEST(StateFile, RevocationsAndCodesSurviveARestart) {
  testing::TempDir dir;
  const std::string state = dir.file("state.json");
  std::string revoked_access, code;
  {
    testing::ChildServer server({"--quiet", "--state-file", state}, dir.file("first.log"));
    ASSERT_TRUE(server.ready());
    auto client = client_for(server);
    auto login = client.Post("/OAuth/Token",
                             "grant_type=password&username=demo&password=demo" + kAuth, kForm);
    ASSERT_TRUE(login && login->status == 200);
    revoked_access = json::parse(login->body)["access_token"];
    auto revoke = client.Post("/__mock/tokens/revoke", json{{"token", revoked_access}}.dump(),
                              "application/json");
    ASSERT_TRUE(revoke && revoke->status == 200);
    auto issued = client.Post(
        "/__mock/codes",
        R"({"client_id":"demo-client","username":"demo","redirect_uri":"http://127.0.0.1/callback"})",
        "application/json");
    ASSERT_TRUE(issued && issued->status == 200) << (issued ? issued->body : "");
    code = json::parse(issued->body)["code"];
    EXPECT_EQ(server.stop(SIGKILL), SIGKILL);
  }
  testing::ChildServer server({"--quiet", "--state-file", state}, dir.file("second.log"));
  ASSERT_TRUE(server.ready());
  auto client = client_for(server);
  auto api =
      client.Get("/1/json/Product/Search?query=a", {{"Authorization", "Bearer " + revoked_access}});
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 401) << "a revoked token came back to life";
  auto redeem = client.Post("/OAuth/Token",
                            "grant_type=authorization_code&code=" + form_encode(code) +
                                "&redirect_uri=" + form_encode("http://127.0.0.1/callback") + kAuth,
                            kForm);
  ASSERT_TRUE(redeem);
  EXPECT_EQ(redeem->status, 200) << redeem->body;
}

TEST(StateFile, AnUnreadableStateFileStopsTheStartWithExit2) {
  testing::TempDir dir;
  testing::write_file(dir.file("state.json"), "{not json");
  testing::ChildServer server({"--quiet", "--state-file", dir.file("state.json")},
                              dir.file("err.log"));
  EXPECT_FALSE(server.ready());
  int status = server.stop(SIGKILL);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
  EXPECT_NE(testing::read_file(dir.file("err.log")).find(dir.file("state.json")),
            std::string::npos);
}

// Runs a mock on `state`, logs in `logins` times and kills it with -9; returns the access tokens
// that got a 200.
std::vector<std::string> log_in_then_kill9(const testing::TempDir& dir, const std::string& state,
                                           int logins) {
  std::vector<std::string> access;
  testing::ChildServer server({"--quiet", "--state-file", state}, dir.file("first.log"));
  EXPECT_TRUE(server.ready());
  auto client = client_for(server);
  for (int i = 0; i < logins; ++i) {
    auto login = client.Post("/OAuth/Token",
                             "grant_type=password&username=demo&password=demo" + kAuth, kForm);
    if (login && login->status == 200) access.push_back(json::parse(login->body)["access_token"]);
  }
  EXPECT_EQ(server.stop(SIGKILL), SIGKILL);
  return access;
}

// A crash in the middle of an append leaves a last line without its newline; no reply waited
// for it. A restart leaves that line out and keeps everything before it.
TEST(StateFile, ALastLineCutShortByACrashIsLeftOut) {
  testing::TempDir dir;
  const std::string state = dir.file("state.json");
  std::vector<std::string> access = log_in_then_kill9(dir, state, 1);
  ASSERT_EQ(access.size(), 1u);
  std::string text = testing::read_file(state);
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << "expected a snapshot and one line";
  testing::write_file(state, text + R"({"clock":{"now_ms":17)");

  testing::ChildServer server({"--quiet", "--state-file", state}, dir.file("second.log"));
  ASSERT_TRUE(server.ready()) << testing::read_file(dir.file("second.log"));
  auto client = client_for(server);
  auto api =
      client.Get("/1/json/Product/Search?query=a", {{"Authorization", "Bearer " + access[0]}});
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200) << "the line before the cut was lost: " << api->body;
  EXPECT_NE(testing::read_file(dir.file("second.log")).find("line 3 was cut short"),
            std::string::npos);
}

// A complete line that is not what the mock writes means the file was damaged or edited: the
// start stops with exit 2, naming the file and the line, rather than serve a partial state.
TEST(StateFile, ADamagedLineBeforeTheLastStopsTheStartNamingFileAndLine) {
  testing::TempDir dir;
  const std::string state = dir.file("state.json");
  ASSERT_EQ(log_in_then_kill9(dir, state, 2).size(), 2u);
  std::vector<std::string> lines;
  std::istringstream in(testing::read_file(state));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u) << "expected a snapshot and two lines";
  for (const std::string damaged : {R"({"clock":{"now_ms":17)", R"({"store":{"grants":5}})"}) {
    testing::write_file(state, lines[0] + "\n" + damaged + "\n" + lines[2] + "\n");
    testing::ChildServer server({"--quiet", "--state-file", state}, dir.file("second.log"));
    EXPECT_FALSE(server.ready()) << damaged;
    int status = server.stop(SIGKILL);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
    std::string log = testing::read_file(dir.file("second.log"));
    EXPECT_NE(log.find("--state-file " + state + ": line 2: "), std::string::npos) << log;
    EXPECT_EQ(log.find(state), log.rfind(state)) << "the file is named once: " << log;
  }
}

// Not a pass/fail threshold on speed, only a ceiling: prints what a durable write costs.
TEST(StateFile, CostOfWritingBeforeEachReply) {
  testing::TempDir dir;
  auto measure = [&](const std::vector<std::string>& args) {
    testing::ChildServer server(args, dir.file("cost.log"));
    EXPECT_TRUE(server.ready());
    auto client = client_for(server);
    auto login = client.Post("/OAuth/Token",
                             "grant_type=password&username=demo&password=demo" + kAuth, kForm);
    std::string refresh = json::parse(login->body)["refresh_token"];
    const int kRounds = 200;
    auto start = Clock::now();
    for (int i = 0; i < kRounds; ++i) {
      auto next = client.Post(
          "/OAuth/Token", "grant_type=refresh_token&refresh_token=" + form_encode(refresh) + kAuth,
          kForm);
      refresh = json::parse(next->body)["refresh_token"];
    }
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / kRounds;
  };
  double plain = measure({"--quiet"});
  double durable = measure({"--quiet", "--state-file", dir.file("state.json")});
  std::printf(
      "state file: a sequential refresh takes %.3f ms without and %.3f ms with --state-file\n",
      plain, durable);
  EXPECT_LT(durable, 50.0);
}

TEST(DeepJsonFiles, DeepFixtureFileAndStateFileAreRefusedWithAClearMessage) {
  testing::TempDir dir;
  testing::write_file(dir.file("deep.json"), "{\"users\":" + nested_arrays(100000) + "}");
  try {
    load_fixture_file(dir.file("deep.json"));
    ADD_FAILURE() << "a fixture nested 100,000 deep was accepted";
  } catch (const FixtureError& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than 64"), std::string::npos) << e.what();
  }
  testing::write_file(dir.file("state.json"), "{\"store\":" + nested_arrays(100000) + "}");
  testing::ChildServer server({"--quiet", "--state-file", dir.file("state.json")},
                              dir.file("err.log"));
  EXPECT_FALSE(server.ready());
  int status = server.stop(SIGKILL);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
  EXPECT_NE(testing::read_file(dir.file("err.log")).find("nested deeper than 64"),
            std::string::npos);
}

const std::string kLogin =
    "grant_type=password&username=demo&password=demo&client_id=demo-client&client_secret=demo-"
    "secret";

// A mock keeping its state in dir/state.json, and a client of it.
struct StateFileMock {
  explicit StateFileMock(const testing::TempDir& dir)
      : server({"--quiet", "--state-file", dir.file("state.json")}, dir.file("err.log")),
        client("127.0.0.1", server.port()) {}
  testing::ChildServer server;
  httplib::Client client;
};

TEST(StateFileSafety, APlantedSymlinkIsNotFollowed) {
  testing::TempDir dir;
  testing::write_file(dir.file("victim"), "keep me");
  ASSERT_EQ(symlink(dir.file("victim").c_str(), dir.file("state.json.tmp").c_str()), 0);
  StateFileMock mock(dir);
  ASSERT_TRUE(mock.server.ready());
  auto login = mock.client.Post("/OAuth/Token", kLogin, kForm);
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200);
  EXPECT_EQ(testing::read_file(dir.file("victim")), "keep me");
  mock.server.stop(SIGTERM);
  // Only the state file itself remains: no temporary file left behind.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 4u);  // victim, the symlink, err.log and state.json
}

TEST(StateFileSafety, RotatedAndExpiredTokensArePurgedFromTheFile) {
  testing::TempDir dir;
  StateFileMock mock(dir);
  ASSERT_TRUE(mock.server.ready());
  httplib::Client& client = mock.client;
  auto login = client.Post("/OAuth/Token", kLogin, kForm);
  ASSERT_TRUE(login);
  std::string first_refresh = json::parse(login->body)["refresh_token"];
  std::string refresh = first_refresh;
  for (int i = 0; i < 20; ++i) {
    auto next = client.Post("/OAuth/Token",
                            "grant_type=refresh_token&refresh_token=" + refresh +
                                "&client_id=demo-client&client_secret=demo-secret",
                            kForm);
    ASSERT_TRUE(next);
    ASSERT_EQ(next->status, 200) << next->body;
    refresh = json::parse(next->body)["refresh_token"];
  }
  // What a restart restores from the file (its snapshot and the lines of changes after it).
  std::set<std::string> stored =
      testing::refresh_tokens_of(testing::restored_grants(dir.file("state.json")));
  EXPECT_EQ(stored, std::set<std::string>{refresh});  // only the current one
  // 15 days and more: everything of this grant has expired and leaves the file.
  auto advance = client.Post("/__mock/clock", "{\"advance\": 1400000}", "application/json");
  ASSERT_EQ(advance->status, 200);
  auto other = client.Post("/OAuth/Token", kLogin, kForm);  // a change, so the file is written
  ASSERT_EQ(other->status, 200);
  json grants = testing::restored_grants(dir.file("state.json"));
  EXPECT_EQ(grants.size(), 1u);
  EXPECT_FALSE(testing::refresh_tokens_of(grants).count(refresh));
}

}  // namespace
}  // namespace mock2ba
