#include "util/clock.h"

#include <chrono>

namespace mock2ba {

TimeMs real_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

VirtualClock::VirtualClock(TimeMs start_ms, bool frozen)
    : base_virtual_ms_(start_ms), base_real_ms_(real_now_ms()), frozen_(frozen) {}

TimeMs VirtualClock::now_locked() const {
  return frozen_ ? base_virtual_ms_ : base_virtual_ms_ + (real_now_ms() - base_real_ms_);
}

TimeMs VirtualClock::now_ms() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return now_locked();
}

void VirtualClock::advance(TimeMs delta_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  base_virtual_ms_ += delta_ms;
}

void VirtualClock::set(TimeMs when_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  base_virtual_ms_ = when_ms;
  base_real_ms_ = real_now_ms();
}

void VirtualClock::set_frozen(bool frozen) {
  std::lock_guard<std::mutex> lock(mutex_);
  base_virtual_ms_ = now_locked();
  base_real_ms_ = real_now_ms();
  frozen_ = frozen;
}

bool VirtualClock::frozen() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return frozen_;
}

}  // namespace mock2ba
