// The mock 2BA authorization server: HTTP setup, routing, scenarios, faults, journal and logs.
#ifndef MOCK2BA_SERVER_H_
#define MOCK2BA_SERVER_H_

#include <httplib.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/faults.h"
#include "control/scenario.h"
#include "control/state_file.h"
#include "http/http_server.h"
#include "oauth/request_context.h"
#include "server/control_access.h"
#include "server/request_log.h"

namespace mock2ba {

struct ServerOptions {
  std::string fixture_path;
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  std::string tls_cert;
  std::string tls_key;
  std::string admin_token;  // required for the control API when set
  // Names clients reach the mock by besides loopback and `host` (--public-host: a CI service
  // container's alias): the control API accepts them as Host and Origin.
  std::vector<std::string> public_hosts;
  // Lets a non-loopback --host go without admin_token (--control-from any): the control API is
  // then open to whoever reaches the port, as in a container published to its host.
  bool control_from_any = false;
  LogFormat log_format = LogFormat::kText;
  size_t journal_capacity = 10000;
  // Event-loop threads (0: one per core but one, at least 1), for plain HTTP and TLS alike.
  size_t threads = 0;
  int read_timeout_ms = 5000;       // a request that stalls this long is answered 400 and closed
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413 (forms: cpp-httplib's own 8 KiB)
  std::string state_file;  // when set, the root scenario's tokens and clock survive restarts
  bool fixture_is_default = false;  // fixture_path was not given: messages do not show the path
};

class MockServer {
 public:
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
  Scenario& root() { return *root_; }

  // Whether serving `req` may sleep or touch the disk, so it must not run on an event loop:
  // loading a scenario, a fault (it may delay), --state-file, and the control API's large jobs.
  bool may_block(const httplib::Request& req) const;

 private:
  // Where a request goes: the scenario, its base URL and the route below it.
  struct Target {
    std::shared_ptr<Scenario> scenario;
    std::string base;
    std::string route;  // lower-cased
  };

  // Serves one request; its headers and body end up moved into the journal. *effect tells the
  // HTTP layer to drop the connection instead of replying. The steps follow.
  void dispatch(httplib::Request& req, httplib::Response& res, ConnectionEffect* effect);
  // Refuses control bytes in headers and a path that is not UTF-8.
  bool validate(const httplib::Request& req, httplib::Response& res) const;
  // The root or the /s/<name> scenario; nullopt after replying 404/500 when it cannot be loaded.
  std::optional<Target> resolve_scenario(const httplib::Request& req, httplib::Response& res);
  std::shared_ptr<Scenario> scenario(const std::string& name, std::string* error);
  // The control API behind its access rule (token, or Host, Origin and JSON bodies on loopback).
  void serve_control(RequestContext& ctx, Scenario& scenario);
  std::optional<Fault> take_fault(const RequestContext& ctx, Scenario& scenario) const;
  // Applies a fault's delay and, unless after_commit, its reply or drop; true when it replaced
  // the handler.
  bool fault_before(RequestContext& ctx, const Fault& fault, bool* dropped) const;
  // An after_commit fault replaces the handler's reply, or drops the connection.
  void fault_after(RequestContext& ctx, const Fault& fault, bool* dropped) const;
  static void send_fault_reply(httplib::Response& res, const Fault& fault);
  // The endpoint's handler, or 404.
  void route(RequestContext& ctx) const;
  // Journals the exchange (moving the request's headers and body) and logs it.
  void record(RequestContext& ctx, Scenario& scenario, httplib::Request& req,
              const std::optional<Fault>& fault, bool dropped,
              std::chrono::steady_clock::time_point started) const;

  ServerOptions options_;
  ControlAccess control_access_;
  RequestLog log_;
  std::string fixture_dir_;
  std::unique_ptr<HttpServer> http_;  // plain HTTP, or TLS with --tls-cert
  std::shared_ptr<Scenario> root_;
  std::string fixture_folder_label_;  // the scenario folder as the user named it, for replies
  mutable std::mutex scenarios_mutex_;
  std::map<std::string, std::shared_ptr<Scenario>> scenarios_;
  std::string make_base_url() const;

  int port_ = -1;
  std::string base_url_;  // fixed once bound; every request needs it
  std::thread thread_;
  std::unique_ptr<StateFile> state_file_;
};

}  // namespace mock2ba

#endif  // MOCK2BA_SERVER_H_
