// One served scenario: its fixture, clock, tokens, faults and journal. The root fixture is one
// scenario; each /s/<name>/ prefix is another, fully independent.
#ifndef MOCK2BA_SCENARIO_H_
#define MOCK2BA_SCENARIO_H_

#include <memory>
#include <string>

#include "control/faults.h"
#include "control/journal.h"
#include "oauth/scenario_state.h"

namespace mock2ba {

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
