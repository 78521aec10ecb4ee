// When and how long to wait before retrying a token request that met 429/503.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace twoba {

// Retry-After (RFC 9110 §10.2.3) as a delay from `now`: delay-seconds or an HTTP-date
// (IMF-fixdate, RFC 850 or asctime). A date in the past gives zero; garbage gives nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// True for statuses worth retrying unchanged: 429, 502, 503, 504.
bool is_retryable_status(int status);

// The wait before retry number `attempt` (1-based). With a Retry-After the wait is at least that
// long plus up to 250 ms of jitter; without one it is jittered exponential backoff (0.5 s, 1 s,
// 2 s ... capped at 8 s, each scaled by a random factor in [0.5, 1]). `unit_random` in [0, 1).
std::chrono::milliseconds retry_delay(int attempt,
                                      std::optional<std::chrono::milliseconds> retry_after,
                                      double unit_random);

}  // namespace twoba
