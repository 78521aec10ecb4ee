#include "http/event_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

#include "http/http_request_parser.h"

namespace mock2ba {

// One client connection; owned and touched only by its event loop, except that a request handed
// to the blocking pool keeps it alive (busy) until the reply comes back.
struct Connection {
  explicit Connection(const HttpLimits& limits) : parser(limits) {}

  int fd = -1;
  SSL* ssl = nullptr;  // TLS; the handshake runs inside the first reads and writes
  size_t slot = 0;     // index in EventLoop::connections_
  std::string remote_addr;
  int remote_port = -1;
  std::string local_addr;
  int local_port = -1;

  std::string in;  // the request being parsed first, then any pipelined after it
  RequestParser parser;
  httplib::Request req;  // what the parser has filled in so far
  bool sent_continue = false;
  std::string out;
  size_t out_offset = 0;

  bool busy = false;             // a request is on the blocking pool
  bool closing = false;          // close once `out` is written
  bool peer_closed = false;      // the client shut down its side; answer what is in, then close
  bool draining = false;         // replied and shut down our side; discarding input until EOF
  bool tls_wants_read = false;   // the last TLS write waits for input (a key update)
  bool tls_wants_write = false;  // the last TLS read waits to write (handshake replies)
  bool tls_listed = false;       // in EventLoop::tls_pending_
  int64_t opened_ms = 0;
  int64_t last_activity_ms = 0;
  int64_t request_started_ms = 0;  // first byte of the request in `in`
  int64_t write_deadline_ms = 0;   // while `out` is pending: all of it must be read by then
  uint32_t interest = 0;

  bool handshaking() const { return ssl && !SSL_is_init_finished(ssl); }
  bool output_pending() const { return out_offset < out.size(); }
  // A request (or a TLS handshake) has started and not yet been taken by the parser.
  bool request_in_progress() const { return !in.empty() || handshaking(); }
};

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

enum class Io { kData, kWouldBlock, kEnd, kError };

// Reads decrypted (TLS) or raw bytes into `buffer`.
Io receive(Connection* c, char* buffer, size_t size, size_t* got) {
  if (c->ssl && !c->draining) {
    ERR_clear_error();
    int n = SSL_read(c->ssl, buffer, static_cast<int>(size));
    c->tls_wants_write = false;
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return Io::kData;
    }
    switch (SSL_get_error(c->ssl, n)) {
      case SSL_ERROR_WANT_READ:
        return Io::kWouldBlock;
      case SSL_ERROR_WANT_WRITE:
        c->tls_wants_write = true;
        return Io::kWouldBlock;
      case SSL_ERROR_ZERO_RETURN:
        return Io::kEnd;
      case SSL_ERROR_SYSCALL:
        return errno == 0 || errno == ECONNRESET ? Io::kEnd : Io::kError;
      default:
        return Io::kError;  // a failed handshake or a corrupt record
    }
  }
  while (true) {
    ssize_t n = ::recv(c->fd, buffer, size, 0);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return Io::kData;
    }
    if (n == 0) return Io::kEnd;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::kWouldBlock;
    return Io::kError;
  }
}

