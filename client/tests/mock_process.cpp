#include "mock_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace twoba::testing {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       const std::string& stdin_text) {
  char err_template[] = "/tmp/twoba-subprocess-err-XXXXXX";
  const int err_fd = ::mkstemp(err_template);
  if (err_fd < 0) throw std::runtime_error("mkstemp failed");
  err_path_ = err_template;
  int out_pipe[2];
  int in_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  // Everything the child needs is built before fork (only async-signal-safe calls after it).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "TWOBA_", 6) != 0) env_strings.emplace_back(*e);
  }
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_fd, 2);
    ::execve(argp[0], argp.data(), envp.data());
    ::_exit(127);
  }
  ::close(err_fd);
  ::close(out_pipe[1]);
  ::close(in_pipe[0]);
  stdout_fd_ = out_pipe[0];
  if (!stdin_text.empty()) {
    // Small payloads only: they fit in the pipe buffer, so this cannot block.
    const ssize_t written = ::write(in_pipe[1], stdin_text.data(), stdin_text.size());
    (void)written;
  }
  ::close(in_pipe[1]);
}

Subprocess::~Subprocess() {
  if (status_ < 0 && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  ::unlink(err_path_.c_str());
}

bool Subprocess::read_line(std::string* line) {
  for (;;) {
    const auto nl = buffered_.find('\n');
    if (nl != std::string::npos) {
      *line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return true;
    }
    char chunk[4096];
    const ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffered_.append(chunk, static_cast<std::size_t>(n));
  }
}

int Subprocess::wait() {
  if (status_ >= 0) return status_;
  out_ = buffered_;
  buffered_.clear();
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out_.append(chunk, static_cast<std::size_t>(n));
  }
  int raw = 0;
  while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
  }
  status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  err_ = read_file(err_path_);
  return status_;
}

void Subprocess::kill(int signal) {
  if (status_ < 0) ::kill(pid_, signal);
}

MockServer::MockServer(const std::string& fixture, const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {
      TWOBA_MOCK_SERVER, "--port",    "0",
      "--quiet",         "--fixture", std::string(TWOBA_FIXTURE_DIR) + "/" + fixture};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<Subprocess>(argv, std::vector<std::string>{});
  std::string line;
  if (!process_->read_line(&line) || line.rfind("READY ", 0) != 0) {
    process_->wait();
    throw std::runtime_error("mock_server did not start: " + line + process_->err());
  }
  base_url_ = line.substr(6);
  tls_ = base_url_.rfind("https://", 0) == 0;
  const std::size_t host_start = tls_ ? 8 : 7;
  host_ = base_url_.substr(host_start, base_url_.rfind(':') - host_start);
  port_ = std::stoi(base_url_.substr(base_url_.rfind(':') + 1));
}

MockServer::~MockServer() {
  process_->kill(SIGTERM);
  process_->wait();
}

namespace {

// The harness's own control calls; over TLS it trusts the test's self-signed certificate.
httplib::Client control_client(bool tls, const std::string& host, int port) {
  httplib::Client client((tls ? "https://" : "http://") + host + ":" + std::to_string(port));
  client.enable_server_certificate_verification(false);
  client.set_tcp_nodelay(true);
  return client;
}

}  // namespace

json MockServer::get(const std::string& path) const {
  httplib::Client client = control_client(tls_, host_, port_);
  auto res = client.Get(path.c_str());
  if (!res) throw std::runtime_error("control GET failed: " + path);
  return json::parse(res->body);
}

json MockServer::post(const std::string& path, const json& body) const {
  httplib::Client client = control_client(tls_, host_, port_);
  auto res = client.Post(path.c_str(), body.dump(), "application/json");
  if (!res) throw std::runtime_error("control POST failed: " + path);
  if (res->status != 200) {
    throw std::runtime_error("control POST " + path + " -> " + std::to_string(res->status) + ": " +
                             res->body);
  }
  return json::parse(res->body);
}

std::vector<json> MockServer::journal(const std::string& path) const {
  const json reply = get("/__mock/requests" + (path.empty() ? "" : "?path=" + path));
  return reply.at("requests").get<std::vector<json>>();
}

std::vector<json> MockServer::token_requests(const std::string& grant_type) const {
  std::vector<json> out;
  for (const json& entry : journal("/OAuth/Token")) {
    if (form_value(entry, "grant_type") == grant_type) out.push_back(entry);
  }
  return out;
}

void MockServer::advance_clock(long seconds) const {
  post("/__mock/clock", {{"advance", seconds}});
}

void MockServer::add_fault(const json& fault) const { post("/__mock/faults", fault); }

json MockServer::grants() const { return get("/__mock/tokens").at("grants"); }

TempDir::TempDir() {
  char pattern[] = "/tmp/twoba-client-it-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }

ClientConfig demo_config(const MockServer& mock, const std::string& store_path) {
  ClientConfig config;
  config.token_url = mock.token_url();
  config.api_base = mock.api_base();
  config.client_id = "demo-client";
  config.client_secret = "demo-secret";
  config.store_path = store_path;
  config.connect_timeout = std::chrono::seconds(5);
  config.read_timeout = std::chrono::seconds(10);
  return config;
}

std::vector<std::string> demo_env(const MockServer& mock, const std::string& store_path) {
  return {"TWOBA_TOKEN_URL=" + mock.token_url(), "TWOBA_API_BASE=" + mock.api_base(),
          "TWOBA_CLIENT_ID=demo-client", "TWOBA_CLIENT_SECRET=demo-secret",
          "TWOBA_STORE=" + store_path};
}

CliRun run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env,
               const std::string& stdin_text) {
  std::vector<std::string> argv = {TWOBA_CLIENT_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  Subprocess process(argv, env, stdin_text);
  const int code = process.wait();
  return {code, process.out(), process.err()};
}

std::string form_value(const json& entry, const std::string& name) {
  const auto form = entry.find("form");
  if (form == entry.end() || !form->contains(name) || form->at(name).empty()) return {};
  return form->at(name).at(0).get<std::string>();
}

}  // namespace twoba::testing
