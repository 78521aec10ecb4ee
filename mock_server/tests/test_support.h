// Helpers for tests in both the unit test files and the reliability binary: the fixture folder,
// options for an in-process server, temporary folders and files, deeply nested JSON text, and a
// fixture with an in-process server and a client of it.
#ifndef MOCK2BA_TESTS_TEST_SUPPORT_H_
#define MOCK2BA_TESTS_TEST_SUPPORT_H_

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "server/server.h"

namespace mock2ba::testing {

// The repository's fixtures folder.
inline std::string fixture_dir() { return TWOBA_FIXTURE_DIR; }

// Options for an in-process test server: the default fixture, a free port, no log lines.
inline ServerOptions test_server_options() {
  ServerOptions options;
  options.fixture_path = fixture_dir() + "/default.json";
  options.port = 0;
  options.log_format = LogFormat::kNone;
  options.threads = 2;
  return options;
}

// A temporary directory removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/twoba-test-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::string command = "rm -rf '" + path_ + "'";
    [[maybe_unused]] int ignored = std::system(command.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `text` to `path`.
inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// `inner` inside `depth` JSON arrays.
inline std::string nested_arrays(int depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

// A mock started in this process for each test, and a client of it.
class InProcess : public ::testing::Test {
 protected:
  void start(ServerOptions options = test_server_options()) {
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

}  // namespace mock2ba::testing

#endif  // MOCK2BA_TESTS_TEST_SUPPORT_H_
