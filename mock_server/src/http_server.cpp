#include "http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "text_util.h"

namespace mock2ba {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr int kSweepIntervalMs = 250;
// Pipelined requests stop being served while this much output waits for the client to read.
constexpr size_t kMaxPendingOutput = 1 << 20;

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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

std::string address_text(const sockaddr_storage& addr, int* port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    *port = ntohs(in.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    *port = ntohs(in6.sin6_port);
  }
  return text;
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
  if (status >= 200 && status != 204 && status != 304) {
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

// One client connection; owned and touched only by its event loop, except that a request handed
// to the blocking pool keeps it alive (busy_) until the reply comes back.
struct Connection {
  int fd = -1;
  size_t slot = 0;  // index in EventLoop::connections_
  std::string remote_addr;
  int remote_port = -1;
  std::string local_addr;
  int local_port = -1;

  std::string in;
  size_t head_scan_from = 0;  // find_head_end need not look before this
  bool head_complete = false;
  bool sent_continue = false;
  std::string out;
  size_t out_offset = 0;

  bool busy = false;         // a request is on the blocking pool
  bool dead = false;         // gone while busy: freed when the reply comes back
  bool closing = false;      // close once `out` is written
  bool peer_closed = false;  // the client shut down its side; answer what is in, then close
  bool draining = false;     // replied and shut down our side; discarding input until EOF
  int64_t last_activity_ms = 0;
  uint32_t interest = 0;
};

class EventLoop {
 public:
  explicit EventLoop(HttpServer& server) : server_(server) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the wake-up descriptor
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  }

  ~EventLoop() {
    for (Connection* c : connections_) destroy(c);
    // A busy connection is in connections_ unless it died; only the dead ones are freed here.
    for (auto& done : completions_)
      if (done.connection->dead) destroy(done.connection);
    for (int fd : new_fds_) ::close(fd);
    ::close(wake_fd_);
    ::close(epoll_fd_);
  }

  // Hands an accepted socket to this loop. Any thread.
  void adopt(int fd) {
    {
      std::lock_guard<std::mutex> lock(inbox_mutex_);
      new_fds_.push_back(fd);
    }
    wake();
  }

  // Delivers the reply to a request that ran on the blocking pool. Any thread.
  void complete(Connection* c, std::string bytes, bool close) {
    {
      std::lock_guard<std::mutex> lock(inbox_mutex_);
      completions_.push_back({c, std::move(bytes), close});
    }
    wake();
  }

  void request_stop() {
    stopping_ = true;
    wake();
  }

  void run() {
    epoll_event events[128];
    int64_t last_sweep = monotonic_ms();
    while (!stopping_) {
      int n = epoll_wait(epoll_fd_, events, 128, kSweepIntervalMs);
      now_ms_ = monotonic_ms();
      for (int i = 0; i < n; ++i) {
        if (events[i].data.ptr == nullptr) {
          take_inbox();
        } else {
          on_event(static_cast<Connection*>(events[i].data.ptr), events[i].events);
        }
      }
      if (now_ms_ - last_sweep >= kSweepIntervalMs) {
        sweep_timeouts();
        last_sweep = now_ms_;
      }
    }
  }

 private:
  struct Completion {
    Connection* connection;
    std::string bytes;
    bool close;
  };

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }

  void take_inbox() {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof count);
    std::vector<int> fds;
    std::vector<Completion> done;
    {
      std::lock_guard<std::mutex> lock(inbox_mutex_);
      fds.swap(new_fds_);
      done.swap(completions_);
    }
    for (int fd : fds) open_connection(fd);
    for (auto& completion : done) {
      Connection* c = completion.connection;
      c->busy = false;
      if (c->dead) {
        destroy(c);
        continue;
      }
      c->out += completion.bytes;
      if (completion.close) c->closing = true;
      process(c);
    }
  }

