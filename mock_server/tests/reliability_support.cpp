#include "reliability_support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "text_util.h"

namespace mock2ba::testing {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Parses status line and headers; returns the header block's length or 0 when incomplete.
size_t parse_head(const std::string& data, RawReply* reply) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  std::istringstream lines(data.substr(0, end));
  std::string line;
  std::getline(lines, line);
  if (line.size() >= 12) reply->status = std::atoi(line.c_str() + 9);
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    reply->headers[to_lower(line.substr(0, colon))] = value;
  }
  return end + 4;
}

}  // namespace

ServerOptions test_server_options() {
  ServerOptions options;
  options.fixture_path = fixture_dir() + "/default.json";
  options.port = 0;
  options.log_format = LogFormat::kNone;
  options.threads = 2;
  return options;
}

std::string fixture_dir() { return TWOBA_FIXTURE_DIR; }

RawReply raw_exchange(int port, const std::string& bytes, int timeout_ms) {
  RawReply reply;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("connect failed");
  }
  auto start = std::chrono::steady_clock::now();
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading everything
    sent += static_cast<size_t>(n);
  }
  std::string data;
  size_t head = 0;
  while (seconds_since(start) * 1000 < timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buffer[65536];
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
    if (!head) head = parse_head(data, &reply);
    if (head) {
      auto length = reply.headers.find("content-length");
      size_t want = length == reply.headers.end() ? 0 : std::stoul(length->second);
      if (data.size() >= head + want) break;
    }
  }
  close(fd);
  if (head) reply.body = data.substr(head);
  reply.seconds = seconds_since(start);
  return reply;
}

std::string raw_request(const std::string& method, const std::string& target,
                        const std::string& body, const std::vector<std::string>& headers) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : headers) out += h + "\r\n";
  if (!body.empty()) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n" + body;
  return out;
}

size_t open_fd_count() {
  size_t n = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir)) n += entry->d_name[0] != '.';
  closedir(dir);
  return n - 1;  // the directory stream itself
}

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

TempDir::TempDir() {
  char pattern[] = "/tmp/twoba-test-XXXXXX";
  if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::string command = "rm -rf '" + path_ + "'";
  [[maybe_unused]] int ignored = std::system(command.c_str());
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

ChildServer::ChildServer(const std::vector<std::string>& args, const std::string& stderr_path) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    FILE* err = std::fopen(stderr_path.c_str(), "w");
    if (err) dup2(fileno(err), STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<std::string> all = {TWOBA_TEST_MOCK_BINARY, "--port", "0"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string line;
  auto start = std::chrono::steady_clock::now();
  while (seconds_since(start) < 30) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char c;
    if (read(out[0], &c, 1) != 1) break;
    if (c == '\n') break;
    line.push_back(c);
  }
  close(out[0]);
  if (line.rfind("READY ", 0) == 0) {
    base_url_ = line.substr(6);
    port_ = std::atoi(base_url_.c_str() + base_url_.rfind(':') + 1);
  }
}

ChildServer::~ChildServer() {
  if (!reaped_) stop(SIGKILL);
}

int ChildServer::stop(int signal_number) {
  if (reaped_) return status_;
  kill(pid_, signal_number);
  waitpid(pid_, &status_, 0);
  reaped_ = true;
  return status_;
}

}  // namespace mock2ba::testing
