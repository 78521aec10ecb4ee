// The virtual clock every time-based behaviour reads, so tests never sleep.
#ifndef MOCK2BA_CLOCK_H_
#define MOCK2BA_CLOCK_H_

#include <cstdint>
#include <mutex>

namespace mock2ba {

// Milliseconds since the Unix epoch.
using TimeMs = int64_t;

// Real wall-clock time in milliseconds.
TimeMs real_now_ms();

// A clock that starts at a chosen instant and then either flows with real time or stands
// still until moved. Thread-safe.
class VirtualClock {
 public:
  // Starts at `start_ms`; when `frozen` it moves only through advance() and set().
  VirtualClock(TimeMs start_ms, bool frozen);

  // The current virtual time.
  TimeMs now_ms() const;
  // Moves time forward (or back, with a negative value) by `delta_ms`.
  void advance(TimeMs delta_ms);
  // Jumps to `when_ms`.
  void set(TimeMs when_ms);
  // Stops or restarts the flow of real time, keeping the current instant.
  void set_frozen(bool frozen);
  bool frozen() const;

 private:
  TimeMs now_locked() const;

  mutable std::mutex mutex_;
  TimeMs base_virtual_ms_;  // virtual time at base_real_ms_
  TimeMs base_real_ms_;
  bool frozen_;
};

}  // namespace mock2ba

#endif  // MOCK2BA_CLOCK_H_
