#include "server.h"

#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "authorize_endpoint.h"
#include "client_auth.h"
#include "control_api.h"
#include "discovery.h"
#include "form.h"
#include "product_api.h"
#include "text_util.h"
#include "token_endpoint.h"

namespace mock2ba {
namespace {

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Paths match case-insensitively; these take the raw path or the lower-cased route alike.
bool is_scenario_path(std::string_view path) {
  return path.size() >= 3 && iequals(path.substr(0, 3), "/s/");
}

bool is_control_path(std::string_view path) {
  return iequals(path, "/__mock") || (path.size() >= 8 && iequals(path.substr(0, 8), "/__mock/"));
}

bool valid_scenario_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

// Asks the client to close after this reply (cpp-httplib adds the header itself when the request
// asked for it; a second copy would be malformed).
void ask_to_close(const httplib::Request& req, httplib::Response& res) {
  if (!iequals(req.get_header_value("Connection"), "close")) res.set_header("Connection", "close");
}

// A NUL or other control byte (besides tab) cannot appear in a header (RFC 9110 §5.5).
bool has_control_bytes(const std::string& text) {
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\t') || c == 0x7F) return true;
  }
  return false;
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// Puts a saved clock and token store into a fresh scenario state. A flowing clock keeps its
// offset from real time; a frozen one its instant.
void restore_state(TenantState& state, const nlohmann::json& saved) {
  if (saved.value("format", "") != "twoba-mock-state/1")
    throw std::runtime_error("not a mock state file");
  try {
    const nlohmann::json& clock = saved.at("clock");
    TimeMs now = clock.at("now_ms").get<TimeMs>();
    bool frozen = clock.at("frozen").get<bool>();
    state.clock.set(frozen ? now : real_now_ms() + (now - clock.at("real_ms").get<TimeMs>()));
    state.clock.set_frozen(frozen);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("malformed clock: ") + e.what());
  }
  state.store.restore(saved.at("store"));
}

}  // namespace

nlohmann::json MockServer::state_snapshot() const {
  auto state = root_->state();
  return {{"format", "twoba-mock-state/1"},
          {"fixture", state->fixture->source},
          {"clock",
           {{"now_ms", state->clock.now_ms()},
            {"real_ms", real_now_ms()},
            {"frozen", state->clock.frozen()}}},
          {"store", state->store.snapshot()}};
}

bool is_loopback_host(const std::string& host) {
  return starts_with(host, "127.") || host == "::1" || host == "[::1]" || host == "localhost";
}

MockServer::MockServer(ServerOptions options) : options_(std::move(options)) {
  auto fixture = std::make_shared<const Fixture>(load_fixture_file(options_.fixture_path));
  fixture_dir_ = directory_of(options_.fixture_path);
  root_ = std::make_shared<Tenant>("", std::move(fixture), options_.journal_capacity);

  if (!options_.state_file.empty()) {
    try {
      if (auto saved = StateFile::read(options_.state_file)) restore_state(*root_->state(), *saved);
    } catch (const std::exception& e) {
      throw std::invalid_argument("--state-file " + options_.state_file + ": " + e.what());
    }
    state_file_ =
        std::make_unique<StateFile>(options_.state_file, [this] { return state_snapshot(); });
    state_file_->commit();
  }

  if (!is_loopback_host(options_.host) && options_.admin_token.empty()) {
    throw std::invalid_argument("--host " + options_.host +
                                " is not loopback: the control API then needs --admin-token TOKEN");
  }
  if (options_.tls_cert.empty() != options_.tls_key.empty()) {
    throw std::invalid_argument("--tls-cert and --tls-key go together");
  }
  HttpServer::Options http;
  http.host = options_.host == "localhost" ? "127.0.0.1" : options_.host;
  http.port = options_.port;
  http.threads = options_.threads;
  http.read_timeout_ms = options_.read_timeout_ms;
  http.limits.max_body_bytes = options_.max_body_bytes;
  http.tls_cert = options_.tls_cert;
  http.tls_key = options_.tls_key;
  try {
    http_ = std::make_unique<HttpServer>(
        http,
        [this](httplib::Request& req, HandlerReply& reply) {
          dispatch(req, reply.response, &reply.effect);
        },
        [](int status, const std::string& message, httplib::Response& res) {
          send_oauth_error(res, status, status >= 500 ? "server_error" : "invalid_request",
                           message);
        },
        [this](const httplib::Request& req) { return may_block(req); });
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("cannot use --tls-cert " + options_.tls_cert + " / --tls-key " +
                                options_.tls_key + ": " + e.what());
  }

  add_route("/oauth/token", handle_token_endpoint);
  add_route("/connect/token", handle_token_endpoint);
  add_route("/.well-known/openid-configuration", handle_discovery);
  add_route("/oauth/authorize", handle_authorize_endpoint);
  add_route("/connect/authorize", handle_authorize_endpoint);
  add_route("/", handle_base_page);
}

