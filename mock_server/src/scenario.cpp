#include "scenario.h"

#include "product_api.h"

namespace mock2ba {

ScenarioState::ScenarioState(std::shared_ptr<const Fixture> f)
    : fixture(std::move(f)),
      clock(fixture->clock_start_ms.value_or(real_now_ms()), fixture->clock_frozen),
      clock_start_ms(clock.now_ms()),
      store(fixture),
      fired_(fixture->events.size(), false) {}

ScenarioState::~ScenarioState() = default;

const ProductCatalog& ScenarioState::products() {
  std::call_once(products_once_,
                 [this] { products_ = std::make_unique<const ProductCatalog>(*fixture); });
  return *products_;
}

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

Scenario::Scenario(std::string name, std::shared_ptr<const Fixture> fixture,
                   size_t journal_capacity)
    : name_(std::move(name)),
      state_(std::make_shared<ScenarioState>(std::move(fixture))),
      journal_(journal_capacity) {}

std::shared_ptr<ScenarioState> Scenario::state() const { return std::atomic_load(&state_); }

void Scenario::reset() { load(state()->fixture); }

void Scenario::load(std::shared_ptr<const Fixture> fixture) {
  std::atomic_store(&state_, std::make_shared<ScenarioState>(std::move(fixture)));
  faults_.clear();
  journal_.clear();
}

}  // namespace mock2ba
