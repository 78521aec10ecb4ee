#include "http/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "http/event_loop.h"
#include "http/responses.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

bool has_crlf(const std::string& text) { return text.find_first_of("\r\n") != std::string::npos; }

// Whether a handler set Connection: close (after a framing error the stream is unusable).
bool asks_to_close(const httplib::Response& res) {
  for (const auto& [name, value] : res.headers) {
    if (iequals(name, "Connection") && iequals(value, "close")) return true;
  }
  return false;
}

}  // namespace

std::string serialize_response(const httplib::Request& req, const httplib::Response& res,
                               bool close, bool http10_keep_alive) {
  int status = res.status < 0 ? 200 : res.status;
  std::string out;
  out.reserve(160 + res.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  for (const auto& [name, value] : res.headers) {
    // Framing headers are the server's; a CR or LF would split the header (response splitting).
    if (iequals(name, "Content-Length") || iequals(name, "Connection") || has_crlf(name) ||
        has_crlf(value))
      continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (status_allows_body(status)) {
    out += "Content-Length: ";
    out += std::to_string(res.body.size());
    out += "\r\n";
  }
  if (close) {
    out += "Connection: close\r\n";
  } else if (http10_keep_alive) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (req.method != "HEAD") out += res.body;
  return out;
}

size_t raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(limit.rlim_cur);
}

namespace {

size_t descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  return limit.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(limit.rlim_cur);
}

BlockingPool::Options pool_options(size_t max_threads) {
  BlockingPool::Options options;
  options.max_threads = max_threads;
  return options;
}

}  // namespace

HttpServer::HttpServer(Options options, Handler handler, ErrorRenderer render_error,
                       BlockingPredicate may_block)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      render_error_(std::move(render_error)),
      may_block_(std::move(may_block)),
      blocking_pool_(pool_options(options_.max_blocking_threads)) {
  // The mock always shares its machine with the client under test: leave that client a core.
  // On two cores, two loops and a load generator would take turns on the CPUs, which showed as
  // several milliseconds of p99 even for a fixed reply (bench/README.md).
  if (options_.threads == 0)
    options_.threads = std::max(2u, std::thread::hardware_concurrency()) - 1;
  if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
    tls_ = SSL_CTX_new(TLS_server_method());
    bool usable =
        tls_ && SSL_CTX_use_certificate_chain_file(tls_, options_.tls_cert.c_str()) == 1 &&
        SSL_CTX_use_PrivateKey_file(tls_, options_.tls_key.c_str(), SSL_FILETYPE_PEM) == 1 &&
        SSL_CTX_check_private_key(tls_) == 1;
    ERR_clear_error();
    if (!usable) {
      SSL_CTX_free(tls_);
      throw std::invalid_argument("not a readable PEM certificate and matching key");
    }
    SSL_CTX_set_min_proto_version(tls_, TLS1_2_VERSION);
    // A reply is written in pieces as the socket takes them, from a buffer that may grow between
    // attempts.
    SSL_CTX_set_mode(tls_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(tls_, SSL_OP_NO_RENEGOTIATION);
  }
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

HttpServer::~HttpServer() {
  stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(stop_fd_);
  if (tls_) SSL_CTX_free(tls_);
}
bool HttpServer::bind(std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  std::string host = options_.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo* found = nullptr;
  std::string service = std::to_string(options_.port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    *error = "cannot resolve " + options_.host + ": " + gai_strerror(rc);
    return false;
  }
  std::string last_error = "no address";
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    // SO_REUSEADDR keeps quick restarts working; no SO_REUSEPORT, so a second server on a port
    // in use fails instead of silently sharing it.
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      address_text(bound, &port_);
      listen_fd_ = fd;
      break;
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0) {
    *error = "cannot listen on " + options_.host + ":" + service + " (" + last_error + ")";
    return false;
  }
  return true;
}

void HttpServer::serve() {
  if (listen_fd_ < 0 || stopping_) return;
  size_t max_connections = options_.max_connections;
  if (max_connections == 0) {
    size_t limit = descriptor_limit();
    max_connections = limit > 2 * kReservedDescriptors ? limit - kReservedDescriptors : limit / 2;
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < options_.threads; ++i)
    loops_.push_back(std::make_unique<EventLoop>(*this, max_connections / options_.threads));
  for (auto& loop : loops_) threads.emplace_back([&loop] { loop->run(); });
  running_ = true;

  // Connections are dealt to the loops in turn: a burst of connections then spreads evenly.
  size_t next = 0;
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  while (!stopping_) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents) break;
    while (true) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        // Out of descriptors: the pending connection stays queued and poll() would return at
        // once; wait for connections to close (or for stop) instead of spinning.
        if (errno == EMFILE || errno == ENFILE) ::poll(&fds[1], 1, 100);
        break;  // EAGAIN, or a connection that died in the backlog
      }
      // Without TCP_NODELAY a reply written after the previous one was acknowledged late waits
      // for the client's delayed ACK (~40 ms).
      int yes = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
      loops_[next]->adopt(fd);
      next = (next + 1) % loops_.size();
    }
  }

  for (auto& loop : loops_) loop->request_stop();
  for (auto& thread : threads) thread.join();
  // Cuts handlers' sleeps short and waits for the handlers in flight; their replies are queued
  // to loops that no longer run, and the loops free every connection without reading them.
  blocking_pool_.shut_down();
  loops_.clear();
  running_ = false;
}

void HttpServer::stop() {
  stopping_ = true;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
}

std::string HttpServer::respond(httplib::Request& req, bool client_keeps_alive, bool* close,
                                ConnectionEffect* effect) {
  HandlerReply reply;
  try {
    handler_(req, reply);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    reply = HandlerReply();
    render_error_(500, "The mock hit an internal error.", reply.response);
  } catch (...) {
    std::fprintf(stderr, "internal error\n");
    reply = HandlerReply();
    render_error_(500, "The mock hit an internal error.", reply.response);
  }
  *effect = reply.effect;
  const httplib::Response& res = reply.response;
  bool keep_alive = client_keeps_alive && !stopping_ && !asks_to_close(res);
  *close = !keep_alive;
  return serialize_response(req, res, !keep_alive, keep_alive && req.version == "HTTP/1.0");
}

std::string HttpServer::respond_error(int status, const std::string& message) {
  httplib::Request req;
  req.version = "HTTP/1.1";
  httplib::Response res;
  render_error_(status, message, res);
  return serialize_response(req, res, true, false);
}

std::string HttpServer::respond_busy(const httplib::Request& req, bool client_keeps_alive) {
  httplib::Response res;
  render_error_(503,
                "The mock is serving its maximum of " +
                    std::to_string(options_.max_blocking_threads) +
                    " slow requests (scenario, control, delayed) at once; retry shortly.",
                res);
  res.set_header("Retry-After", "1");
  bool keep_alive = client_keeps_alive && !stopping_;
  return serialize_response(req, res, !keep_alive, keep_alive && req.version == "HTTP/1.0");
}

}  // namespace mock2ba
