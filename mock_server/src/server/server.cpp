#include "server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "control/control_api.h"
#include "http/form.h"
#include "oauth/client_auth.h"
#include "oauth/endpoints.h"
#include "product/product_api.h"
#include "util/text_util.h"

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

// The scenario name in a path that starts with /s/ (as written, not lower-cased).
std::string_view scenario_name(std::string_view path) {
  size_t end = path.find('/', 3);
  return path.substr(3, end == std::string_view::npos ? std::string_view::npos : end - 3);
}

// The rest of a scenario path after /s/<name>, "/" when there is none.
std::string_view scenario_route(std::string_view path, size_t name_size) {
  std::string_view rest = path.substr(3 + name_size);
  return rest.empty() ? std::string_view("/") : rest;
}

// The host of "host[:port]" or "[v6]:port" (a Host header or an Origin's authority).
std::string host_of_authority(std::string_view authority) {
  authority = authority.substr(0, authority.find('/'));
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    return close == std::string_view::npos ? "" : std::string(authority.substr(1, close - 1));
  }
  size_t colon = authority.find(':');
  if (colon != std::string_view::npos && authority.find(':', colon + 1) == std::string_view::npos)
    authority = authority.substr(0, colon);
  return std::string(authority);
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

// Control bytes, DEL and backslash as \xNN / \\, so one request is always one log line.
std::string escape_for_log(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

constexpr char kStateFormat[] = "twoba-mock-state/2";

// The clock as each line of the state file records it.
nlohmann::json state_clock(const ScenarioState& state, TimeMs now) {
  return {{"now_ms", now}, {"real_ms", real_now_ms()}, {"frozen", state.clock.frozen()}};
}

// Puts a saved clock and token store into a fresh scenario state: the snapshot, then each line
// of changes. A flowing clock keeps its offset from real time; a frozen one its instant.
void restore_state(ScenarioState& state, const StateFile::Contents& saved) {
  std::string format = saved.snapshot.value("format", "");
  // A /1 file is a snapshot without lines of changes.
  if (format != kStateFormat && format != "twoba-mock-state/1")
    throw std::runtime_error("not a mock state file");
  size_t line = 1;
  try {
    const nlohmann::json* last = &saved.snapshot;
    state.store.restore(saved.snapshot.at("store"));
    for (const auto& change : saved.changes) {
      ++line;
      state.store.apply_changes(change.at("store"));
      last = &change;
    }
    line = 1 + saved.changes.size();
    const nlohmann::json& clock = last->at("clock");
    TimeMs now = clock.at("now_ms").get<TimeMs>();
    bool frozen = clock.at("frozen").get<bool>();
    state.clock.set(frozen ? now : real_now_ms() + (now - clock.at("real_ms").get<TimeMs>()));
    state.clock.set_frozen(frozen);
  } catch (const std::exception& e) {
    throw std::runtime_error("line " + std::to_string(line) + ": " + e.what());
  }
}

}  // namespace

std::string MockServer::state_snapshot() const {
  auto state = root_->state();
  TimeMs now = state->clock.now_ms();
  // The store is written as text straight into the document (see TokenStore::write_snapshot).
  std::string out = nlohmann::json{{"format", kStateFormat},
                                   {"fixture", state->fixture->source},
                                   {"clock", state_clock(*state, now)}}
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.pop_back();  // the closing brace
  out += ",\"store\":";
  state->store.write_snapshot(out, now);
  out += '}';
  return out;
}

std::optional<std::string> MockServer::state_changes() const {
  auto state = root_->state();
  TimeMs now = state->clock.now_ms();
  std::string out = nlohmann::json{{"clock", state_clock(*state, now)}}.dump();
  out.pop_back();
  out += ",\"store\":";
  // A store that a reset or fixture load put in place has no snapshot on disk yet.
  if (!state->store.write_changes(out, now)) return std::nullopt;
  out += '}';
  return out;
}

