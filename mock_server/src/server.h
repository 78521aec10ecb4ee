// The mock 2BA authorization server: HTTP setup, routing, scenarios, faults, journal and logs.
#ifndef MOCK2BA_SERVER_H_
#define MOCK2BA_SERVER_H_

#include <httplib.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "exchange.h"
#include "http_server.h"
#include "state_file.h"
#include "tenant.h"

namespace mock2ba {

enum class LogFormat { kText, kJson, kNone };

struct ServerOptions {
  std::string fixture_path;
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  std::string tls_cert;
  std::string tls_key;
  std::string admin_token;  // required for the control API when set
  LogFormat log_format = LogFormat::kText;
  size_t journal_capacity = 10000;
  // Event-loop threads (0: one per core but one, at least 1), for plain HTTP and TLS alike.
  size_t threads = 0;
  int read_timeout_ms = 5000;       // a request that stalls this long is answered 400 and closed
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413 (forms: cpp-httplib's own 8 KiB)
  std::string state_file;  // when set, the root scenario's tokens and clock survive restarts
};

// Whether an address is a loopback address (127.0.0.0/8, ::1 or localhost).
bool is_loopback_host(const std::string& host);

class MockServer {
 public:
  using Route = std::function<void(Exchange&)>;

  // Loads the fixture and sets up HTTP. Throws FixtureError for a bad fixture and
  // std::invalid_argument for unusable options (TLS files, missing admin token off loopback).
  explicit MockServer(ServerOptions options);
  ~MockServer();
  MockServer(const MockServer&) = delete;
  MockServer& operator=(const MockServer&) = delete;

  // Binds the listening socket. Returns false with *error when the address cannot be used.
  bool bind(std::string* error);
  // Serves on the bound socket until stop(); blocks the calling thread.
  void serve();
  // bind() + serve() on a background thread; returns once connections are accepted.
  bool start(std::string* error);
  // Stops accepting, lets requests in flight finish, and joins the background thread.
  void stop();

  int port() const { return port_; }
  // scheme://host:port of the root scenario.
  std::string base_url() const { return base_url_; }
  Tenant& root() { return *root_; }
  // What --state-file stores: the root scenario's clock and token store.
  nlohmann::json state_snapshot() const;

  // Serves `handler` for a lower-cased route (any method; handlers check it).
  void add_route(const std::string& lower_route, Route handler);
  // The lower-cased routes added with add_route (the product and control APIs have their own).
  std::vector<std::string> routes() const;

 private:
  // Serves one request; its headers and body end up moved into the journal. *effect tells the
  // HTTP layer to drop the connection instead of replying.
  void dispatch(httplib::Request& req, httplib::Response& res, ConnectionEffect* effect);
  std::shared_ptr<Tenant> scenario(const std::string& name, std::string* error);
  bool control_access_allowed(const httplib::Request& req) const;
  // Whether serving `req` may sleep or write to disk, so it must not run on an event loop.
  bool may_block(const httplib::Request& req) const;
  void log_request(const httplib::Request& req, const httplib::Response& res,
                   const std::string& scenario, const nlohmann::json& outcome,
                   double latency_ms) const;

  ServerOptions options_;
  std::string fixture_dir_;
  std::unique_ptr<HttpServer> http_;  // plain HTTP, or TLS with --tls-cert
  std::shared_ptr<Tenant> root_;
  std::mutex scenarios_mutex_;
  std::map<std::string, std::shared_ptr<Tenant>> scenarios_;
  std::unordered_map<std::string, Route> routes_;
  std::string make_base_url() const;

  int port_ = -1;
  std::string base_url_;    // fixed once bound; every request needs it
  std::thread thread_;
  std::unique_ptr<StateFile> state_file_;
};

}  // namespace mock2ba

#endif  // MOCK2BA_SERVER_H_
