#include "server/server.h"

#include <cstdio>
#include <stdexcept>

#include "control/control_api.h"
#include "server/state_persistence.h"
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

bool valid_scenario_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

}  // namespace

MockServer::MockServer(ServerOptions options)
    : options_(std::move(options)),
      control_access_(options_.admin_token, options_.host, options_.public_hosts),
      log_(options_.log_format) {
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
        options_.state_file, [this] { return state_snapshot(*root_->state()); },
        [this] { return state_changes(*root_->state()); });
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
}

MockServer::~MockServer() { stop(); }

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
  // Lower-cased only below the control prefix: this runs for every request.
  const std::string_view prefix = kControlPrefix;
  if (iequals(path.substr(0, prefix.size()), prefix)) {
    const std::string lower = to_lower(path);
    if (is_control_route(lower)) {
      const ControlRoute* route = find_control_route(lower);
      return route && route->blocking;
    }
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

}  // namespace mock2ba