// Writes (encrypting with TLS) from `data`.
Io send_some(Connection* c, const char* data, size_t size, size_t* sent) {
  if (c->ssl) {
    ERR_clear_error();
    int n = SSL_write(c->ssl, data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
    c->tls_wants_read = false;
    if (n > 0) {
      *sent = static_cast<size_t>(n);
      return Io::kData;
    }
    switch (SSL_get_error(c->ssl, n)) {
      case SSL_ERROR_WANT_WRITE:
        return Io::kWouldBlock;
      case SSL_ERROR_WANT_READ:
        c->tls_wants_read = true;
        return Io::kWouldBlock;
      default:
        return Io::kError;
    }
  }
  while (true) {
    ssize_t n = ::send(c->fd, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      *sent = static_cast<size_t>(n);
      return Io::kData;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::kWouldBlock;
    return Io::kError;
  }
}

}  // namespace

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

EventLoop::EventLoop(HttpServer& server, size_t max_connections)
    : server_(server), max_connections_(std::max<size_t>(1, max_connections)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up descriptor
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

// Runs after the loop's thread has stopped and the blocking pool has finished: nothing else
// holds a connection. Completions still queued are dropped without looking at their
// connections, which are all freed here (busy ones are in connections_ or retired_).
EventLoop::~EventLoop() {
  for (Connection* c : connections_) destroy(c);
  for (Connection* c : retired_) destroy(c);
  for (int fd : new_fds_) ::close(fd);
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void EventLoop::adopt(int fd) {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    new_fds_.push_back(fd);
  }
  wake();
}

void EventLoop::complete(Connection* c, std::string bytes, bool close, ConnectionEffect effect) {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    completions_.push_back({c, std::move(bytes), close, effect});
  }
  wake();
}

void EventLoop::request_stop() {
  stopping_ = true;
  wake();
}

void EventLoop::run() {
  // OpenSSL writes with write(), not send(MSG_NOSIGNAL): a client gone mid-reply would raise
  // SIGPIPE. Blocked in this thread, it stays pending and the write fails with EPIPE instead,
  // whatever the embedding program does with the signal.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  epoll_event events[128];
  int64_t last_sweep = monotonic_ms();
  while (!stopping_) {
    int n = epoll_wait(epoll_fd_, events, 128, tls_pending_.empty() ? kSweepIntervalMs : 0);
    now_ms_ = monotonic_ms();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        take_inbox();
      } else {
        on_event(static_cast<Connection*>(events[i].data.ptr), events[i].events);
      }
    }
    serve_tls_pending();
    if (now_ms_ - last_sweep >= kSweepIntervalMs) {
      sweep_timeouts();
      last_sweep = now_ms_;
    }
  }
}

void EventLoop::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::take_inbox() {
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
    if (retired_.erase(c)) {
      destroy(c);  // the client went away while its request ran
      continue;
    }
    if (completion.effect != ConnectionEffect::kReply) {
      end_without_reply(c, completion.effect);
      continue;
    }
    queue_output(c, completion.bytes);
    if (completion.close) c->closing = true;
    process(c);
  }
}

void EventLoop::open_connection(int fd) {
  if (connections_.size() >= max_connections_) evict_one();
  auto* c = new Connection(server_.options_.limits);
  c->fd = fd;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    c->remote_addr = address_text(addr, &c->remote_port);
  len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    c->local_addr = address_text(addr, &c->local_port);
  c->opened_ms = c->last_activity_ms = c->request_started_ms = now_ms_ ? now_ms_ : monotonic_ms();
  c->slot = connections_.size();
  connections_.push_back(c);
  if (SSL_CTX* tls = server_.tls_) {
    c->ssl = SSL_new(tls);
    if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) return close_connection(c);
    SSL_set_accept_state(c->ssl);
  }
  c->interest = EPOLLIN | EPOLLRDHUP;
  epoll_event ev{};
  ev.events = c->interest;
  ev.data.ptr = c;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) close_connection(c);
}

// At the connection limit: closes the connection that has held its place longest without a
// request being served (an incomplete request, a reply not being read, or an idle keep-alive),
// so a flood of slow connections cannot keep fresh clients out.
void EventLoop::evict_one() {
  Connection* oldest = nullptr;
  int64_t oldest_since = 0;
  for (Connection* c : connections_) {
    if (c->busy) continue;
    int64_t since = c->request_in_progress() ? c->request_started_ms : c->last_activity_ms;
    if (!oldest || since < oldest_since) {
      oldest = c;
      oldest_since = since;
    }
  }
  if (oldest) close_connection(oldest);
}

void EventLoop::on_event(Connection* c, uint32_t events) {
  if (c->busy) {
    // Only hang-ups arrive while busy (no interest is registered); free it when the reply
    // comes back.
    if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) retire_busy(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR) ||
      (c->tls_wants_write && (events & EPOLLOUT))) {
    if (!read_input(c)) return;
  }
  process(c);  // also writes what EPOLLOUT made room for
}

