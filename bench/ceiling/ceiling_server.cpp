// The ceiling of an HTTP layer: the token endpoint answered with a fixed token and the product
// call with a fixed product. No parsing, no state: whatever the mock does beyond this costs
// throughput measured against it. Two layers:
//   --layer httplib (default)  cpp-httplib with the tuning the mock used on it (thread per
//                              connection); the ceiling the performance targets name
//   --layer mock               the mock's own event-loop HTTP layer (mock2ba::HttpServer)
//
//   bench_ceiling_server [--layer httplib|mock] [--host ADDR] [--port N] [--fixture FILE]
//                        [--threads N]
//
// Prints `READY <base-url>` once it accepts connections; SIGINT/SIGTERM stop it.

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "http/http_server.h"

namespace {

// Same shape and sizes as the mock's replies: 43-character tokens, 2BA's header set.
constexpr char kTokenBody[] =
    R"({"access_token":"q8ZJx1Wm3yTgk0bq4m2H9hV7nC5rPzLwE6sYdKfUaQo","token_type":"Bearer",)"
    R"("expires_in":3600,"refresh_token":"Vb3nR0tY8eWq2zLm5kPx7sJd9hGc4fAu1iOyTr6NwEa"})";
constexpr char kJsonType[] = "application/json;charset=UTF-8";

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string fixture;
  size_t threads = 0;  // 0: kDefaultThreads (httplib), one per core (mock)
  std::string layer = "httplib";
};

// The mock server's tuning: one worker per keep-alive connection, long keep-alive.
constexpr size_t kDefaultThreads = 64;
constexpr size_t kKeepAliveMaxCount = 10000;
constexpr time_t kKeepAliveTimeoutSec = 2;
// cpp-httplib 0.11.4 listens with a backlog of 5: 64 clients connecting at once overflow it, and
// each dropped handshake is retried only after 1 s, which shows up as second-long p99 latency.
constexpr int kListenBacklog = 1024;

[[noreturn]] void usage_exit(const std::string& why) {
  std::cerr << "bench_ceiling_server: " << why << "\n"
            << "usage: bench_ceiling_server [--layer httplib|mock] [--host ADDR] [--port N] "
               "[--fixture FILE] [--threads N]\n";
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage_exit("missing value for " + flag);
    const std::string value = argv[++i];
    if (flag == "--host") {
      opts.host = value;
    } else if (flag == "--port") {
      opts.port = std::atoi(value.c_str());
    } else if (flag == "--fixture") {
      opts.fixture = value;
    } else if (flag == "--layer") {
      if (value != "httplib" && value != "mock") usage_exit("--layer is httplib or mock");
      opts.layer = value;
    } else if (flag == "--threads") {
      opts.threads = static_cast<size_t>(std::atoll(value.c_str()));
    } else {
      usage_exit("unknown flag " + flag);
    }
  }
  return opts;
}

// The first product of the fixture, so the fixed product reply is as large as the mock's.
std::string product_body(const std::string& fixture_path) {
  if (fixture_path.empty()) return "{}";
  std::ifstream in(fixture_path);
  const auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("products") || doc["products"].empty()) {
    usage_exit(fixture_path + ": no products[0]");
  }
  return doc["products"][0].dump();
}

void fill_token(httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  res.set_header("Pragma", "no-cache");
  res.set_content(kTokenBody, sizeof(kTokenBody) - 1, kJsonType);
}

// The same fixed replies on the mock's own HTTP layer.
int serve_on_mock_layer(const Options& opts, const std::string& product,
                        const sigset_t& stop_signals) {
  mock2ba::HttpServer::Options http;
  http.host = opts.host;
  http.port = opts.port;
  http.threads = opts.threads;
  mock2ba::HttpServer server(
      http,
      [&product](const httplib::Request& req, mock2ba::HandlerReply& reply) {
        httplib::Response& res = reply.response;
        if (req.path == "/OAuth/Token" || req.path == "/connect/token") {
          fill_token(res);
        } else if (req.path == "/1/json/Product/DetailsForProduct") {
          res.set_content(product, kJsonType);
        } else {
          res.status = 404;
        }
      },
      [](int status, const std::string&, httplib::Response& res) { res.status = status; },
      [](const httplib::Request&) { return false; });
  std::string error;
  if (!server.bind(&error)) {
    std::cerr << "bench_ceiling_server: " << error << "\n";
    return 1;
  }
  std::thread stopper([&server, &stop_signals] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    server.stop();
  });
  std::printf("READY http://%s:%d\n", opts.host.c_str(), server.port());
  std::fflush(stdout);
  server.serve();
  stopper.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opts = parse_args(argc, argv);
  const std::string product = product_body(opts.fixture);
  const size_t threads = opts.threads ? opts.threads : kDefaultThreads;

  // Workers inherit this mask; a dedicated thread takes the stop signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  if (opts.layer == "mock") return serve_on_mock_layer(opts, product, stop_signals);

  httplib::Server server;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_tcp_nodelay(true);  // else Nagle + delayed ACK add 40 ms per keep-alive request
  server.set_keep_alive_max_count(kKeepAliveMaxCount);
  server.set_keep_alive_timeout(kKeepAliveTimeoutSec);
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });

  auto token = [](const httplib::Request&, httplib::Response& res) { fill_token(res); };
  server.Post("/OAuth/Token", token);
  server.Post("/connect/token", token);
  server.Get("/1/json/Product/DetailsForProduct",
             [&product](const httplib::Request&, httplib::Response& res) {
               res.set_content(product, kJsonType);
             });

  const int port = opts.port == 0 ? server.bind_to_any_port(opts.host)
                                  : (server.bind_to_port(opts.host, opts.port) ? opts.port : -1);
  if (port < 0) {
    std::cerr << "bench_ceiling_server: cannot listen on " << opts.host << ":" << opts.port << "\n";
    return 1;
  }
  ::listen(listen_fd, kListenBacklog);  // again, with room for a burst of connections
  std::thread listener([&server] { server.listen_after_bind(); });
  std::thread stopper([&server, &stop_signals] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    server.stop();
  });
  while (!server.is_running()) std::this_thread::yield();
  std::printf("READY http://%s:%d\n", opts.host.c_str(), port);
  std::fflush(stdout);

  listener.join();
  // listen_after_bind also returns on a socket error; wake the stopper so it can be joined.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return 0;
}
