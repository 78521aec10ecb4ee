// The event-loop HTTP server on its own, with small handlers: framing, keep-alive, pipelining,
// Expect: 100-continue, timeouts, errors, and handlers that block.
#include "http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace mock2ba {
namespace {

using Clock = std::chrono::steady_clock;

// A client socket with a deadline on every read.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
  }
  ~RawConnection() { close(fd_); }

  void send_text(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // Reads until `marker` has arrived `count` times, the peer closes, or the deadline passes.
  std::string read_until(const std::string& marker, int count = 1, int timeout_ms = 3000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (occurrences(marker) < count) {
      if (!read_some(deadline)) break;
    }
    return received_;
  }

  // True when the server closes the connection before the deadline.
  bool closed_within(int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (!read_some(deadline)) return closed_;
    }
    return false;
  }

 private:
  int occurrences(const std::string& marker) const {
    int n = 0;
    for (size_t at = received_.find(marker); at != std::string::npos;
         at = received_.find(marker, at + marker.size()))
      ++n;
    return n;
  }

  bool read_some(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    received_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServer::Options options = {}) {
    options.port = 0;
    options.threads = 2;
    server_ = std::make_unique<HttpServer>(
        options,
        [](const httplib::Request& req, httplib::Response& res) {
          if (req.path == "/throw") throw std::runtime_error("secret detail");
          if (req.path == "/slow") std::this_thread::sleep_for(std::chrono::milliseconds(1500));
          res.status = 200;
          res.set_content(req.method + " " + req.path + " " + req.body, "text/plain");
        },
        [](int status, const std::string& message, httplib::Response& res) {
          res.status = status;
          res.set_content("error: " + message, "text/plain");
        },
        [](const httplib::Request& req) { return req.path == "/slow"; });
    std::string error;
    ASSERT_TRUE(server_->bind(&error)) << error;
    thread_ = std::thread([this] { server_->serve(); });
    while (!server_->is_running()) std::this_thread::yield();
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const { return server_->port(); }

  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  start();
  RawConnection c(port());
  c.send_text(
      "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
      "GET /three HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string replies = c.read_until("HTTP/1.1 200 OK", 3);
  size_t one = replies.find("GET /one ");
  size_t two = replies.find("POST /two body");
  size_t three = replies.find("GET /three ");
  ASSERT_NE(three, std::string::npos) << replies;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
  EXPECT_NE(replies.find("Content-Length: 14\r\n"), std::string::npos) << replies;
}

TEST_F(HttpServerTest, ARequestArrivingByteByByteIsServed) {
  start();
  RawConnection c(port());
  std::string request = "POST /drip HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
  for (char byte : request) c.send_text(std::string(1, byte));
  EXPECT_NE(c.read_until("POST /drip abc").find("POST /drip abc"), std::string::npos);
}

TEST_F(HttpServerTest, ExpectContinueGetsAnInterimReplyBeforeTheBody) {
  start();
  RawConnection c(port());
  c.send_text("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(c.read_until("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  c.send_text("hello");
  EXPECT_NE(c.read_until("POST /up hello").find("HTTP/1.1 200 OK"), std::string::npos);
}

TEST_F(HttpServerTest, Http10ClosesUnlessAskedToKeepAlive) {
  start();
  {
    RawConnection c(port());
    c.send_text("GET /a HTTP/1.0\r\n\r\n");
    std::string reply = c.read_until("GET /a");
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
    EXPECT_TRUE(c.closed_within(2000));
  }
  RawConnection c(port());
  c.send_text("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_NE(c.read_until("GET /a").find("Connection: keep-alive"), std::string::npos);
  c.send_text("GET /b HTTP/1.0\r\n\r\n");
  EXPECT_NE(c.read_until("GET /b").find("GET /b"), std::string::npos);
}

TEST_F(HttpServerTest, HeadRepliesCarryTheLengthButNoBody) {
  start();
  RawConnection c(port());
  c.send_text("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string replies = c.read_until("GET /after");
  EXPECT_NE(replies.find("Content-Length: 8\r\n\r\nHTTP/1.1 200 OK"), std::string::npos) << replies;
  EXPECT_EQ(replies.find("HEAD /h"), std::string::npos);
}

TEST_F(HttpServerTest, AMalformedRequestGetsItsErrorAndTheConnectionCloses) {
  start();
  RawConnection c(port());
  c.send_text("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\nGET /never HTTP/1.1\r\n\r\n");
  std::string reply = c.read_until("folded");
  EXPECT_NE(reply.find("HTTP/1.1 400 Bad Request"), std::string::npos) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  EXPECT_TRUE(c.closed_within(2000));
  EXPECT_EQ(reply.find("/never"), std::string::npos);
}

TEST_F(HttpServerTest, AHandlerThatThrowsGetsA500WithoutItsMessage) {
  start();
  RawConnection c(port());
  c.send_text("GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string replies = c.read_until("GET /ok");
  EXPECT_NE(replies.find("HTTP/1.1 500 Internal Server Error"), std::string::npos) << replies;
  EXPECT_EQ(replies.find("secret detail"), std::string::npos);
  EXPECT_NE(replies.find("GET /ok"), std::string::npos);  // the connection kept serving
}

TEST_F(HttpServerTest, ABlockingHandlerDoesNotHoldUpOtherConnections) {
  start();
  RawConnection slow(port()), fast(port()), third(port());
  slow.send_text("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let /slow start sleeping
  auto started = Clock::now();
  fast.send_text("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  third.send_text("GET /third HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(fast.read_until("GET /fast").find("GET /fast"), std::string::npos);
  EXPECT_NE(third.read_until("GET /third").find("GET /third"), std::string::npos);
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(1000));
  EXPECT_NE(slow.read_until("GET /slow").find("GET /slow"), std::string::npos);
}

TEST_F(HttpServerTest, IdleAndStalledConnectionsAreClosed) {
  HttpServer::Options options;
  options.idle_timeout_ms = 300;
  options.read_timeout_ms = 300;
  start(options);
  RawConnection idle(port()), stalled_head(port()), stalled_body(port());
  stalled_head.send_text("GET /par");
  stalled_body.send_text("POST /b HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_TRUE(idle.closed_within(3000));
  EXPECT_TRUE(stalled_head.closed_within(3000));
  std::string reply = stalled_body.read_until("stopped arriving");
  EXPECT_NE(reply.find("HTTP/1.1 400"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, StopReturnsWhileClientsHoldConnections) {
  start();
  RawConnection held(port());
  held.send_text("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  held.read_until("GET /a");
  server_->stop();
  thread_.join();
  EXPECT_FALSE(server_->is_running());
  EXPECT_TRUE(held.closed_within(2000));
}

TEST(SerializeResponse, DropsHeadersThatWouldSplitTheReply) {
  httplib::Request req;
  req.method = "GET";
  httplib::Response res;
  res.status = 302;
  res.headers.emplace("Location", "/x\r\nSet-Cookie: evil=1");
  res.headers.emplace("X-Fine", "yes");
  std::string bytes = serialize_response(req, res, false, false);
  EXPECT_EQ(bytes.find("evil"), std::string::npos);
  EXPECT_EQ(bytes.rfind("HTTP/1.1 302 Found\r\n", 0), 0u);
  EXPECT_NE(bytes.find("X-Fine: yes\r\n"), std::string::npos);
}

}  // namespace
}  // namespace mock2ba
