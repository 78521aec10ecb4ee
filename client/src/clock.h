// The client's clock for token times (not part of the public API).
#pragma once

#include <chrono>

#include "twoba/token_set.h"

namespace twoba {

// The current wall-clock time as a TokenTime.
inline TokenTime token_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace twoba
