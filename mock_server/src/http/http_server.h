// An HTTP/1.1 server on epoll event loops: keep-alive connections cost no thread each.
#ifndef MOCK2BA_HTTP_SERVER_H_
#define MOCK2BA_HTTP_SERVER_H_

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/blocking_pool.h"
#include "http/http_request_parser.h"

namespace mock2ba {

class EventLoop;

// What the HTTP layer does with the connection once a handler has run.
enum class ConnectionEffect {
  kReply,  // send the reply; keep or close the connection as HTTP says
  kClose,  // send nothing and close the connection: the client reads the end of the stream
  kReset,  // send nothing and reset the connection: the client gets ECONNRESET
};

// A handler's reply: the response and what then happens to the connection.
struct HandlerReply {
  httplib::Response response;
  ConnectionEffect effect = ConnectionEffect::kReply;
};

// cpp-httplib 0.11 gives every keep-alive connection a thread of its own; on two cores, 64
// connections then queue behind 64 runnable threads and p99 latency grows with the count. Here
// a few loops (one per core but one) serve all connections, plain or TLS (OpenSSL in
// non-blocking mode), and only handlers that may block get a thread from a bounded pool.
// Requests and replies are cpp-httplib's types.
class HttpServer {
 public:
  // May take (move) the request's parts; the server keeps only its method and version.
  using Handler = std::function<void(httplib::Request&, HandlerReply&)>;
  // Fills a reply for a request that cannot be served: one the parser rejected (400, 413, 414,
  // 431, 501, 505), whose handler threw (500), or that found the blocking pool full (503).
  using ErrorRenderer =
      std::function<void(int status, const std::string& message, httplib::Response&)>;
  // Whether a request's handler may block (sleep, disk, large output): it then runs on a thread
  // of the blocking pool instead of an event loop.
  using BlockingPredicate = std::function<bool(const httplib::Request&)>;

  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;        // 0: any free port
    size_t threads = 0;  // event loops; 0: one per core but one, at least 1
    HttpLimits limits;
    // A request that stops arriving this long is answered 400 (or closed, before its head is in).
    // A whole request must also arrive within this plus 1 s per min_transfer_rate bytes of it.
    int read_timeout_ms = 5000;
    int idle_timeout_ms = 30000;  // an idle keep-alive connection is closed after this long
    // A client that reads nothing this long is reset; so is one that takes longer than this plus
    // 1 s per min_transfer_rate bytes to read what it was sent.
    int write_timeout_ms = 5000;
    // The slowest transfer (bytes per second) a request or reply may take without being cut.
    size_t min_transfer_rate = 64 * 1024;
    size_t max_blocking_threads = 256;  // more blocking requests at once get 503 + Retry-After
    // Connections held at once; past it, a new one closes the oldest idle or incomplete one.
    // 0: the descriptor limit (RLIMIT_NOFILE) less kReservedDescriptors.
    size_t max_connections = 0;
    // Serve TLS with this PEM certificate (chain) and key; both empty: plain HTTP.
    std::string tls_cert;
    std::string tls_key;
  };

  // Descriptors kept free of connections for the loops, fixture and state files, and logs.
  static constexpr size_t kReservedDescriptors = 64;

  // Throws std::invalid_argument when the TLS certificate or key cannot be used.
  HttpServer(Options options, Handler handler, ErrorRenderer render_error,
             BlockingPredicate may_block);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens. Returns false with *error when the address cannot be used.
  bool bind(std::string* error);
  // Serves on the bound socket until stop(); blocks the calling thread.
  void serve();
  // Makes serve() return after closing every connection. Sleeps of blocking handlers
  // (sleep_for) are cut short; handlers in flight finish first, their replies go nowhere.
  void stop();
  // True while serve() accepts connections.
  bool is_running() const { return running_; }
  // The bound port, or -1 before bind().
  int port() const { return port_; }
  // Whether connections are TLS.
  bool tls() const { return tls_ != nullptr; }
  // Sleeps for `duration` unless the server stops first (for handlers that delay their reply).
  // Returns false when cut short.
  bool sleep_for(std::chrono::milliseconds duration) { return blocking_pool_.sleep_for(duration); }
  // Threads of the blocking pool alive now.
  size_t blocking_threads() const { return blocking_pool_.thread_count(); }

 private:
  // The loop is this class's other half, in its own file for size: as a friend it reads the
  // options, TLS context, predicate and pool below and calls the three respond functions
  // directly; an interface struct would only restate these members.
  friend class EventLoop;

  // Runs the handler on one parsed request and turns the result into reply bytes; *close is
  // set when the connection must close after them. Any thread.
  std::string respond(httplib::Request& req, bool client_keeps_alive, bool* close,
                      ConnectionEffect* effect);
  // Reply bytes for a request the parser rejected; the connection closes after them.
  std::string respond_error(int status, const std::string& message);
  // Reply bytes for a request that found the blocking pool full: 503 with Retry-After.
  std::string respond_busy(const httplib::Request& req, bool client_keeps_alive);

  Options options_;
  Handler handler_;
  ErrorRenderer render_error_;
  BlockingPredicate may_block_;
  SSL_CTX* tls_ = nullptr;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that wakes the accept loop
  int port_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<EventLoop>> loops_;
  BlockingPool blocking_pool_;
};

// Raises the soft descriptor limit (RLIMIT_NOFILE) to the hard one. Returns the new soft limit.
size_t raise_descriptor_limit();

// Serializes a reply as HTTP/1.1 bytes: status line, headers, Content-Length, body (none for
// HEAD). `close` adds Connection: close; `http10_keep_alive` adds Connection: keep-alive.
std::string serialize_response(const httplib::Request& req, const httplib::Response& res,
                               bool close, bool http10_keep_alive);

}  // namespace mock2ba

#endif  // MOCK2BA_HTTP_SERVER_H_
