#include "control_api.h"

#include <map>
#include <vector>

#include "form.h"
#include "json_input.h"
#include "openapi.h"
#include "text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;

void control_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status,
            json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::optional<json> json_body(RequestContext& ex) {
  if (ex.req.body.empty()) return json::object();
  std::string error;
  auto body = parse_json_input(ex.req.body, &error);
  if (!body) {
    control_error(ex.res, 400, "The body is not valid JSON: " + error);
    return std::nullopt;
  }
  return body;
}

json clock_json(const ScenarioState& state) {
  TimeMs now = state.clock.now_ms();
  return {{"now", now / 1000}, {"now_ms", now}, {"frozen", state.clock.frozen()}};
}

void clock(RequestContext& ex) {
  ScenarioState& state = *ex.state;
  if (ex.req.method == "POST") {
    auto body = json_body(ex);
    if (!body) return;
    std::string error;
    auto command = parse_clock_command(*body, &error);
    if (!command) return control_error(ex.res, 400, error);
    if (command->frozen) state.clock.set_frozen(*command->frozen);
    if (command->advance_ms) state.clock.advance(*command->advance_ms);
    if (command->set_ms) state.clock.set(*command->set_ms);
    state.fire_due_events();
  } else if (ex.req.method != "GET") {
    return control_error(ex.res, 405, "Use GET or POST.");
  }
  send_json(ex.res, 200, clock_json(state).dump());
}

void requests(RequestContext& ex) {
  if (ex.req.method == "DELETE") {
    ex.scenario.journal().clear();
    return send_json(ex.res, 200, json{{"status", "cleared"}}.dump());
  }
  if (ex.req.method != "GET") return control_error(ex.res, 405, "Use GET or DELETE.");
  uint64_t since = 0;
  if (ex.req.has_param("since")) {
    const std::string text = ex.req.get_param_value("since");
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > 18) {
      return control_error(ex.res, 400, "since: expected a sequence number");
    }
    since = std::stoull(text);
  }
  std::optional<std::string> path;
  if (ex.req.has_param("path")) path = to_lower(ex.req.get_param_value("path"));
  // The journal keeps requests byte for byte; bytes that are not UTF-8 are shown replaced.
  send_json(ex.res, 200,
            ex.scenario.journal()
                .to_json(since, path)
                .dump(-1, ' ', false, json::error_handler_t::replace));
}

void faults(RequestContext& ex) {
  if (ex.req.method == "GET") return send_json(ex.res, 200, ex.scenario.faults().to_json().dump());
  if (ex.req.method == "DELETE") {
    ex.scenario.faults().clear();
    return send_json(ex.res, 200, json{{"status", "cleared"}}.dump());
  }
  if (ex.req.method != "POST") return control_error(ex.res, 405, "Use GET, POST or DELETE.");
  auto body = json_body(ex);
  if (!body) return;
  std::string error;
  auto ids = ex.scenario.faults().add(*body, &error);
  if (!ids) return control_error(ex.res, 400, error);
  send_json(ex.res, 200, json{{"ids", *ids}}.dump());
}

