#include "control/control_api.h"

#include <map>
#include <vector>

#include "control/openapi.h"
#include "http/form.h"
#include "util/json_input.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;

void control_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status,
            json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::optional<json> json_body(RequestContext& ctx) {
  if (ctx.req.body.empty()) return json::object();
  std::string error;
  auto body = parse_json_input(ctx.req.body, &error);
  if (!body) {
    control_error(ctx.res, 400, "The body is not valid JSON: " + error);
    return std::nullopt;
  }
  return body;
}

json clock_json(const ScenarioState& state) {
  TimeMs now = state.clock.now_ms();
  return {{"now", now / 1000}, {"now_ms", now}, {"frozen", state.clock.frozen()}};
}

void clock(RequestContext& ctx, Scenario&) {
  ScenarioState& state = *ctx.state;
  if (ctx.req.method == "POST") {
    auto body = json_body(ctx);
    if (!body) return;
    std::string error;
    auto command = parse_clock_command(*body, &error);
    if (!command) return control_error(ctx.res, 400, error);
    if (command->frozen) state.clock.set_frozen(*command->frozen);
    if (command->advance_ms) state.clock.advance(*command->advance_ms);
    if (command->set_ms) state.clock.set(*command->set_ms);
    state.fire_due_events();
  }
  send_json(ctx.res, 200, clock_json(state).dump());
}

void requests(RequestContext& ctx, Scenario& scenario) {
  if (ctx.req.method == "DELETE") {
    scenario.journal().clear();
    return send_json(ctx.res, 200, json{{"status", "cleared"}}.dump());
  }
  uint64_t since = 0;
  if (ctx.req.has_param("since")) {
    const std::string text = ctx.req.get_param_value("since");
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > 18) {
      return control_error(ctx.res, 400, "since: expected a sequence number");
    }
    since = std::stoull(text);
  }
  std::optional<std::string> path;
  if (ctx.req.has_param("path")) path = to_lower(ctx.req.get_param_value("path"));
  // The journal keeps requests byte for byte; bytes that are not UTF-8 are shown replaced.
  send_json(
      ctx.res, 200,
      scenario.journal().to_json(since, path).dump(-1, ' ', false, json::error_handler_t::replace));
}

void faults(RequestContext& ctx, Scenario& scenario) {
  if (ctx.req.method == "GET") return send_json(ctx.res, 200, scenario.faults().to_json().dump());
  if (ctx.req.method == "DELETE") {
    scenario.faults().clear();
    return send_json(ctx.res, 200, json{{"status", "cleared"}}.dump());
  }
  auto body = json_body(ctx);
  if (!body) return;
  std::string error;
  auto ids = scenario.faults().add(*body, &error);
  if (!ids) return control_error(ctx.res, 400, error);
  send_json(ctx.res, 200, json{{"ids", *ids}}.dump());
}

