// What --state-file keeps of the root scenario: its clock and token store, as a first line (a
// snapshot) and then one line of changes per request that changed something.
#ifndef MOCK2BA_STATE_PERSISTENCE_H_
#define MOCK2BA_STATE_PERSISTENCE_H_

#include <httplib.h>

#include <optional>
#include <string>

#include "control/state_file.h"
#include "oauth/scenario_state.h"

namespace mock2ba {

// Whether serving `req` may change state the file keeps: every method but the safe ones
// (GET, HEAD, OPTIONS, TRACE). Such a change is on disk before its reply leaves.
bool commits_state(const httplib::Request& req);

// The file's snapshot line: format, fixture, clock and the whole token store.
std::string state_snapshot(ScenarioState& state);

// A line of changes since the last line written: the clock and what changed in the store;
// nullopt when only a snapshot can say (the state was replaced by a reset or fixture load).
std::optional<std::string> state_changes(ScenarioState& state);

// Puts a saved clock and token store into a fresh state: the snapshot, then each line of changes.
// A flowing clock keeps its offset from real time; a frozen one its instant. Throws
// std::runtime_error naming the line when the file is not the mock's.
void restore_state(ScenarioState& state, const StateFile::Contents& saved);

}  // namespace mock2ba

#endif  // MOCK2BA_STATE_PERSISTENCE_H_