MockServer::~MockServer() { stop(); }

void MockServer::add_route(const std::string& lower_route, Route handler) {
  routes_[lower_route] = std::move(handler);
}

std::vector<std::string> MockServer::routes() const {
  std::vector<std::string> out;
  for (const auto& [route, handler] : routes_) out.push_back(route);
  return out;
}

bool MockServer::bind(std::string* error) {
  if (!http_->bind(error)) return false;
  port_ = http_->port();
  base_url_ = make_base_url();
  return true;
}

void MockServer::serve() { http_->serve(); }

bool MockServer::start(std::string* error) {
  if (!bind(error)) return false;
  thread_ = std::thread([this] { serve(); });
  while (!http_->is_running()) std::this_thread::yield();
  return true;
}

void MockServer::stop() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

bool MockServer::may_block(const httplib::Request& req) const {
  if (state_file_) return true;  // every change is on disk before its reply
  // Scenarios load fixture files and have faults of their own; the control API loads fixtures
  // and writes whole journals.
  if (is_scenario_path(req.path) || is_control_path(req.path)) return true;
  return root_->faults().has_any();  // a fault may delay its reply
}

std::string MockServer::make_base_url() const {
  std::string host = options_.host.find(':') != std::string::npos && options_.host[0] != '['
                         ? "[" + options_.host + "]"
                         : options_.host;
  return (options_.tls_cert.empty() ? "http://" : "https://") + host + ":" + std::to_string(port_);
}

std::shared_ptr<Tenant> MockServer::scenario(const std::string& name, std::string* error) {
  std::lock_guard<std::mutex> lock(scenarios_mutex_);
  auto it = scenarios_.find(name);
  if (it != scenarios_.end()) return it->second;
  try {
    auto fixture =
        std::make_shared<const Fixture>(load_fixture_file(fixture_dir_ + "/" + name + ".json"));
    auto tenant = std::make_shared<Tenant>(name, std::move(fixture), options_.journal_capacity);
    scenarios_[name] = tenant;
    return tenant;
  } catch (const FixtureError& e) {
    *error = e.what();
    return nullptr;
  }
}

bool MockServer::control_access_allowed(const httplib::Request& req) const {
  if (options_.admin_token.empty()) return true;  // only possible on loopback
  std::string header = req.get_header_value("Authorization");
  if (header.size() < 7 || !iequals(std::string_view(header).substr(0, 7), "bearer ")) return false;
  return secrets_equal(header.substr(7), options_.admin_token);
}