void tokens(RequestContext& ctx, Scenario&, const std::string& action) {
  TokenStore& store = ctx.state->store;
  if (action.empty()) {
    std::optional<std::string> user, client;
    if (ctx.req.has_param("user")) user = ctx.req.get_param_value("user");
    if (ctx.req.has_param("client")) client = ctx.req.get_param_value("client");
    return send_json(
        ctx.res, 200,
        store.describe(user, client, ctx.now).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  auto body = json_body(ctx);
  if (!body) return;
  std::string error;
  auto selector = parse_token_selector(*body, &error);
  if (!selector) return control_error(ctx.res, 400, error);
  int affected =
      action == "revoke" ? store.revoke(*selector, ctx.now) : store.expire(*selector, ctx.now);
  send_json(ctx.res, 200, json{{"affected", affected}}.dump());
}

void codes(RequestContext& ctx, Scenario&) {
  auto body = json_body(ctx);
  if (!body) return;
  std::string error;
  auto parsed = parse_code_request(*body, &error);
  if (!parsed) return control_error(ctx.res, 400, error);
  const CodeRequest& request = *parsed;
  const Fixture& fixture = *ctx.state->fixture;
  auto client = fixture.clients.find(request.client_id);
  if (client == fixture.clients.end())
    return control_error(ctx.res, 400, "client_id: no such client");
  if (!fixture.users.count(request.username))
    return control_error(ctx.res, 400, "username: no such user");
  if (client->second.require_pkce && request.code_challenge.empty()) {
    return control_error(ctx.res, 400, "code_challenge: this client must use PKCE");
  }
  auto [code, expires] = ctx.state->store.create_code(request, ctx.now);
  send_json(ctx.res, 200, json{{"code", code}, {"expires_at", expires / 1000}}.dump());
}

void load_fixture(RequestContext& ctx, Scenario& scenario) {
  auto body = json_body(ctx);
  if (!body) return;
  try {
    auto fixture = std::make_shared<const Fixture>(
        parse_fixture(*body, "PUT " + std::string(kControlPrefix) + "/fixture"));
    scenario.load(std::move(fixture));
  } catch (const FixtureError& e) {
    return control_error(ctx.res, 400, e.what());
  }
  send_json(ctx.res, 200, json{{"status", "loaded"}}.dump());
}

void health(RequestContext& ctx, Scenario& scenario) {
  send_json(ctx.res, 200,
            json{{"status", "ok"},
                 {"scenario", scenario.name()},
                 {"fixture", ctx.state->fixture->source},
                 {"now", ctx.now / 1000}}
                .dump());
}

void reset(RequestContext& ctx, Scenario& scenario) {
  scenario.reset();
  send_json(ctx.res, 200, json{{"status", "reset"}}.dump());
}

void openapi(RequestContext& ctx, Scenario&) {
  static const json kDocument = json::parse(openapi_json());
  json doc = kDocument;
  // Tools such as Swagger UI send requests to servers[0]: make it this mock (and scenario).
  doc["servers"][0]["url"] = ctx.base_url;
  send_json(ctx.res, 200, doc.dump());
}

// Every control endpoint, by path below kControlPrefix: the only list of them (routing, 405 with
// Allow, which ones may block, control_api_routes() and the OpenAPI test read it).
const std::vector<ControlRoute>& control_routes() {
  static const std::vector<ControlRoute> kRoutes = {
      {"/health", "GET", false, health},
      {"/reset", "POST", false, reset},
      {"/clock", "GET POST", false, clock},
      {"/requests", "GET DELETE", true, requests},
      {"/faults", "GET POST DELETE", false, faults},
      {"/tokens", "GET", false, [](RequestContext& ctx, Scenario& s) { tokens(ctx, s, ""); }},
      {"/tokens/revoke", "POST", false,
       [](RequestContext& ctx, Scenario& s) { tokens(ctx, s, "revoke"); }},
      {"/tokens/expire", "POST", false,
       [](RequestContext& ctx, Scenario& s) { tokens(ctx, s, "expire"); }},
      {"/codes", "POST", false, codes},
      {"/fixture", "PUT", true, load_fixture},
      {"/openapi.json", "GET", false, openapi},
  };
  return kRoutes;
}

}  // namespace

// Seconds beyond which clock arithmetic in milliseconds could overflow (about 3,000 years).
constexpr double kMaxClockSeconds = 1e11;

namespace {

ClockCommand read_clock_command(ObjectReader& r) {
  // Keys before values: a foreign key is named even beside a bad value or both advance and set.
  for (const char* key : {"advance", "set", "frozen"}) r.has(key);
  r.reject_unread_keys();
  if (r.has("advance") && r.has("set")) r.fail("", "Give either advance or set, not both.");
  ClockCommand command;
  for (const char* key : {"advance", "set"}) {
    if (!r.has(key)) continue;
    const json& value = r.raw(key);
    const bool set = std::string(key) == "set";
    double seconds = value.is_number() ? value.get<double>() : 0;
    double min = set ? 0 : -kMaxClockSeconds;
    if (!value.is_number() || !(seconds >= min && seconds <= kMaxClockSeconds)) {
      r.fail(key, set ? "expected unix seconds from 0 to 1e11"
                      : "expected a number of seconds within ±1e11");
    }
    (set ? command.set_ms : command.advance_ms) = static_cast<TimeMs>(seconds * 1000);
  }
  command.frozen = r.boolean("frozen");
  return command;
}

TokenSelector read_token_selector(ObjectReader& r) {
  // The body has one key (checked by the caller); it must be one of these.
  for (const char* key : {"token", "user", "client", "grant"}) r.has(key);
  r.reject_unread_keys();
  TokenSelector s;
  if (r.has("grant")) {
    // Only a string or a number can name a grant; nothing else is rendered.
    const json& value = r.raw("grant");
    std::string text = value.is_string()            ? value.get<std::string>()
                       : value.is_number_unsigned() ? std::to_string(value.get<uint64_t>())
                                                    : "";
    if (!text.empty() && text[0] == 'g') text.erase(0, 1);
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > 18) {
      r.fail("grant", "expected a grant id such as \"g3\"");
    }
    s.grant = std::stoull(text);
  }
  s.token = r.string("token");
  s.user = r.string("user");
  s.client = r.string("client");
  return s;
}

CodeRequest read_code_request(ObjectReader& r) {
  CodeRequest request;
  request.client_id = r.string("client_id", true).value_or("");
  request.username = r.string("username", true).value_or("");
  request.redirect_uri = r.string("redirect_uri", true).value_or("");
  auto scope = r.string("scope", true);
  request.has_scope = scope.has_value();
  request.scope = scope.value_or("");
  request.code_challenge = r.string("code_challenge", true).value_or("");
  auto method = r.string("code_challenge_method", true);
  r.reject_unread_keys();
  // It stands in for an authorization request, which must name its redirect_uri: the code is
  // bound to it and the exchange must send the same one.
  if (request.redirect_uri.empty()) r.fail("redirect_uri", "required (the code is bound to it)");
  if (method && *method != "S256" && *method != "plain")
    r.fail("code_challenge_method", "expected S256 or plain");
  request.code_challenge_method = method.value_or(request.code_challenge.empty() ? "" : "plain");
  return request;
}

// Reads a body with `read`, the reader's error (the key and why) becoming the error value.
template <typename T>
std::optional<T> read_body(const json& body, T (*read)(ObjectReader&), std::string* error) {
  try {
    ObjectReader r(body, "");
    return read(r);
  } catch (const JsonInputError& e) {
    *error = e.what();  // "key: why", or "why" about the whole body
    return std::nullopt;
  }
}

}  // namespace

