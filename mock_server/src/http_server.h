// An HTTP/1.1 server on epoll event loops: keep-alive connections cost no thread each.
#ifndef MOCK2BA_HTTP_SERVER_H_
#define MOCK2BA_HTTP_SERVER_H_

#include <httplib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "blocking_pool.h"
#include "http_request_parser.h"

namespace mock2ba {

class EventLoop;

// cpp-httplib 0.11 gives every keep-alive connection a thread of its own; on two cores, 64
// connections then queue behind 64 runnable threads and p99 latency grows with the count. Here
// a few loops (one per core but one) serve all connections, and only handlers that may block get a
// thread of their own. Requests and replies are cpp-httplib's types, so handlers are shared
// with the TLS server, which stays on cpp-httplib.
class HttpServer {
 public:
  // May take (move) the request's parts; the server keeps only its method and version.
  using Handler = std::function<void(httplib::Request&, httplib::Response&)>;
  // Fills a reply for a request that cannot be served: one the parser rejected (400, 413, 414,
  // 431, 501, 505) or whose handler threw (500).
  using ErrorRenderer =
      std::function<void(int status, const std::string& message, httplib::Response&)>;
  // Whether a request's handler may block (sleep, disk, large output): it then runs on its own
  // thread instead of an event loop.
  using BlockingPredicate = std::function<bool(const httplib::Request&)>;

  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;        // 0: any free port
    size_t threads = 0;  // event loops; 0: one per core but one, at least 1
    HttpLimits limits;
    int read_timeout_ms = 5000;   // a request that stops arriving this long is answered 400
    int idle_timeout_ms = 30000;  // an idle keep-alive connection is closed after this long
    int write_timeout_ms = 5000;  // a client that reads nothing this long is dropped
  };

  HttpServer(Options options, Handler handler, ErrorRenderer render_error,
             BlockingPredicate may_block);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens. Returns false with *error when the address cannot be used.
  bool bind(std::string* error);
  // Serves on the bound socket until stop(); blocks the calling thread.
  void serve();
  // Makes serve() return after closing every connection; handlers in flight finish first.
  void stop();
  // True while serve() accepts connections.
  bool is_running() const { return running_; }
  // The bound port, or -1 before bind().
  int port() const { return port_; }

  // Runs the handler on one parsed request and turns the result into reply bytes; *close is
  // set when the connection must close after them. Any thread.
  std::string respond(httplib::Request& req, bool client_keeps_alive, bool* close);
  // Reply bytes for a request the parser rejected; the connection closes after them.
  std::string respond_error(int status, const std::string& message);
  const Options& options() const { return options_; }
  bool may_block(const httplib::Request& req) const { return may_block_(req); }
  BlockingPool& blocking_pool() { return blocking_pool_; }

 private:
  Options options_;
  Handler handler_;
  ErrorRenderer render_error_;
  BlockingPredicate may_block_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that wakes the accept loop
  int port_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<EventLoop>> loops_;
  BlockingPool blocking_pool_;
};

// Serializes a reply as HTTP/1.1 bytes: status line, headers, Content-Length, body (none for
// HEAD). `close` adds Connection: close; `http10_keep_alive` adds Connection: keep-alive.
std::string serialize_response(const httplib::Request& req, const httplib::Response& res,
                               bool close, bool http10_keep_alive);

}  // namespace mock2ba

#endif  // MOCK2BA_HTTP_SERVER_H_
