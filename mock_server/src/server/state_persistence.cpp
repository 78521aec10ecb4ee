#include "server/state_persistence.h"

#include <stdexcept>

namespace mock2ba {
namespace {

constexpr char kStateFormat[] = "twoba-mock-state/2";

// The clock as each line of the state file records it.
nlohmann::json state_clock(const ScenarioState& state, TimeMs now) {
  return {{"now_ms", now}, {"real_ms", real_now_ms()}, {"frozen", state.clock.frozen()}};
}

}  // namespace

bool commits_state(const httplib::Request& req) {
  // The safe methods of RFC 9110 §9.2.1 change nothing.
  const std::string& m = req.method;
  return !(m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE");
}

std::string state_snapshot(ScenarioState& state) {
  TimeMs now = state.clock.now_ms();
  // The store is written as text straight into the document (see TokenStore::write_snapshot).
  std::string out = nlohmann::json{{"format", kStateFormat},
                                   {"fixture", state.fixture->source},
                                   {"clock", state_clock(state, now)}}
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.pop_back();  // the closing brace
  out += ",\"store\":";
  state.store.write_snapshot(out, now);
  out += '}';
  return out;
}

std::optional<std::string> state_changes(ScenarioState& state) {
  TimeMs now = state.clock.now_ms();
  std::string out = nlohmann::json{{"clock", state_clock(state, now)}}.dump();
  out.pop_back();
  out += ",\"store\":";
  // A store that a reset or fixture load put in place has no snapshot on disk yet.
  if (!state.store.write_changes(out, now)) return std::nullopt;
  out += '}';
  return out;
}

void restore_state(ScenarioState& state, const StateFile::Contents& saved) {
  std::string format = saved.snapshot.value("format", "");
  // A /1 file is a snapshot without lines of changes.
  if (format != kStateFormat && format != "twoba-mock-state/1")
    throw std::runtime_error("not a mock state file");
  size_t line = 1;
  try {
    const nlohmann::json* last = &saved.snapshot;
    state.store.restore(saved.snapshot.at("store"));
    for (const auto& change : saved.changes) {
      ++line;
      state.store.apply_changes(change.at("store"));
      last = &change;
    }
    line = 1 + saved.changes.size();
    const nlohmann::json& clock = last->at("clock");
    TimeMs now = clock.at("now_ms").get<TimeMs>();
    bool frozen = clock.at("frozen").get<bool>();
    state.clock.set(frozen ? now : real_now_ms() + (now - clock.at("real_ms").get<TimeMs>()));
    state.clock.set_frozen(frozen);
  } catch (const std::exception& e) {
    throw std::runtime_error("line " + std::to_string(line) + ": " + e.what());
  }
}

}  // namespace mock2ba
