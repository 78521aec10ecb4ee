// One behaviour on both transports: pipelining, many connections, prompt answers to bad framing,
// Expect: 100-continue, deadlines, faults that drop the connection and a quick shutdown, each
// over plain HTTP and over TLS.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "reliability_support.h"
#include "server/server.h"

namespace mock2ba {
namespace {

using Clock = std::chrono::steady_clock;
using testing::RawClient;

const std::string kDiscovery =
    "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

class TransportTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { start(testing::test_server_options()); }
  void TearDown() override {
    if (server_) server_->stop();
  }

  void start(ServerOptions options) {
    if (server_) server_->stop();
    if (tls()) {
      if (!certificate_) certificate_ = std::make_unique<testing::TestCertificate>();
      options.tls_cert = certificate_->cert();
      options.tls_key = certificate_->key();
    }
    server_ = std::make_unique<MockServer>(options);
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }

  bool tls() const { return GetParam(); }
  int port() const { return server_->port(); }

  void set_fault(const nlohmann::json& fault) {
    testing::RawReply reply =
        testing::raw_exchange(port(),
                              testing::raw_request("POST", "/__mock/faults", fault.dump(),
                                                   {"Content-Type: application/json"}),
                              5000, tls());
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  std::unique_ptr<testing::TestCertificate> certificate_;
  std::unique_ptr<MockServer> server_;
};

TEST_P(TransportTest, PipelinedRequestsInOneWriteAreAllAnswered) {
  RawClient client(port(), tls());
  std::string burst;
  for (int i = 0; i < 301; ++i) burst += kDiscovery;
  ASSERT_TRUE(client.send(burst));  // TLS: in a few full records
  std::string replies = client.read_until("HTTP/1.1 200 OK", 301, 10000);
  size_t answered = 0;
  for (size_t at = replies.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = replies.find("HTTP/1.1 200 OK", at + 1))
    ++answered;
  EXPECT_EQ(answered, 301u);
}

TEST_P(TransportTest, ManyKeepAliveConnectionsAreServedAtOnce) {
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 100; ++i) clients.push_back(std::make_unique<RawClient>(port(), tls()));
  for (auto& client : clients) ASSERT_TRUE(client->send(kDiscovery));
  size_t answered = 0;
  for (auto& client : clients)
    answered += client->read_until("token_endpoint", 1, 5000).find("HTTP/1.1 200 OK") == 0;
  EXPECT_EQ(answered, 100u);
}

TEST_P(TransportTest, BadFramingIsAnsweredAtOnce) {
  RawClient client(port(), tls());
  auto started = Clock::now();
  ASSERT_TRUE(
      client.send("POST /OAuth/Token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n\r\ngrant_type=password"));
  std::string reply = client.read_until("\"error\"", 1, 5000);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << reply;
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(1000));
}

TEST_P(TransportTest, ExpectContinueIsNotSentForABodyThatWillBeRefused) {
  RawClient client(port(), tls());
  ASSERT_TRUE(client.send(
      "POST /OAuth/Token HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n\r\n"));
  std::string reply = client.read_until("\"error\"", 1, 5000);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413 ", 0), 0u) << reply;
  EXPECT_EQ(reply.find("100 Continue"), std::string::npos) << reply;
}

TEST_P(TransportTest, AHeadTrickledPastTheRequestDeadlineIsCut) {
  ServerOptions options = testing::test_server_options();
  options.read_timeout_ms = 500;
  start(options);
  RawClient client(port(), tls());
  client.send("GET / HTTP/1.1\r\nX-Pad: ");
  bool cut = false;
  auto started = Clock::now();
  for (int i = 0; i < 60 && !cut; ++i) {
    client.send("a");  // each its own TLS record: a byte every 100 ms
    cut = client.closed_within(100);
  }
  EXPECT_TRUE(cut);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(3));
}

TEST_P(TransportTest, ADropFaultClosesTheConnectionWithoutAReply) {
  set_fault({{"path", "/.well-known/openid-configuration"}, {"drop", true}});
  RawClient client(port(), tls());
  ASSERT_TRUE(client.send(kDiscovery));
  EXPECT_TRUE(client.closed_within(3000));
  EXPECT_EQ(client.received(), "");
  // The next request is served.
  RawClient next(port(), tls());
  ASSERT_TRUE(next.send(kDiscovery));
  EXPECT_EQ(next.read_until("token_endpoint").rfind("HTTP/1.1 200 OK", 0), 0u);
}

TEST_P(TransportTest, StopCutsALongFaultDelayShort) {
  set_fault({{"path", "/.well-known/openid-configuration"}, {"delay_ms", 600000}, {"times", 0}});
  std::vector<std::unique_ptr<RawClient>> waiting;
  for (int i = 0; i < 4; ++i) {
    waiting.push_back(std::make_unique<RawClient>(port(), tls()));
    ASSERT_TRUE(waiting.back()->send(kDiscovery));
  }
  waiting.resize(2);  // two clients give up while their requests wait
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto started = Clock::now();
  server_->stop();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(1));
  for (auto& client : waiting) EXPECT_TRUE(client->closed_within(2000));
  server_.reset();
}

INSTANTIATE_TEST_SUITE_P(Transports, TransportTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Tls" : "Http";
                         });

}  // namespace
}  // namespace mock2ba