// Reads what has arrived. Returns false when the connection was closed.
bool EventLoop::read_input(Connection* c) {
  const HttpLimits& limits = server_.options_.limits;
  char buffer[kReadChunk];
  while (true) {
    size_t n = 0;
    switch (receive(c, buffer, sizeof buffer, &n)) {
      case Io::kData:
        c->last_activity_ms = now_ms_;
        if (c->draining) continue;
        if (c->in.empty() && !c->handshaking()) c->request_started_ms = now_ms_;
        c->in.append(buffer, n);
        // Stop taking input that cannot be a request within the limits; process() rejects it
        // (what is left is read once it has).
        if (c->in.size() > limits.max_header_bytes + limits.max_body_bytes + kReadChunk)
          return true;
        continue;
      case Io::kWouldBlock:
        return true;
      case Io::kEnd:
        if (c->draining || !c->request_in_progress()) {
          close_connection(c);
          return false;
        }
        c->peer_closed = true;
        return true;
      case Io::kError:
        close_connection(c);
        return false;
    }
  }
}

// Appends reply bytes, extending the time the client has to read them.
void EventLoop::queue_output(Connection* c, std::string_view bytes) {
  if (bytes.empty()) return;
  const int64_t allowance =
      static_cast<int64_t>(bytes.size() * 1000 / server_.options_.min_transfer_rate);
  if (!c->output_pending()) {
    c->write_deadline_ms = now_ms_ + server_.options_.write_timeout_ms + allowance;
  } else {
    c->write_deadline_ms += allowance;
  }
  c->out += bytes;
}