bool is_loopback_host(const std::string& host) {
  if (iequals(host, "localhost") || iequals(host, "localhost.")) return true;
  std::string address = host;
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  // Decided by the parsed address: "127.0.0.1.example" is a name, whatever it resolves to.
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

MockServer::MockServer(ServerOptions options) : options_(std::move(options)) {
  auto fixture = std::make_shared<const Fixture>(load_fixture_file(options_.fixture_path));
  fixture_dir_ = directory_of(options_.fixture_path);
  fixture_folder_label_ = options_.fixture_is_default
                              ? "the default fixture folder (choose another with --fixture FILE)"
                              : "the fixture folder '" + fixture_dir_ + "'";
  root_ = std::make_shared<Scenario>("", std::move(fixture), options_.journal_capacity);

  if (!options_.state_file.empty()) {
    try {
      if (auto saved = StateFile::read(options_.state_file)) restore_state(*root_->state(), *saved);
    } catch (const std::exception& e) {
      throw std::invalid_argument("--state-file " + options_.state_file + ": " + e.what());
    }
    state_file_ = std::make_unique<StateFile>(
        options_.state_file, [this] { return state_snapshot(); },
        [this] { return state_changes(); });
    state_file_->commit();
  }

  if (!is_loopback_host(options_.host) && options_.admin_token.empty() &&
      !options_.control_from_any) {
    throw std::invalid_argument("--host " + options_.host +
                                " is not loopback: the control API then needs --admin-token TOKEN "
                                "(or --control-from any to open it to every client)");
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
          send_oauth_error(res, status,
                           status >= 500 ? OAuthError::kServerError : OAuthError::kInvalidRequest,
                           message);
        },
        [this](const httplib::Request& req) { return may_block(req); });
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("cannot use --tls-cert " + options_.tls_cert + " / --tls-key " +
                                options_.tls_key + ": " + e.what());
  }

  for (const Endpoint& endpoint : endpoints()) add_route(to_lower(endpoint.path), endpoint.handle);
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
  std::string_view path = req.path;
  Scenario* scenario = root_.get();
  if (is_scenario_path(path)) {
    std::string name = to_lower(scenario_name(path));
    std::lock_guard<std::mutex> lock(scenarios_mutex_);
    auto it = scenarios_.find(name);
    if (it == scenarios_.end()) return true;  // loading reads a file
    scenario = it->second.get();
    path = scenario_route(path, name.size());
  }
  if (is_control_route(to_lower(path))) {
    const ControlRoute* route = find_control_route(to_lower(path));
    return route && route->blocking;
  }
  return scenario->faults().has_any();  // a fault may delay its reply
}

std::string MockServer::make_base_url() const {
  std::string host = options_.host.find(':') != std::string::npos && options_.host[0] != '['
                         ? "[" + options_.host + "]"
                         : options_.host;
  return (options_.tls_cert.empty() ? "http://" : "https://") + host + ":" + std::to_string(port_);
}

std::shared_ptr<Scenario> MockServer::scenario(const std::string& name, std::string* error) {
  {
    std::lock_guard<std::mutex> lock(scenarios_mutex_);
    auto it = scenarios_.find(name);
    if (it != scenarios_.end()) return it->second;
  }
  // Loaded without the lock: a slow file delays only requests for this scenario. Two requests
  // racing to load the same one both read it; the first to finish wins.
  const std::string file = name + ".json";
  try {
    auto fixture = std::make_shared<const Fixture>(load_fixture_file(fixture_dir_ + "/" + file));
    auto scenario = std::make_shared<Scenario>(name, std::move(fixture), options_.journal_capacity);
    std::lock_guard<std::mutex> lock(scenarios_mutex_);
    return scenarios_.emplace(name, std::move(scenario)).first->second;
  } catch (const FixtureError& e) {
    // The reply names the scenario and the folder as the user gave it; the details (which may
    // quote the file) go to the mock's own log only.
    if (e.kind() == FixtureError::kMissing) {
      *error =
          "No scenario '" + name + "': there is no " + file + " in " + fixture_folder_label_ + ".";
    } else {
      std::fprintf(stderr, "scenario %s: %s\n", name.c_str(), e.what());
      *error = "Scenario '" + name + "' (" + file + " in " + fixture_folder_label_ +
               ") is not a valid fixture; the mock's log says why.";
    }
    return nullptr;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scenario %s: %s\n", name.c_str(), e.what());
    *error = "Scenario '" + name + "' could not be loaded; the mock's log says why.";
    return nullptr;
  }
}

MockServer::ControlRefusal MockServer::control_refusal(const httplib::Request& req) const {
  if (!options_.admin_token.empty()) {
    // Opened beyond loopback: the token decides (a web page cannot know it, and a request that
    // carries it is preflighted by browsers).
    std::string header = req.get_header_value("Authorization");
    if (header.size() < 7 || !iequals(std::string_view(header).substr(0, 7), "bearer ") ||
        !secrets_equal(header.substr(7), options_.admin_token))
      return ControlRefusal::kNoToken;
  } else {
    // Loopback, or --control-from any (the container image, published on the host's loopback):
    // either way a web page must not steer it. DNS rebinding makes a web page's own name resolve
    // to 127.0.0.1: its requests then carry that name as Host. A cross-site page carries its
    // Origin.
    if (req.has_header("Host") &&
        !is_own_or_loopback(host_of_authority(req.get_header_value("Host"))))
      return ControlRefusal::kForeignHost;
    if (req.has_header("Origin")) {
      const std::string origin = req.get_header_value("Origin");
      auto scheme_end = origin.find("://");
      std::string scheme =
          scheme_end == std::string::npos ? "" : to_lower(origin.substr(0, scheme_end));
      // "null" (a sandboxed or file: page) has no scheme and is refused too.
      if ((scheme != "http" && scheme != "https") ||
          !is_own_or_loopback(host_of_authority(origin.substr(scheme_end + 3))))
        return ControlRefusal::kForeignOrigin;
    }
  }
  if (!req.body.empty()) {
    // A browser sends only form and text/plain bodies cross-site without asking first
    // (CORS preflight); requiring JSON takes that path away even from a browser without Origin.
    std::string type = to_lower(req.get_header_value("Content-Type"));
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    if (type != "application/json") return ControlRefusal::kNotJson;
  }
  return ControlRefusal::kNone;
}