std::optional<ClockCommand> parse_clock_command(const json& body, std::string* error) {
  if (!body.is_object()) {
    *error = "Expected an object such as {\"advance\": 60}.";
    return std::nullopt;
  }
  return read_body(body, read_clock_command, error);
}

std::optional<TokenSelector> parse_token_selector(const json& body, std::string* error) {
  if (!body.is_object() || body.size() != 1) {
    *error = "Expected exactly one of {\"token\"}, {\"user\"}, {\"client\"} or {\"grant\"}.";
    return std::nullopt;
  }
  return read_body(body, read_token_selector, error);
}

std::optional<CodeRequest> parse_code_request(const json& body, std::string* error) {
  if (!body.is_object()) {
    *error = "Expected an object.";
    return std::nullopt;
  }
  return read_body(body, read_code_request, error);
}

bool is_control_route(std::string_view lower_route) {
  constexpr std::string_view kPrefix = kControlPrefix;
  return lower_route.substr(0, kPrefix.size()) == kPrefix &&
         (lower_route.size() == kPrefix.size() || lower_route[kPrefix.size()] == '/');
}

const ControlRoute* find_control_route(std::string_view lower_route) {
  if (!is_control_route(lower_route)) return nullptr;
  std::string_view sub = lower_route.substr(std::string_view(kControlPrefix).size());
  for (const ControlRoute& route : control_routes()) {
    if (sub == route.path) return &route;
  }
  return nullptr;
}

void handle_control_api(RequestContext& ctx, Scenario& scenario) {
  const ControlRoute* route = find_control_route(ctx.route);
  if (!route) {
    return control_error(
        ctx.res, 404, "No control endpoint " + ctx.req.path + " (see the README's control API).");
  }
  if (!method_allowed(route->methods, ctx.req.method)) {
    ctx.res.set_header("Allow", allow_header(route->methods));
    return control_error(ctx.res, 405, "Use " + allow_header(route->methods) + ".");
  }
  route->handle(ctx, scenario);
}

std::vector<std::string> control_api_routes() {
  std::vector<std::string> out;
  for (const ControlRoute& route : control_routes())
    out.push_back(kControlPrefix + std::string(route.path));
  return out;
}

}  // namespace mock2ba
