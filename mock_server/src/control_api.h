// The control API under /__mock: clock, journal, faults, tokens, codes, fixture, reset.
#ifndef MOCK2BA_CONTROL_API_H_
#define MOCK2BA_CONTROL_API_H_

#include <string>
#include <vector>

#include "exchange.h"

namespace mock2ba {

// Every control-API path the server answers, e.g. "/__mock/clock" (lower case).
std::vector<std::string> control_api_routes();

// Answers a control-API request (access has already been checked). `route` starts at /__mock.
void handle_control_api(Exchange& ex);

}  // namespace mock2ba

#endif  // MOCK2BA_CONTROL_API_H_