void tokens(RequestContext& ex, const std::string& action) {
  TokenStore& store = ex.state->store;
  if (action.empty()) {
    if (ex.req.method != "GET") return control_error(ex.res, 405, "Use GET.");
    std::optional<std::string> user, client;
    if (ex.req.has_param("user")) user = ex.req.get_param_value("user");
    if (ex.req.has_param("client")) client = ex.req.get_param_value("client");
    return send_json(
        ex.res, 200,
        store.describe(user, client, ex.now).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (ex.req.method != "POST") return control_error(ex.res, 405, "Use POST.");
  auto body = json_body(ex);
  if (!body) return;
  std::string error;
  auto selector = parse_token_selector(*body, &error);
  if (!selector) return control_error(ex.res, 400, error);
  int affected =
      action == "revoke" ? store.revoke(*selector, ex.now) : store.expire(*selector, ex.now);
  send_json(ex.res, 200, json{{"affected", affected}}.dump());
}

void codes(RequestContext& ex) {
  if (ex.req.method != "POST") return control_error(ex.res, 405, "Use POST.");
  auto body = json_body(ex);
  if (!body) return;
  std::string error;
  auto parsed = parse_code_request(*body, &error);
  if (!parsed) return control_error(ex.res, 400, error);
  const CodeRequest& request = *parsed;
  const Fixture& fixture = *ex.state->fixture;
  auto client = fixture.clients.find(request.client_id);
  if (client == fixture.clients.end())
    return control_error(ex.res, 400, "client_id: no such client");
  if (!fixture.users.count(request.username))
    return control_error(ex.res, 400, "username: no such user");
  if (client->second.require_pkce && request.code_challenge.empty()) {
    return control_error(ex.res, 400, "code_challenge: this client must use PKCE");
  }
  auto [code, expires] = ex.state->store.create_code(request, ex.now);
  send_json(ex.res, 200, json{{"code", code}, {"expires_at", expires / 1000}}.dump());
}

void load_fixture(RequestContext& ex) {
  if (ex.req.method != "PUT") return control_error(ex.res, 405, "Use PUT with a fixture document.");
  auto body = json_body(ex);
  if (!body) return;
  try {
    auto fixture = std::make_shared<const Fixture>(parse_fixture(*body, "PUT /__mock/fixture"));
    ex.scenario.load(std::move(fixture));
  } catch (const FixtureError& e) {
    return control_error(ex.res, 400, e.what());
  }
  send_json(ex.res, 200, json{{"status", "loaded"}}.dump());
}

void health(RequestContext& ex) {
  send_json(ex.res, 200,
            json{{"status", "ok"},
                 {"scenario", ex.scenario.name()},
                 {"fixture", ex.state->fixture->source},
                 {"now", ex.now / 1000}}
                .dump());
}

void reset(RequestContext& ex) {
  if (ex.req.method != "POST") return control_error(ex.res, 405, "Use POST.");
  ex.scenario.reset();
  send_json(ex.res, 200, json{{"status", "reset"}}.dump());
}

void openapi(RequestContext& ex) {
  if (ex.req.method != "GET") return control_error(ex.res, 405, "Use GET.");
  static const json kDocument = json::parse(openapi_json());
  json doc = kDocument;
  // Tools such as Swagger UI send requests to servers[0]: make it this mock (and scenario).
  doc["servers"][0]["url"] = ex.base_url;
  send_json(ex.res, 200, doc.dump());
}

// Every control endpoint, by path below /__mock. control_api_routes() lists the same table.
const std::map<std::string, void (*)(RequestContext&)>& control_routes() {
  static const std::map<std::string, void (*)(RequestContext&)> kRoutes = {
      {"/health", health},
      {"/reset", reset},
      {"/clock", clock},
      {"/requests", requests},
      {"/faults", faults},
      {"/tokens", [](RequestContext& ex) { tokens(ex, ""); }},
      {"/tokens/revoke", [](RequestContext& ex) { tokens(ex, "revoke"); }},
      {"/tokens/expire", [](RequestContext& ex) { tokens(ex, "expire"); }},
      {"/codes", codes},
      {"/fixture", load_fixture},
      {"/openapi.json", openapi},
  };
  return kRoutes;
}

}  // namespace

// Seconds beyond which clock arithmetic in milliseconds could overflow (about 3,000 years).
constexpr double kMaxClockSeconds = 1e11;

std::optional<ClockCommand> parse_clock_command(const json& body, std::string* error) {
  if (!body.is_object()) {
    *error = "Expected an object such as {\"advance\": 60}.";
    return std::nullopt;
  }
  for (const auto& item : body.items()) {
    if (item.key() != "advance" && item.key() != "set" && item.key() != "frozen") {
      *error = item.key() + ": unknown key (expected advance, set or frozen)";
      return std::nullopt;
    }
  }
  if (body.contains("advance") && body.contains("set")) {
    *error = "Give either advance or set, not both.";
    return std::nullopt;
  }
  ClockCommand command;
  for (const char* key : {"advance", "set"}) {
    if (!body.contains(key)) continue;
    const json& value = body[key];
    double seconds = value.is_number() ? value.get<double>() : 0;
    double min = std::string(key) == "set" ? 0 : -kMaxClockSeconds;
    if (!value.is_number() || !(seconds >= min && seconds <= kMaxClockSeconds)) {
      *error = std::string(key) + (std::string(key) == "set"
                                       ? ": expected unix seconds from 0 to 1e11"
                                       : ": expected a number of seconds within ±1e11");
      return std::nullopt;
    }
    (std::string(key) == "set" ? command.set_ms : command.advance_ms) =
        static_cast<TimeMs>(seconds * 1000);
  }
  if (body.contains("frozen")) {
    if (!body["frozen"].is_boolean()) {
      *error = "frozen: expected true or false";
      return std::nullopt;
    }
    command.frozen = body["frozen"].get<bool>();
  }
  return command;
}

std::optional<TokenSelector> parse_token_selector(const json& body, std::string* error) {
  if (!body.is_object() || body.size() != 1) {
    *error = "Expected exactly one of {\"token\"}, {\"user\"}, {\"client\"} or {\"grant\"}.";
    return std::nullopt;
  }
  TokenSelector s;
  // Copy the key: a structured binding to *items().begin() dangles once the iterator is gone.
  const std::string key = body.begin().key();
  const json& value = body.begin().value();
  if (key == "grant") {
    // Only a string or a number can name a grant; nothing else is rendered.
    std::string text = value.is_string()            ? value.get<std::string>()
                       : value.is_number_unsigned() ? std::to_string(value.get<uint64_t>())
                                                    : "";
    if (!text.empty() && text[0] == 'g') text.erase(0, 1);
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > 18) {
      *error = "grant: expected a grant id such as \"g3\"";
      return std::nullopt;
    }
    s.grant = std::stoull(text);
    return s;
  }
  if (key != "token" && key != "user" && key != "client") {
    *error = key + ": unknown key (expected token, user, client or grant)";
    return std::nullopt;
  }
  if (!value.is_string() || value.get<std::string>().empty()) {
    *error = key + ": expected a non-empty string";
    return std::nullopt;
  }
  (key == "token" ? s.token : key == "user" ? s.user : s.client) = value.get<std::string>();
  return s;
}

