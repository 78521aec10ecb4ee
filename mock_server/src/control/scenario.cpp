#include "control/scenario.h"

namespace mock2ba {

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
