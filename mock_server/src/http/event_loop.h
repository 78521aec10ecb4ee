// Internal to the http layer (only http_server.cpp and event_loop.cpp include it): the epoll
// loop that owns HttpServer's connections, reads and parses requests and writes replies.
#ifndef MOCK2BA_EVENT_LOOP_H_
#define MOCK2BA_EVENT_LOOP_H_

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "http/http_server.h"

namespace mock2ba {

struct Connection;

// One epoll loop on a thread of its own. It serves the connections dealt to it, runs handlers
// that cannot block in place and hands the others to the server's blocking pool.
class EventLoop {
 public:
  // Holds at most `max_connections` (at least 1) at once; past it a new one evicts another.
  EventLoop(HttpServer& server, size_t max_connections);
  // Runs after the loop's thread has stopped and the blocking pool has finished: frees every
  // connection, busy ones included.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Hands an accepted socket to this loop. Any thread.
  void adopt(int fd);
  // Delivers the reply to a request that ran on the blocking pool. Any thread.
  void complete(Connection* c, std::string bytes, bool close, ConnectionEffect effect);
  // Makes run() return soon. Any thread.
  void request_stop();
  // Serves until request_stop(); blocks the calling thread.
  void run();

 private:
  struct Completion {
    Connection* connection;
    std::string bytes;
    bool close;
    ConnectionEffect effect;
  };

  void wake();
  void take_inbox();
  void open_connection(int fd);
  void evict_one();
  void on_event(Connection* c, uint32_t events);
  bool read_input(Connection* c);
  void queue_output(Connection* c, std::string_view bytes);
  void process(Connection* c);
  bool flush(Connection* c);
  void update_interest(Connection* c);
  void serve_tls_pending();
  void sweep_timeouts();
  void end_without_reply(Connection* c, ConnectionEffect effect);
  void retire_busy(Connection* c);
  void close_connection(Connection* c);
  void unlink(Connection* c);
  static void destroy(Connection* c);

  HttpServer& server_;
  const size_t max_connections_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  int64_t now_ms_ = 0;
  std::vector<Connection*> connections_;
  std::unordered_set<Connection*> retired_;  // gone while busy: freed when the reply comes back
  std::vector<Connection*> tls_pending_;     // TLS connections with decrypted bytes waiting
  std::mutex inbox_mutex_;
  std::vector<int> new_fds_;
  std::vector<Completion> completions_;
};

// The numeric text of a socket address (IPv4 or IPv6); its port goes to *port.
std::string address_text(const sockaddr_storage& addr, int* port);

}  // namespace mock2ba

#endif  // MOCK2BA_EVENT_LOOP_H_
