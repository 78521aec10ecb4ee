// Scenarios by path prefix (/s/<name>/): loading a fixture folder's files as the real binary
// does, the messages when one cannot be loaded, and which requests for them may block.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "oauth/fixture.h"
#include "reliability_support.h"
#include "server/server.h"

namespace mock2ba {
namespace {

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

}  // namespace
}  // namespace mock2ba
