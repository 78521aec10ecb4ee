// The control API under /__mock: clock, journal, faults, tokens, codes, fixture, reset.
#ifndef MOCK2BA_CONTROL_API_H_
#define MOCK2BA_CONTROL_API_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/scenario.h"
#include "oauth/request_context.h"

namespace mock2ba {

// A POST /__mock/clock body: any of advance (seconds), set (unix seconds) and frozen.
struct ClockCommand {
  std::optional<TimeMs> advance_ms;
  std::optional<TimeMs> set_ms;
  std::optional<bool> frozen;
};

// Validates a clock body. Returns nullopt with *error naming the key when it is unusable.
std::optional<ClockCommand> parse_clock_command(const nlohmann::json& body, std::string* error);

// Validates a revoke/expire body: exactly one of token, user, client or grant ("g3" or 3).
std::optional<TokenSelector> parse_token_selector(const nlohmann::json& body, std::string* error);

// Validates a POST /__mock/codes body (keys and types only; the fixture is checked later).
std::optional<CodeRequest> parse_code_request(const nlohmann::json& body, std::string* error);

// Where the control API lives: every control path starts with it (matched case-insensitively).
constexpr char kControlPrefix[] = "/__mock";

// One control endpoint: a row of the control API's only table.
struct ControlRoute {
  const char* path;     // below kControlPrefix, lower case
  const char* methods;  // space-separated; others get 405 with Allow (HEAD goes with GET)
  // Reads or writes much (the whole journal, a fixture document): served off the event loop.
  bool blocking;
  void (*handle)(RequestContext& ctx, Scenario& scenario);
};

// Whether a lower-cased route is below the control prefix (a control route or not).
bool is_control_route(std::string_view lower_route);

// The control endpoint of a lower-cased route (prefix included), or nullptr.
const ControlRoute* find_control_route(std::string_view lower_route);

// Answers a control-API request (access has already been checked): 404 for an unknown path,
// 405 for a method its row does not list.
void handle_control_api(RequestContext& ctx, Scenario& scenario);

// Every control-API path the server answers, e.g. "/__mock/clock" (lower case).
std::vector<std::string> control_api_routes();

}  // namespace mock2ba

#endif  // MOCK2BA_CONTROL_API_H_