  void open_connection(int fd) {
    auto* c = new Connection;
    c->fd = fd;
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      c->remote_addr = address_text(addr, &c->remote_port);
    len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      c->local_addr = address_text(addr, &c->local_port);
    c->last_activity_ms = now_ms_ ? now_ms_ : monotonic_ms();
    c->slot = connections_.size();
    connections_.push_back(c);
    c->interest = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = c->interest;
    ev.data.ptr = c;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) close_connection(c);
  }

  void on_event(Connection* c, uint32_t events) {
    if (c->busy) {
      // Only hang-ups arrive while busy (no interest is registered); free it when the reply
      // comes back.
      if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) retire_busy(c);
      return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      if (!read_input(c)) return;
    }
    process(c);  // also writes what EPOLLOUT made room for
  }

  // Reads what has arrived. Returns false when the connection was closed.
  bool read_input(Connection* c) {
    char buffer[kReadChunk];
    while (true) {
      ssize_t n = ::recv(c->fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c->last_activity_ms = now_ms_;
        if (!c->draining) c->in.append(buffer, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof buffer) return true;
        // Stop taking input that cannot be a request within the limits; process() rejects it.
        if (c->in.size() > server_.options().limits.max_header_bytes +
                               server_.options().limits.max_body_bytes + kReadChunk)
          return true;
        continue;
      }
      if (n == 0) {
        if (c->draining || c->in.empty()) {
          close_connection(c);
          return false;
        }
        c->peer_closed = true;
        return true;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      close_connection(c);
      return false;
    }
  }

  // Serves the complete requests in the input, in order, then writes the replies.
  void process(Connection* c) {
    const HttpLimits& limits = server_.options().limits;
    while (!c->busy && !c->closing && !c->draining && !c->in.empty() &&
           c->out.size() - c->out_offset < kMaxPendingOutput) {
      if (!c->head_complete) {
        size_t end = find_head_end(c->in, c->head_scan_from);
        if (end == std::string::npos) {
          c->head_scan_from = c->in.size() >= 3 ? c->in.size() - 3 : 0;
          size_t newline = c->in.find('\n');
          bool oversized = c->in.size() > limits.max_header_bytes ||
                           (newline == std::string::npos && c->in.size() > limits.max_target_bytes);
          if (!oversized) break;
        }
      }
      httplib::Request req;
      ParseResult parsed = parse_http_request(c->in, limits, &req);
      if (parsed.status == ParseStatus::kIncomplete) {
        c->head_complete = parsed.headers_complete;
        if (parsed.expects_continue && !c->sent_continue) {
          c->out += "HTTP/1.1 100 Continue\r\n\r\n";
          c->sent_continue = true;
        }
        break;
      }
      if (parsed.status == ParseStatus::kError) {
        c->out += server_.respond_error(parsed.error_status, parsed.error_message);
        c->closing = true;
        break;
      }
      c->in.erase(0, parsed.consumed);
      c->head_scan_from = 0;
      c->head_complete = false;
      c->sent_continue = false;
      req.remote_addr = c->remote_addr;
      req.remote_port = c->remote_port;
      req.local_addr = c->local_addr;
      req.local_port = c->local_port;
      if (server_.may_block(req)) {
        c->busy = true;
        server_.blocking_pool().submit(
            [this, c, req = std::move(req), keep = parsed.keep_alive]() mutable {
              bool close = false;
              std::string bytes = server_.respond(req, keep, &close);
              complete(c, std::move(bytes), close);
            });
        break;
      }
      bool close = false;
      c->out += server_.respond(req, parsed.keep_alive, &close);
      if (close) c->closing = true;
    }
    if (c->peer_closed && !c->busy) {
      // Nothing more can arrive: what is left of the input is a request that never finished.
      c->in.clear();
      c->closing = true;
    }
    if (!flush(c)) return;
    update_interest(c);
  }

  // Writes pending output. Returns false when the connection was closed.
  bool flush(Connection* c) {
    while (c->out_offset < c->out.size()) {
      ssize_t n =
          ::send(c->fd, c->out.data() + c->out_offset, c->out.size() - c->out_offset, MSG_NOSIGNAL);
      if (n > 0) {
        c->out_offset += static_cast<size_t>(n);
        c->last_activity_ms = now_ms_;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        update_interest(c);
        return true;
      }
      close_connection(c);
      return false;
    }
    c->out.clear();
    c->out_offset = 0;
    if (c->closing && !c->busy) {
      if (c->peer_closed) {
        close_connection(c);
        return false;
      }
      // Close our side and read until the client closes too, so unread input does not turn the
      // close into a reset that could destroy the reply before the client reads it.
      ::shutdown(c->fd, SHUT_WR);
      c->closing = false;
      c->draining = true;
      c->in.clear();
    }
    return true;
  }

  void update_interest(Connection* c) {
    uint32_t wanted = EPOLLRDHUP;
    if (c->busy) {
      wanted = 0;
    } else if (c->out_offset < c->out.size()) {
      wanted |= EPOLLOUT;
    } else {
      wanted |= EPOLLIN;
    }
    if (wanted == c->interest) return;
    c->interest = wanted;
    epoll_event ev{};
    ev.events = wanted;
    ev.data.ptr = c;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  void sweep_timeouts() {
    const auto& options = server_.options();
    // Iterate backwards: closing swaps the last connection into the freed slot.
    for (size_t i = connections_.size(); i-- > 0;) {
      Connection* c = connections_[i];
      if (c->busy) continue;
      int64_t quiet = now_ms_ - c->last_activity_ms;
      if (c->out_offset < c->out.size()) {
        if (quiet > options.write_timeout_ms) close_connection(c);
      } else if (c->draining) {
        if (quiet > options.read_timeout_ms) close_connection(c);
      } else if (!c->in.empty()) {
        if (quiet <= options.read_timeout_ms) continue;
        if (c->head_complete) {
          // The head arrived but the body stopped: say so before closing.
          c->out += server_.respond_error(400, "The request body stopped arriving.");
          c->closing = true;
          c->in.clear();
          if (flush(c)) update_interest(c);
        } else {
          close_connection(c);
        }
      } else if (quiet > options.idle_timeout_ms) {
        close_connection(c);
      }
    }
  }

  void retire_busy(Connection* c) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
    unlink(c);
    c->dead = true;
  }

  void close_connection(Connection* c) {
    if (c->busy) return retire_busy(c);
    unlink(c);
    destroy(c);
  }

  void unlink(Connection* c) {
    Connection* last = connections_.back();
    connections_[c->slot] = last;
    last->slot = c->slot;
    connections_.pop_back();
  }

  static void destroy(Connection* c) {
    ::close(c->fd);  // also removes it from the epoll set
    delete c;
  }

  HttpServer& server_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  int64_t now_ms_ = 0;
  std::vector<Connection*> connections_;
  std::mutex inbox_mutex_;
  std::vector<int> new_fds_;
  std::vector<Completion> completions_;
};