void MockServer::dispatch(httplib::Request& req, httplib::Response& res, ConnectionEffect* effect) {
  auto started = std::chrono::steady_clock::now();
  for (const auto& [name, value] : req.headers) {
    if (has_control_bytes(name) || has_control_bytes(value)) {
      ask_to_close(req, res);
      return send_oauth_error(res, 400, "invalid_request",
                              "A header contains a NUL or control byte.");
    }
  }
  if (req.path.find('\0') != std::string::npos || !is_valid_utf8(req.path) ||
      !is_valid_utf8(req.target)) {
    return send_oauth_error(res, 400, "invalid_request",
                            "The path or query is not valid UTF-8 or contains a NUL byte.");
  }
  std::string route = to_lower(req.path);
  std::shared_ptr<Tenant> tenant = root_;
  std::string base = base_url_;
  if (is_scenario_path(route)) {
    size_t end = route.find('/', 3);
    std::string name = route.substr(3, end == std::string::npos ? std::string::npos : end - 3);
    std::string error;
    if (!valid_scenario_name(name)) {
      return send_json(res, 404,
                       nlohmann::json{{"error", "Scenario names use a-z, 0-9, - and _."}}.dump());
    }
    tenant = scenario(name, &error);
    if (!tenant) {
      bool missing = error.find("cannot open") != std::string::npos;
      return send_json(
          res, missing ? 404 : 500,
          nlohmann::json{
              {"error", missing ? "No scenario '" + name + "' in the fixture folder." : error}}
              .dump());
    }
    base += req.path.substr(0, 3 + name.size());
    route = end == std::string::npos ? "/" : route.substr(end);
  }

  Exchange ex{req, res, *tenant, tenant->state(), base, route};
  ex.now = ex.state->clock.now_ms();

  if (is_control_path(route)) {
    if (!control_access_allowed(req)) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"mock control API\"");
      return send_json(
          res, 401,
          nlohmann::json{{"error", "The control API needs Authorization: Bearer <admin token>."}}
              .dump());
    }
    handle_control_api(ex);
    if (state_file_ && tenant == root_ && req.method != "GET") state_file_->commit();
    return;
  }

  ex.state->fire_due_events();
  std::optional<Fault> fault;
  if (tenant->faults().has_any()) {
    std::string grant_type;
    if (is_token_route(route)) {
      if (auto form = Form::parse(req.body, nullptr)) grant_type = form->value("grant_type");
    }
    fault = tenant->faults().take(route, grant_type);
  }
  // Cut short when the server stops, so a long delay never holds up shutdown.
  if (fault && fault->delay_ms > 0) http_->sleep_for(std::chrono::milliseconds(fault->delay_ms));

  bool dropped = false;
  if (fault && fault->drop && !fault->after_commit) {
    dropped = true;
  } else if (fault && fault->status && !fault->after_commit) {
    res.status = *fault->status;
    res.set_content(fault->body.value_or(""), "application/json;charset=UTF-8");
  } else {
    auto handler = routes_.find(route);
    if (handler != routes_.end()) {
      handler->second(ex);
    } else if (is_product_api_route(route)) {
      handle_product_api(ex);
    } else {
      send_json(res, 404,
                nlohmann::json{{"error", "not_found"},
                               {"error_description", "No endpoint " + req.path + "."}}
                    .dump());
    }
    if (fault && fault->after_commit) {
      if (fault->status) {
        res.status = *fault->status;
        res.headers.clear();
        res.set_content(fault->body.value_or(""), "application/json;charset=UTF-8");
      } else {
        dropped = true;
      }
    }
  }
  if (fault) {
    for (const auto& [name, value] : fault->headers) res.set_header(name.c_str(), value);
    ex.outcome["fault"] = fault->id;
  }

  // A state change is on disk before its reply leaves, so a token that got a 200 survives kill -9.
  if (state_file_ && tenant == root_ && req.method != "GET" && req.method != "HEAD")
    state_file_->commit();

  JournalEntry entry;
  entry.time_ms = ex.now;
  entry.real_time_ms = real_now_ms();
  entry.method = req.method;
  entry.path = req.path;
  if (auto q = req.target.find('?'); q != std::string::npos) entry.query = req.target.substr(q + 1);
  entry.headers = std::move(req.headers);
  entry.body = ex.journal_body ? std::move(*ex.journal_body) : std::move(req.body);
  entry.status = dropped ? 0 : res.status;
  entry.response_headers = res.headers;
  entry.response_body = dropped ? "" : res.body;
  if (fault) entry.fault = fault->id;
  if (dropped) ex.outcome["dropped"] = true;
  double latency =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  log_request(req, res, tenant->name(), ex.outcome, latency);
  entry.outcome = std::move(ex.outcome);
  tenant->journal().record(std::move(entry));

  if (dropped) *effect = ConnectionEffect::kClose;
}

void MockServer::log_request(const httplib::Request& req, const httplib::Response& res,
                             const std::string& scenario, const nlohmann::json& outcome,
                             double latency_ms) const {
  if (options_.log_format == LogFormat::kNone) return;
  // Only the path is logged: queries and bodies can carry codes, tokens and passwords.
  std::string grant = outcome.value("grant_type", "");
  std::string client = outcome.value("client_id", "");
  std::string line;
  if (options_.log_format == LogFormat::kJson) {
    nlohmann::json j = {{"time", utc_timestamp()},
                        {"method", req.method},
                        {"path", req.path},
                        {"status", res.status},
                        {"latency_ms", latency_ms}};
    if (!scenario.empty()) j["scenario"] = scenario;
    if (!grant.empty()) j["grant_type"] = grant;
    if (!client.empty()) j["client_id"] = client;
    if (outcome.contains("login")) j["login"] = outcome["login"];
    if (outcome.contains("error")) j["error"] = outcome["error"];
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.2fms", latency_ms);
    line = utc_timestamp() + " " + req.method + " " + req.path + " " + std::to_string(res.status) +
           " " + latency;
    if (!grant.empty()) line += " grant=" + grant;
    if (!client.empty()) line += " client=" + client;
    if (outcome.contains("login") && outcome["login"].is_string())
      line += " login=" + outcome["login"].get<std::string>();
    if (outcome.contains("error") && outcome["error"].is_string())
      line += " error=" + outcome["error"].get<std::string>();
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace mock2ba
