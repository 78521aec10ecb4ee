// One served scenario: its fixture, clock, tokens, faults and journal. The root fixture is one
// scenario; each /s/<name>/ prefix is another, fully independent.
#ifndef MOCK2BA_SCENARIO_H_
#define MOCK2BA_SCENARIO_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "clock.h"
#include "faults.h"
#include "fixture.h"
#include "journal.h"
#include "token_store.h"

namespace mock2ba {

struct ProductCatalog;

// State that a reset or a fixture load replaces as a whole. Handlers hold a shared_ptr to it,
// so a reset never pulls state from under a request in flight.
struct ScenarioState {
  explicit ScenarioState(std::shared_ptr<const Fixture> fixture);
  ~ScenarioState();

  std::shared_ptr<const Fixture> fixture;
  VirtualClock clock;
  TimeMs clock_start_ms;
  TokenStore store;

  // Applies the fixture's timed events whose instant has passed.
  void fire_due_events();

  // The fixture's products rendered for the product API, built on first use.
  const ProductCatalog& products();

 private:
  std::mutex events_mutex_;
  std::vector<bool> fired_;
  std::once_flag products_once_;
  std::unique_ptr<const ProductCatalog> products_;
};

class Scenario {
 public:
  Scenario(std::string name, std::shared_ptr<const Fixture> fixture, size_t journal_capacity);

  const std::string& name() const { return name_; }
  // The current state (fixture, clock, tokens).
  std::shared_ptr<ScenarioState> state() const;
  // Back to the fixture: new tokens, clock, faults and journal.
  void reset();
  // Serves another fixture from now on (and resets).
  void load(std::shared_ptr<const Fixture> fixture);

  Journal& journal() { return journal_; }
  FaultQueue& faults() { return faults_; }

 private:
  std::string name_;
  std::shared_ptr<ScenarioState> state_;  // read and replaced only with std::atomic_load/store
  Journal journal_;
  FaultQueue faults_;
};

}  // namespace mock2ba

#endif  // MOCK2BA_SCENARIO_H_