bool MockServer::is_own_or_loopback(const std::string& host) const {
  if (is_loopback_host(host) || iequals(host, options_.host)) return true;
  for (const auto& name : options_.public_hosts) {
    if (iequals(host, name)) return true;
  }
  return false;
}

std::optional<MockServer::Target> MockServer::resolve_scenario(const httplib::Request& req,
                                                               httplib::Response& res) {
  Target target{root_, base_url_, to_lower(req.path)};
  if (!is_scenario_path(req.path)) return target;
  std::string name = to_lower(scenario_name(req.path));
  if (!valid_scenario_name(name)) {
    send_json(res, 404, nlohmann::json{{"error", "Scenario names use a-z, 0-9, - and _."}}.dump());
    return std::nullopt;
  }
  std::string error;
  target.scenario = scenario(name, &error);
  if (!target.scenario) {
    bool missing = starts_with(error, "No scenario");
    send_json(res, missing ? 404 : 500,
              nlohmann::json{{"error", error}}.dump(-1, ' ', false,
                                                    nlohmann::json::error_handler_t::replace));
    return std::nullopt;
  }
  target.base += req.path.substr(0, 3 + name.size());
  target.route = to_lower(scenario_route(req.path, name.size()));
  return target;
}

bool MockServer::validate(const httplib::Request& req, httplib::Response& res) const {
  for (const auto& [name, value] : req.headers) {
    if (has_control_bytes(name) || has_control_bytes(value)) {
      ask_to_close(req, res);
      send_oauth_error(res, 400, OAuthError::kInvalidRequest,
                       "A header contains a NUL or control byte.");
      return false;
    }
  }
  if (req.path.find('\0') != std::string::npos || !is_valid_utf8(req.path) ||
      !is_valid_utf8(req.target)) {
    send_oauth_error(res, 400, OAuthError::kInvalidRequest,
                     "The path or query is not valid UTF-8 or contains a NUL byte.");
    return false;
  }
  return true;
}

void MockServer::serve_control(RequestContext& ctx, Scenario& scenario) {
  // Why a control request is refused, with its status and message.
  struct Refusal {
    ControlRefusal reason;
    int status;
    const char* message;
  };
  static constexpr Refusal kRefusals[] = {
      {ControlRefusal::kNoToken, 401, "The control API needs Authorization: Bearer <admin token>."},
      {ControlRefusal::kForeignHost, 403,
       "The control API answers only requests addressed to this mock (Host 127.0.0.1, localhost, "
       "::1 or the --host address); this one was addressed to another name."},
      {ControlRefusal::kForeignOrigin, 403,
       "The control API refuses requests from web pages of other sites (the Origin is not this "
       "mock or a loopback address)."},
      {ControlRefusal::kNotJson, 415,
       "A control request with a body needs Content-Type: application/json (curl: -H "
       "'Content-Type: application/json')."},
  };
  ControlRefusal refused = control_refusal(ctx.req);
  for (const Refusal& r : kRefusals) {
    if (r.reason != refused) continue;
    if (r.status == 401)
      ctx.res.set_header("WWW-Authenticate", "Bearer realm=\"mock control API\"");
    return send_json(ctx.res, r.status, nlohmann::json{{"error", r.message}}.dump());
  }
  handle_control_api(ctx, scenario);
  if (state_file_ && &scenario == root_.get() && ctx.req.method != "GET") state_file_->commit();
}

std::optional<Fault> MockServer::take_fault(const RequestContext& ctx, Scenario& scenario) const {
  if (!scenario.faults().has_any()) return std::nullopt;
  std::string grant_type;
  if (is_token_route(ctx.route)) {
    if (auto form = Form::parse(ctx.req.body, nullptr)) grant_type = form->value("grant_type");
  }
  return scenario.faults().take(ctx.route, grant_type);
}

bool MockServer::fault_before(RequestContext& ctx, const Fault& fault, bool* dropped) const {
  // Cut short when the server stops, so a long delay never holds up shutdown.
  if (fault.delay_ms > 0) http_->sleep_for(std::chrono::milliseconds(fault.delay_ms));
  if (fault.after_commit) return false;
  if (fault.drop) {
    *dropped = true;
    return true;
  }
  if (!fault.status) return false;
  send_fault_reply(ctx.res, fault);
  return true;
}