// Serves the complete requests in the input, in order, then writes the replies.
void EventLoop::process(Connection* c) {
  while (!c->busy && !c->closing && !c->draining && !c->in.empty() &&
         c->out.size() - c->out_offset < kMaxPendingOutput) {
    httplib::Request& req = c->req;
    ParseResult parsed = c->parser.parse(c->in, &req);
    if (parsed.status == ParseStatus::kIncomplete) {
      if (parsed.expects_continue && !c->sent_continue) {
        queue_output(c, "HTTP/1.1 100 Continue\r\n\r\n");
        c->sent_continue = true;
      }
      break;
    }
    if (parsed.status == ParseStatus::kError) {
      queue_output(c, server_.respond_error(parsed.error_status, parsed.error_message));
      c->closing = true;
      break;
    }
    c->in.erase(0, parsed.consumed);
    c->parser.reset();
    c->sent_continue = false;
    c->request_started_ms = now_ms_;  // pipelined bytes after it start the next request
    req.remote_addr = c->remote_addr;
    req.remote_port = c->remote_port;
    req.local_addr = c->local_addr;
    req.local_port = c->local_port;
    if (server_.may_block_(req)) {
      httplib::Request head;  // for a 503 if the pool cannot take the request
      head.method = req.method;
      head.version = req.version;
      auto task = [this, c, req = std::move(req), keep = parsed.keep_alive]() mutable {
        bool close = false;
        ConnectionEffect effect = ConnectionEffect::kReply;
        std::string bytes = server_.respond(req, keep, &close, &effect);
        complete(c, std::move(bytes), close, effect);
      };
      c->req = httplib::Request();
      c->busy = true;
      if (server_.blocking_pool_.submit(std::move(task))) break;
      // The pool is full (or no thread could be started): the request is not served.
      c->busy = false;
      queue_output(c, server_.respond_busy(head, parsed.keep_alive));
      if (!parsed.keep_alive) c->closing = true;
      continue;
    }
    bool close = false;
    ConnectionEffect effect = ConnectionEffect::kReply;
    std::string bytes = server_.respond(req, parsed.keep_alive, &close, &effect);
    req = httplib::Request();
    if (effect != ConnectionEffect::kReply) return end_without_reply(c, effect);
    queue_output(c, bytes);
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
bool EventLoop::flush(Connection* c) {
  while (c->output_pending()) {
    size_t n = 0;
    switch (send_some(c, c->out.data() + c->out_offset, c->out.size() - c->out_offset, &n)) {
      case Io::kData:
        c->out_offset += n;
        c->last_activity_ms = now_ms_;
        continue;
      case Io::kWouldBlock:
        update_interest(c);
        return true;
      case Io::kEnd:
      case Io::kError:
        close_connection(c);
        return false;
    }
  }
  c->out.clear();
  c->out_offset = 0;
  c->write_deadline_ms = 0;
  if (c->closing && !c->busy) {
    if (c->peer_closed) {
      close_connection(c);
      return false;
    }
    // Close our side and read until the client closes too, so unread input does not turn the
    // close into a reset that could destroy the reply before the client reads it.
    if (c->ssl) {
      ERR_clear_error();
      SSL_shutdown(c->ssl);  // close_notify, best effort
    }
    ::shutdown(c->fd, SHUT_WR);
    c->closing = false;
    c->draining = true;
    c->in.clear();
  }
  return true;
}

void EventLoop::update_interest(Connection* c) {
  uint32_t wanted = EPOLLRDHUP;
  if (c->busy) {
    wanted = 0;
  } else if (c->output_pending()) {
    wanted |= EPOLLOUT;
    if (c->tls_wants_read) wanted |= EPOLLIN;
  } else {
    wanted |= EPOLLIN;
    if (c->tls_wants_write) wanted |= EPOLLOUT;
  }
  // TLS may hold decrypted bytes the socket no longer signals: serve them without waiting.
  if (c->ssl && (wanted & EPOLLIN) && !c->tls_listed && SSL_pending(c->ssl) > 0) {
    c->tls_listed = true;
    tls_pending_.push_back(c);
  }
  if (wanted == c->interest) return;
  c->interest = wanted;
  epoll_event ev{};
  ev.events = wanted;
  ev.data.ptr = c;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

// Only the connection being served can close while the list is worked through, and a
// connection closed earlier took itself off the list (unlink).
void EventLoop::serve_tls_pending() {
  std::vector<Connection*> ready;
  ready.swap(tls_pending_);
  for (Connection* c : ready) {
    c->tls_listed = false;
    if (!c->busy && read_input(c)) process(c);
  }
}

void EventLoop::sweep_timeouts() {
  const auto& options = server_.options_;
  // Iterate backwards: closing swaps the last connection into the freed slot.
  for (size_t i = connections_.size(); i-- > 0;) {
    Connection* c = connections_[i];
    if (c->busy) continue;
    int64_t quiet = now_ms_ - c->last_activity_ms;
    if (c->output_pending()) {
      // A reader that trickles cannot hold its reply (and the memory) for ever.
      // A reset also frees what the kernel still holds for it.
      if (quiet > options.write_timeout_ms || now_ms_ > c->write_deadline_ms)
        end_without_reply(c, ConnectionEffect::kReset);
    } else if (c->draining) {
      if (quiet > options.read_timeout_ms) close_connection(c);
    } else if (c->request_in_progress()) {
      // Stalled, or too slow overall: a slowloris client keeps sending a byte now and then.
      int64_t deadline = c->request_started_ms + options.read_timeout_ms +
                         static_cast<int64_t>(c->in.size() * 1000 / options.min_transfer_rate);
      if (quiet <= options.read_timeout_ms && now_ms_ <= deadline) continue;
      if (c->parser.head_complete()) {
        // The head arrived but the body did not: say so before closing.
        queue_output(c, server_.respond_error(400, quiet > options.read_timeout_ms
                                                       ? "The request body stopped arriving."
                                                       : "The request body arrived too slowly."));
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

// Ends a connection as a handler asked, without a reply.
void EventLoop::end_without_reply(Connection* c, ConnectionEffect effect) {
  if (effect == ConnectionEffect::kReset) {
    linger hard{1, 0};  // a zero linger turns close into a reset
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  close_connection(c);
}

void EventLoop::retire_busy(Connection* c) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  unlink(c);
  retired_.insert(c);
}

void EventLoop::close_connection(Connection* c) {
  if (c->busy) return retire_busy(c);
  unlink(c);
  destroy(c);
}

void EventLoop::unlink(Connection* c) {
  Connection* last = connections_.back();
  connections_[c->slot] = last;
  last->slot = c->slot;
  connections_.pop_back();
  if (c->tls_listed) {
    tls_pending_.erase(std::find(tls_pending_.begin(), tls_pending_.end(), c));
    c->tls_listed = false;
  }
}

void EventLoop::destroy(Connection* c) {
  if (c->ssl) SSL_free(c->ssl);
  ::close(c->fd);  // also removes it from the epoll set
  delete c;
}

}  // namespace mock2ba
