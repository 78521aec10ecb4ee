// The control API under /__mock: clock, journal, faults, tokens, codes, fixture, reset.
#ifndef MOCK2BA_CONTROL_API_H_
#define MOCK2BA_CONTROL_API_H_

#include <optional>
#include <string>

#include "request_context.h"

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

// Answers a control-API request (access has already been checked). `route` starts at /__mock.
void handle_control_api(RequestContext& ex);

// Every control-API path the server answers, e.g. "/__mock/clock" (lower case).
std::vector<std::string> control_api_routes();

}  // namespace mock2ba

#endif  // MOCK2BA_CONTROL_API_H_
