// Test harness: the real mock_server and the real twoba-client as subprocesses.
#pragma once

#include <sys/types.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "twoba/config.h"

namespace twoba::testing {

using nlohmann::json;

// A child process with a stdout pipe (stderr goes to a file). Killed on destruction.
class Subprocess {
 public:
  // argv[0] is the executable path; env entries "NAME=value" replace inherited TWOBA_* ones.
  Subprocess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             const std::string& stdin_text = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // Reads one line of stdout (without '\n'); false at EOF.
  bool read_line(std::string* line);
  // Waits for exit; returns the exit status (128+signal when killed); collects stdout/stderr.
  int wait();
  void kill(int signal);
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string err_path_;
  std::string buffered_;
  std::string out_;
  std::string err_;
  int status_ = -1;
};

// One mock_server on a free port, stopped with SIGTERM at destruction.
class MockServer {
 public:
  // fixture: a file name under the fixtures directory, e.g. "default.json".
  // extra_args are appended to the mock's command line (e.g. --tls-cert/--tls-key).
  explicit MockServer(const std::string& fixture = "default.json",
                      const std::vector<std::string>& extra_args = {});
  ~MockServer();

  const std::string& base_url() const { return base_url_; }
  std::string token_url() const { return base_url_ + "/OAuth/Token"; }
  std::string api_base() const { return base_url_ + "/1/json"; }

  json get(const std::string& path) const;
  json post(const std::string& path, const json& body) const;

  // Journal entries, optionally only those whose path matches (case-insensitively).
  std::vector<json> journal(const std::string& path = {}) const;
  // Journal entries of the token endpoint with this grant_type.
  std::vector<json> token_requests(const std::string& grant_type) const;
  void advance_clock(long seconds) const;
  void add_fault(const json& fault) const;
  // The grants of /__mock/tokens.
  json grants() const;

 private:
  std::unique_ptr<Subprocess> process_;
  std::string host_;
  int port_ = 0;
  bool tls_ = false;
  std::string base_url_;
};

// A fresh temporary directory, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A client config for the default fixture's confidential client against mock.
ClientConfig demo_config(const MockServer& mock, const std::string& store_path);

// Environment for twoba-client matching demo_config.
std::vector<std::string> demo_env(const MockServer& mock, const std::string& store_path);

// Runs twoba-client to completion.
struct CliRun {
  int code;
  std::string out;
  std::string err;
};
CliRun run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env,
               const std::string& stdin_text = {});

// The first value of a form field in a journal entry ("" when absent).
std::string form_value(const json& entry, const std::string& name);

}  // namespace twoba::testing