void MockServer::fault_after(RequestContext& ctx, const Fault& fault, bool* dropped) const {
  if (!fault.after_commit) return;
  if (fault.status) {
    ctx.res.headers.clear();
    send_fault_reply(ctx.res, fault);
  } else {
    *dropped = true;
  }
}

void MockServer::send_fault_reply(httplib::Response& res, const Fault& fault) {
  res.status = *fault.status;
  // 204 and 304 carry no body (faults with one are refused when set).
  if (!status_allows_body(*fault.status)) {
    res.body.clear();
    return;
  }
  res.set_content(fault.body.value_or(""), "application/json;charset=UTF-8");
}

void MockServer::route(RequestContext& ctx) const {
  auto handler = routes_.find(ctx.route);
  if (handler != routes_.end()) return handler->second(ctx);
  if (is_product_api_route(ctx.route)) return handle_product_api(ctx);
  send_json(ctx.res, 404,
            nlohmann::json{{"error", "not_found"},
                           {"error_description", "No endpoint " + ctx.req.path + "."}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void MockServer::record(RequestContext& ctx, Scenario& scenario, httplib::Request& req,
                        const std::optional<Fault>& fault, bool dropped,
                        std::chrono::steady_clock::time_point started) const {
  const httplib::Response& res = ctx.res;
  JournalEntry entry;
  entry.time_ms = ctx.now;
  entry.real_time_ms = real_now_ms();
  entry.method = req.method;
  entry.path = req.path;
  if (auto q = req.target.find('?'); q != std::string::npos) entry.query = req.target.substr(q + 1);
  entry.headers = std::move(req.headers);
  entry.body = ctx.journal_body ? std::move(*ctx.journal_body) : std::move(req.body);
  entry.status = dropped ? 0 : res.status;
  entry.response_headers = res.headers;
  entry.response_body = dropped ? "" : res.body;
  if (fault) entry.fault = fault->id;
  if (dropped) ctx.outcome["dropped"] = true;
  double latency =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  log_request(req, res, scenario.name(), ctx.outcome, latency);
  entry.outcome = std::move(ctx.outcome);
  scenario.journal().record(std::move(entry));
}

// The steps of one request: validate, resolve the scenario, (control API apart) fault before,
// route, fault after, then record it in the journal and the log.
void MockServer::dispatch(httplib::Request& req, httplib::Response& res, ConnectionEffect* effect) {
  auto started = std::chrono::steady_clock::now();
  if (!validate(req, res)) return;
  auto target = resolve_scenario(req, res);
  if (!target) return;
  Scenario& scenario = *target->scenario;
  RequestContext ctx{req, res, scenario.state(), std::move(target->base), std::move(target->route)};
  ctx.now = ctx.state->clock.now_ms();
  if (is_control_route(ctx.route)) return serve_control(ctx, scenario);

  ctx.state->fire_due_events();
  std::optional<Fault> fault = take_fault(ctx, scenario);
  bool dropped = false;
  if (!fault || !fault_before(ctx, *fault, &dropped)) {
    route(ctx);
    if (fault) fault_after(ctx, *fault, &dropped);
  }
  if (fault) {
    for (const auto& [name, value] : fault->headers) res.set_header(name.c_str(), value);
    ctx.outcome["fault"] = fault->id;
  }
  // A state change is on disk before its reply leaves, so a token that got a 200 survives kill -9.
  if (state_file_ && target->scenario == root_ && req.method != "GET" && req.method != "HEAD")
    state_file_->commit();
  record(ctx, scenario, req, fault, dropped, started);
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
    for (const char* key : {"error", "refresh_token_state", "code_state"}) {
      if (outcome.contains(key)) j[key] = outcome[key];
    }
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.2fms", latency_ms);
    // Every field a client chose is escaped: a decoded %0a or an ANSI escape in a path must not
    // start a line of its own or recolour the terminal.
    line = utc_timestamp() + " " + escape_for_log(req.method) + " " + escape_for_log(req.path) +
           " " + std::to_string(res.status) + " " + latency;
    if (!grant.empty()) line += " grant=" + escape_for_log(grant);
    if (!client.empty()) line += " client=" + escape_for_log(client);
    for (const char* key : {"login", "error", "refresh_token_state", "code_state"}) {
      auto it = outcome.find(key);
      if (it == outcome.end() || !it->is_string()) continue;
      // The token store's verdict (expired, rotated, revoked, unknown, ...), never a token.
      const char* label = std::string_view(key) == "refresh_token_state" ? "refresh_token"
                          : std::string_view(key) == "code_state"        ? "code"
                                                                         : key;
      line += std::string(" ") + label + "=" + escape_for_log(it->get<std::string>());
    }
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace mock2ba
