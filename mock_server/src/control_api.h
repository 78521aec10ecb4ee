// The control API under /__mock: clock, journal, faults, tokens, codes, fixture, reset.
#ifndef MOCK2BA_CONTROL_API_H_
#define MOCK2BA_CONTROL_API_H_

#include "exchange.h"

namespace mock2ba {

// Answers a control-API request (access has already been checked). `route` starts at /__mock.
void handle_control_api(Exchange& ex);

// Every control-API path the server answers, e.g. "/__mock/clock" (lower case).
std::vector<std::string> control_api_routes();

}  // namespace mock2ba

#endif  // MOCK2BA_CONTROL_API_H_
