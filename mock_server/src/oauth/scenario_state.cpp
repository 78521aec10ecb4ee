#include "oauth/scenario_state.h"

namespace mock2ba {

ScenarioState::ScenarioState(std::shared_ptr<const Fixture> f)
    : fixture(std::move(f)),
      clock(fixture->clock_start_ms.value_or(real_now_ms()), fixture->clock_frozen),
      clock_start_ms(clock.now_ms()),
      store(fixture),
      fired_(fixture->events.size(), false) {}

ScenarioState::~ScenarioState() = default;

void ScenarioState::fire_due_events() {
  if (fixture->events.empty()) return;
  TimeMs now = clock.now_ms();
  std::lock_guard<std::mutex> lock(events_mutex_);
  for (size_t i = 0; i < fixture->events.size(); ++i) {
    const TimedEvent& e = fixture->events[i];
    TimeMs due = e.at_ms ? *e.at_ms : clock_start_ms + *e.after_ms;
    if (fired_[i] || now < due) continue;
    fired_[i] = true;
    TokenSelector selector;
    selector.user = e.user;
    selector.client = e.client;
    if (e.expire) {
      store.expire(selector, now);
    } else {
      store.revoke(selector, now);
    }
  }
}

}  // namespace mock2ba
