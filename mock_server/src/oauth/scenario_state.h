// What one scenario serves from at one moment: its fixture, virtual clock and token store. A reset
// or a fixture load replaces it as a whole.
#ifndef MOCK2BA_SCENARIO_STATE_H_
#define MOCK2BA_SCENARIO_STATE_H_

#include <memory>
#include <mutex>
#include <vector>

#include "oauth/fixture.h"
#include "oauth/token_store.h"
#include "util/clock.h"

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

  // The fixture's products rendered for the product API, built on first use. Defined by the
  // product layer (product/product_api.cpp), which alone knows how to render them.
  const ProductCatalog& products();

 private:
  std::mutex events_mutex_;
  std::vector<bool> fired_;
  std::once_flag products_once_;
  std::shared_ptr<const ProductCatalog> products_;  // shared_ptr: deletable where incomplete
};

}  // namespace mock2ba

#endif  // MOCK2BA_SCENARIO_STATE_H_
