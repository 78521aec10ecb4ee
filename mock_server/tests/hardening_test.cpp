// Hardening of the application side: deep JSON, the control API against web pages, journal
// memory, the state file, faults that cannot carry a body, log lines, loopback, scenario loading
// and the messages about them.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "control/journal.h"
#include "reliability_support.h"
#include "server/server.h"
#include "util/json_input.h"

namespace mock2ba {
namespace {

using nlohmann::json;

std::string nested_arrays(int depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

class InProcess : public ::testing::Test {
 protected:
  void start(ServerOptions options = testing::test_server_options()) {
    server_ = std::make_unique<MockServer>(options);
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_tcp_nodelay(true);
    client_->set_read_timeout(10, 0);
  }
  void SetUp() override { start(); }
  void TearDown() override {
    if (server_) server_->stop();
  }
  httplib::Result post_json(const std::string& path, const std::string& body,
                            const httplib::Headers& headers = {}) {
    return client_->Post(path.c_str(), headers, body, "application/json");
  }

  std::unique_ptr<MockServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

// --- Deep JSON -----------------------------------------------------------------------------

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

// --- The control API and web pages ---------------------------------------------------------

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

// --- Journal memory ------------------------------------------------------------------------

using JournalMemory = InProcess;

TEST_F(JournalMemory, LargeBodiesAreCutAndMarked) {
  const std::string big(1 << 20, 'x');
  for (int i = 0; i < 3; ++i) {
    auto reply = client_->Post("/no/such/endpoint", big, "text/plain");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 404);
  }
  auto journal = json::parse(client_->Get("/__mock/requests")->body)["requests"];
  ASSERT_EQ(journal.size(), 3u);
  for (const auto& entry : journal) {
    EXPECT_EQ(entry["body"].get<std::string>().size(), kJournalBodyLimit);
    EXPECT_EQ(entry["body_truncated"], true);
    EXPECT_EQ(entry["body_size"], 1 << 20);
  }
}

TEST(JournalBytes, TheOldestEntriesGoWhenTheBytesAreSpent) {
  const size_t kCap = 1 << 20;
  Journal journal(10000, kCap);
  for (int i = 0; i < 100; ++i) {
    JournalEntry entry;
    entry.path = "/x";
    entry.body = std::string(kJournalBodyLimit * 2, 'b');
    journal.record(std::move(entry));
  }
  json all = journal.to_json(0, std::nullopt);
  size_t kept = 0;
  for (const auto& e : all["requests"]) kept += e["body"].get<std::string>().size();
  EXPECT_LE(kept, kCap);
  EXPECT_GT(kept, kCap / 2);
  EXPECT_EQ(all["dropped"].get<size_t>() + all["requests"].size(), 100u);
  EXPECT_EQ(all["requests"].back()["seq"], 100);
}

// --- State file ----------------------------------------------------------------------------

const char* kForm = "application/x-www-form-urlencoded";
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

// --- Faults, logs, loopback ----------------------------------------------------------------

using FaultStatus = InProcess;

TEST_F(FaultStatus, StatusesThatCannotCarryABodyAreRefusedOrSentWithout) {
  for (const char* fault : {R"({"path":"/OAuth/Token","status":101})",
                            R"({"path":"/OAuth/Token","status":100,"body":"x"})",
                            R"({"path":"/OAuth/Token","status":204,"body":"{}"})",
                            R"({"path":"/OAuth/Token","status":304,"body":"x"})"}) {
    auto reply = post_json("/__mock/faults", fault);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 400) << fault;
  }
  ASSERT_EQ(post_json("/__mock/faults", R"({"path":"/OAuth/Token","status":204})")->status, 200);
  // The 204 ends at its headers: nothing follows them before the connection closes.
  testing::RawReply reply =
      testing::raw_exchange(server_->port(), testing::raw_request("POST", "/OAuth/Token"));
  EXPECT_EQ(reply.status, 204);
  EXPECT_TRUE(reply.body.empty()) << reply.body;
  EXPECT_EQ(reply.headers.count("content-type"), 0u);
}

TEST(TextLog, ControlBytesInAPathCannotForgeALine) {
  testing::TempDir dir;
  {
    testing::ChildServer server({}, dir.file("err.log"));
    ASSERT_TRUE(server.ready());
    testing::raw_exchange(
        server.port(),
        testing::raw_request("GET", "/x%0a2030-01-01T00:00:00Z%20GET%20/forged%1b%5b31m"));
    server.stop(SIGTERM);
  }
  std::string log = testing::read_file(dir.file("err.log"));
  EXPECT_EQ(log.find("\n2030-01-01"), std::string::npos) << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << log;
  EXPECT_NE(log.find("/x\\x0a2030-01-01T00:00:00Z GET /forged\\x1b[31m"), std::string::npos) << log;
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

// --- Scenarios -----------------------------------------------------------------------------

// A fixture folder of its own, named by a path relative to the working directory.
struct ScenarioFolder {
  testing::TempDir dir;
  std::string relative;
  ScenarioFolder() {
    relative = std::filesystem::relative(dir.path()).string();
    testing::write_file(dir.file("default.json"),
                        testing::read_file(testing::fixture_dir() + "/default.json"));
  }
};

TEST(Scenarios, AFifoInTheFixtureFolderBlocksNothing) {
  ScenarioFolder folder;
  ASSERT_EQ(mkfifo(folder.dir.file("x.json").c_str(), 0600), 0);
  testing::ChildServer server({"--quiet", "--fixture", folder.dir.file("default.json")},
                              folder.dir.file("err.log"));
  ASSERT_TRUE(server.ready());
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(3, 0);
  auto fifo = client.Get("/s/x/__mock/health");
  ASSERT_TRUE(fifo) << "a FIFO named x.json blocked the request";
  EXPECT_EQ(fifo->status, 500);
  auto other = client.Get("/s/default/__mock/health");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
}

TEST(Scenarios, ErrorsNameTheScenarioAndTheFolderAsGivenAndNothingElse) {
  ScenarioFolder folder;
  testing::write_file(folder.dir.file("other.json"), "{\"secret_key_of_another_file\": 1}");
  testing::ChildServer server({"--quiet", "--fixture", folder.relative + "/default.json"},
                              folder.dir.file("err.log"));
  ASSERT_TRUE(server.ready());
  httplib::Client client("127.0.0.1", server.port());
  auto missing = client.Get("/s/nowhere/OAuth/Token");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("'nowhere'"), std::string::npos) << missing->body;
  EXPECT_NE(missing->body.find("'" + folder.relative + "'"), std::string::npos) << missing->body;
  EXPECT_EQ(missing->body.find("'" + folder.dir.path()), std::string::npos) << missing->body;
  auto invalid = client.Get("/s/other/OAuth/Token");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->status, 500);
  EXPECT_NE(invalid->body.find("'other'"), std::string::npos) << invalid->body;
  EXPECT_EQ(invalid->body.find("secret_key_of_another_file"), std::string::npos) << invalid->body;
  EXPECT_EQ(invalid->body.find("'" + folder.dir.path()), std::string::npos) << invalid->body;
}

TEST(Scenarios, AFolderGivenAsFixtureSaysSo) {
  testing::TempDir dir;
  try {
    load_fixture_file(dir.path());
    ADD_FAILURE() << "a folder was accepted as a fixture";
  } catch (const FixtureError& e) {
    EXPECT_NE(std::string(e.what()).find("is a folder"), std::string::npos) << e.what();
  }
}

TEST(Scenarios, RequestsForALoadedScenarioStayOnTheEventLoop) {
  MockServer server(testing::test_server_options());
  std::string error;
  ASSERT_TRUE(server.start(&error)) << error;
  httplib::Request req;
  req.path = "/s/fast-expiry/OAuth/Token";
  EXPECT_TRUE(server.may_block(req));  // not loaded yet: loading reads a file
  httplib::Client client("127.0.0.1", server.port());
  ASSERT_EQ(client.Get("/s/fast-expiry/__mock/health")->status, 200);
  EXPECT_FALSE(server.may_block(req));
  req.path = "/OAuth/Token";
  EXPECT_FALSE(server.may_block(req));
  req.path = "/s/fast-expiry/__mock/clock";
  EXPECT_FALSE(server.may_block(req));
  // A fault may delay its reply: then the request leaves the loop.
  ASSERT_EQ(client
                .Post("/s/fast-expiry/__mock/faults", R"({"path":"/OAuth/Token","delay_ms":1})",
                      "application/json")
                ->status,
            200);
  req.path = "/s/fast-expiry/OAuth/Token";
  EXPECT_TRUE(server.may_block(req));
  server.stop();
}

// --- Log lines of the token endpoint -------------------------------------------------------

TEST(TextLog, TokenEndpointLinesSayWhatHappenedToTheToken) {
  testing::TempDir dir;
  std::string first;
  {
    testing::ChildServer server({}, dir.file("err.log"));
    ASSERT_TRUE(server.ready());
    httplib::Client client("127.0.0.1", server.port());
    first = json::parse(client.Post("/OAuth/Token", kLogin, kForm)->body)["refresh_token"];
    auto refresh = [&](const std::string& token) {
      return client.Post("/OAuth/Token",
                         "grant_type=refresh_token&refresh_token=" + token +
                             "&client_id=demo-client&client_secret=demo-secret",
                         kForm);
    };
    ASSERT_EQ(refresh(first)->status, 200);
    ASSERT_EQ(refresh(first)->status, 400);  // rotated
    ASSERT_EQ(refresh("no-such-token")->status, 400);
    server.stop(SIGTERM);
  }
  std::string log = testing::read_file(dir.file("err.log"));
  EXPECT_NE(log.find("error=invalid_grant refresh_token=rotated"), std::string::npos) << log;
  EXPECT_NE(log.find("error=invalid_grant refresh_token=unknown"), std::string::npos) << log;
  EXPECT_NE(log.find("refresh_token=active"), std::string::npos) << log;
  EXPECT_EQ(log.find(first), std::string::npos) << "a token in the log";
}

}  // namespace
}  // namespace mock2ba