HttpServer::HttpServer(Options options, Handler handler, ErrorRenderer render_error,
                       BlockingPredicate may_block)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      render_error_(std::move(render_error)),
      may_block_(std::move(may_block)) {
  // The mock always shares its machine with the client under test: leave that client a core.
  // On two cores, two loops and a load generator would take turns on the CPUs, which showed as
  // several milliseconds of p99 even for a fixed reply (bench/README.md).
  if (options_.threads == 0)
    options_.threads = std::max(2u, std::thread::hardware_concurrency()) - 1;
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

HttpServer::~HttpServer() {
  stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(stop_fd_);
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
  std::vector<std::thread> threads;
  for (size_t i = 0; i < options_.threads; ++i)
    loops_.push_back(std::make_unique<EventLoop>(*this));
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
  blocking_pool_.shut_down();  // replies of blocking handlers still running go nowhere
  loops_.clear();
  running_ = false;
}

void HttpServer::stop() {
  stopping_ = true;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
}

std::string HttpServer::respond(httplib::Request& req, bool client_keeps_alive, bool* close) {
  httplib::Response res;
  try {
    handler_(req, res);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    res = httplib::Response();
    render_error_(500, "The mock hit an internal error.", res);
  } catch (...) {
    std::fprintf(stderr, "internal error\n");
    res = httplib::Response();
    render_error_(500, "The mock hit an internal error.", res);
  }
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

}  // namespace mock2ba