std::optional<CodeRequest> parse_code_request(const json& body, std::string* error) {
  if (!body.is_object()) {
    *error = "Expected an object.";
    return std::nullopt;
  }
  static const std::set<std::string> kKeys = {
      "client_id", "username", "redirect_uri", "scope", "code_challenge", "code_challenge_method"};
  for (const auto& item : body.items()) {
    if (!kKeys.count(item.key())) {
      *error = item.key() + ": unknown key";
      return std::nullopt;
    }
    if (!item.value().is_string()) {
      *error = item.key() + ": expected a string";
      return std::nullopt;
    }
  }
  // It stands in for an authorization request, which must name its redirect_uri: the code is
  // bound to it and the exchange must send the same one.
  if (body.value("redirect_uri", "").empty()) {
    *error = "redirect_uri: required (the code is bound to it)";
    return std::nullopt;
  }
  CodeRequest request;
  request.client_id = body.value("client_id", "");
  request.username = body.value("username", "");
  request.redirect_uri = body.value("redirect_uri", "");
  request.has_scope = body.contains("scope");
  request.scope = body.value("scope", "");
  request.code_challenge = body.value("code_challenge", "");
  request.code_challenge_method =
      body.value("code_challenge_method", request.code_challenge.empty() ? "" : "plain");
  if (body.contains("code_challenge_method") && request.code_challenge_method != "S256" &&
      request.code_challenge_method != "plain") {
    *error = "code_challenge_method: expected S256 or plain";
    return std::nullopt;
  }
  return request;
}

void handle_control_api(RequestContext& ex) {
  const std::string sub = ex.route.substr(std::string("/__mock").size());
  auto route = control_routes().find(sub);
  if (route != control_routes().end()) return route->second(ex);
  control_error(ex.res, 404,
                "No control endpoint " + ex.req.path + " (see the README's control API).");
}

std::vector<std::string> control_api_routes() {
  std::vector<std::string> out;
  for (const auto& [sub, handler] : control_routes()) out.push_back("/__mock" + sub);
  return out;
}

}  // namespace mock2ba
