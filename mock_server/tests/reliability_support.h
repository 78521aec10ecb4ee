// Helpers for the reliability tests: raw HTTP over a socket (for requests no HTTP client
// library would send), the mock as a child process, and process measurements. (Temporary
// folders, files and an in-process server: test_support.h.)
#ifndef MOCK2BA_TESTS_RELIABILITY_SUPPORT_H_
#define MOCK2BA_TESTS_RELIABILITY_SUPPORT_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "server/server.h"
#include "test_support.h"

namespace mock2ba::testing {

// A reply read from a raw socket. status 0: the server closed without replying.
struct RawReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  double seconds = 0;  // from sending to the end of the reply
};

// Sends `bytes` to 127.0.0.1:port (over TLS when `tls`, not checking the certificate) and reads
// one reply (or until the server closes or `timeout_ms` passes).
RawReply raw_exchange(int port, const std::string& bytes, int timeout_ms = 10000, bool tls = false);

// A client connection to 127.0.0.1:port, plain or TLS (the certificate is not checked), that
// sends and receives raw bytes.
class RawClient {
 public:
  RawClient(int port, bool tls);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Sends all of `bytes` (in one TLS record when it fits). False when the server closed.
  bool send(const std::string& bytes);
  // Reads until `marker` has arrived `count` times, the server closes, or the deadline passes;
  // returns everything received so far.
  const std::string& read_until(const std::string& marker, int count = 1, int timeout_ms = 5000);
  // True when the server closes the connection before the deadline (what it sends is kept).
  bool closed_within(int timeout_ms);
  // Reads what arrives within the timeout; false when nothing did or the server closed.
  bool read_more(int timeout_ms);
  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  std::string received_;
  bool closed_ = false;
};

// A request as raw bytes with Host, Content-Length (when there is a body) and Connection: close.
std::string raw_request(const std::string& method, const std::string& target,
                        const std::string& body = "", const std::vector<std::string>& headers = {});

// Number of open file descriptors of this process.
size_t open_fd_count();

// Resident set size in KiB of a process (from /proc/PID/status).
long rss_kib(pid_t pid);

// A self-signed certificate for localhost and 127.0.0.1 with its key, made with the openssl
// command in a temporary folder.
class TestCertificate {
 public:
  TestCertificate();
  std::string cert() const { return dir_.file("cert.pem"); }
  std::string key() const { return dir_.file("key.pem"); }

 private:
  TempDir dir_;
};

// The grants with their tokens, as the control API lists them, that a restart on the default
// fixture finds in a --state-file (its snapshot and every complete line of changes after it).
nlohmann::json restored_grants(const std::string& state_file);
// The refresh tokens among them.
std::set<std::string> refresh_tokens_of(const nlohmann::json& grants);

// mock_server run as a child process; stderr goes to a file.
class ChildServer {
 public:
  // Starts the binary with `args` (--port 0 is added) and waits for READY. On failure,
  // ready() is false and exit_status() tells why.
  ChildServer(const std::vector<std::string>& args, const std::string& stderr_path);
  ~ChildServer();

  bool ready() const { return !base_url_.empty(); }
  const std::string& base_url() const { return base_url_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends a signal and waits for the exit; returns the wait status.
  int stop(int signal_number);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string base_url_;
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace mock2ba::testing

#endif  // MOCK2BA_TESTS_RELIABILITY_SUPPORT_H_
