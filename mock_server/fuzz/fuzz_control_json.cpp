// libFuzzer harness: the control API's JSON bodies — faults, clock commands, token selectors
// and code requests.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "control/control_api.h"
#include "control/faults.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto body = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  std::string error;

  mock2ba::FaultQueue faults;
  if (auto ids = faults.add(body, &error)) {
    if (ids->empty() && !body.is_array()) std::abort();
    (void)faults.take("/oauth/token", "refresh_token");
    (void)faults.to_json().dump();
  } else if (error.empty()) {
    std::abort();
  }

  error.clear();
  if (auto command = mock2ba::parse_clock_command(body, &error)) {
    mock2ba::VirtualClock clock(1700000000000, true);
    if (command->frozen) clock.set_frozen(*command->frozen);
    if (command->advance_ms) clock.advance(*command->advance_ms);
    if (command->set_ms) clock.set(*command->set_ms);
    (void)clock.now_ms();
  } else if (error.empty()) {
    std::abort();
  }

  error.clear();
  if (auto selector = mock2ba::parse_token_selector(body, &error)) {
    int set = selector->token.has_value() + selector->user.has_value() +
              selector->client.has_value() + selector->grant.has_value();
    if (set != 1) std::abort();
  } else if (error.empty()) {
    std::abort();
  }

  error.clear();
  if (!mock2ba::parse_code_request(body, &error) && error.empty()) std::abort();
  return 0;
}
