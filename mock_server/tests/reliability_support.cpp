#include "reliability_support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "control/state_file.h"
#include "oauth/fixture.h"
#include "oauth/token_store.h"
#include "util/text_util.h"

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

RawClient::RawClient(int port, bool tls) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    throw std::runtime_error("connect failed");
  }
  if (tls) {
    timeval limit{10, 0};  // a handshake with a server that does not answer fails
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    if (SSL_connect(ssl_) != 1) {
      SSL_free(ssl_);
      SSL_CTX_free(ctx_);
      close(fd_);
      throw std::runtime_error("TLS handshake failed");
    }
  }
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

RawClient::~RawClient() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  close(fd_);
}

bool RawClient::send(const std::string& bytes) {
  size_t sent = 0;
  auto start = std::chrono::steady_clock::now();
  while (sent < bytes.size() && seconds_since(start) < 30) {
    ssize_t n;
    if (ssl_) {
      ERR_clear_error();
      int chunk = static_cast<int>(std::min<size_t>(bytes.size() - sent, 1 << 30));
      n = SSL_write(ssl_, bytes.data() + sent, chunk);
      if (n <= 0) {
        int error = SSL_get_error(ssl_, static_cast<int>(n));
        if (error != SSL_ERROR_WANT_WRITE && error != SSL_ERROR_WANT_READ) return false;
        n = 0;
      }
    } else {
      n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
      if (n < 0) n = 0;
    }
    sent += static_cast<size_t>(n);
    if (sent < bytes.size() && n == 0) {
      pollfd p{fd_, POLLOUT, 0};
      poll(&p, 1, 50);
      // The server may answer and close before reading everything.
      char peek;
      if (recv(fd_, &peek, 1, MSG_PEEK) == 0) return false;
    }
  }
  return sent == bytes.size();
}

bool RawClient::read_more(int timeout_ms) {
  if (closed_) return false;
  if (!ssl_ || SSL_pending(ssl_) == 0) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
  }
  char buffer[65536];
  ssize_t n;
  if (ssl_) {
    ERR_clear_error();
    n = SSL_read(ssl_, buffer, sizeof buffer);
    if (n <= 0) {
      int error = SSL_get_error(ssl_, static_cast<int>(n));
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return true;
      closed_ = true;
      return false;
    }
  } else {
    n = recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n <= 0) {
      closed_ = true;
      return false;
    }
  }
  received_.append(buffer, static_cast<size_t>(n));
  return true;
}

const std::string& RawClient::read_until(const std::string& marker, int count, int timeout_ms) {
  auto start = std::chrono::steady_clock::now();
  auto occurrences = [&] {
    int n = 0;
    for (size_t at = received_.find(marker); at != std::string::npos;
         at = received_.find(marker, at + marker.size()))
      ++n;
    return n;
  };
  while (occurrences() < count) {
    int left = timeout_ms - static_cast<int>(seconds_since(start) * 1000);
    if (left <= 0 || (!read_more(left) && closed_)) break;
  }
  return received_;
}

bool RawClient::closed_within(int timeout_ms) {
  auto start = std::chrono::steady_clock::now();
  while (!closed_) {
    int left = timeout_ms - static_cast<int>(seconds_since(start) * 1000);
    if (left <= 0) break;
    read_more(left);
  }
  return closed_;
}

RawReply raw_exchange(int port, const std::string& bytes, int timeout_ms, bool tls) {
  RawReply reply;
  RawClient client(port, tls);
  auto start = std::chrono::steady_clock::now();
  client.send(bytes);
  size_t head = 0;
  while (true) {
    int left = timeout_ms - static_cast<int>(seconds_since(start) * 1000);
    if (left <= 0) break;
    const std::string& data = client.received();
    if (!head) head = parse_head(data, &reply);
    if (head) {
      auto length = reply.headers.find("content-length");
      size_t want = length == reply.headers.end() ? 0 : std::stoul(length->second);
      if (data.size() >= head + want) break;
    }
    if (!client.read_more(left) && client.closed()) break;
  }
  if (head) reply.body = client.received().substr(head);
  reply.seconds = seconds_since(start);
  return reply;
}

TestCertificate::TestCertificate() {
  std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      key() + " -out " + cert() + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed");
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

nlohmann::json restored_grants(const std::string& state_file) {
  auto contents = StateFile::read(state_file);
  if (!contents) throw std::runtime_error(state_file + ": no state file");
  TokenStore store(
      std::make_shared<const Fixture>(load_fixture_file(fixture_dir() + "/default.json")));
  store.restore(contents->snapshot.at("store"));
  const nlohmann::json* last = &contents->snapshot;
  for (const auto& change : contents->changes) {
    store.apply_changes(change.at("store"));
    last = &change;
  }
  return store.describe(std::nullopt, std::nullopt,
                        last->at("clock").at("now_ms").get<TimeMs>())["grants"];
}

std::set<std::string> refresh_tokens_of(const nlohmann::json& grants) {
  std::set<std::string> tokens;
  for (const auto& grant : grants) {
    for (const auto& token : grant["refresh_tokens"]) tokens.insert(token["token"]);
  }
  return tokens;
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
