// Faults queued through the control API: a status, headers, body, delay or dropped connection
// for matching requests, optionally after the server has done its work.
#ifndef MOCK2BA_FAULTS_H_
#define MOCK2BA_FAULTS_H_

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mock2ba {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Fault {
  int id = 0;
  std::string path;  // lower-cased route, without a scenario prefix
  std::optional<std::string> grant_type;
  std::optional<int> status;
  HeaderList headers;
  std::optional<std::string> body;
  int delay_ms = 0;
  bool drop = false;
  bool after_commit = false;
  int times = 1;  // 0: every matching request
  int hits = 0;
};

// The fault as GET /__mock/faults lists it.
void to_json(nlohmann::json& j, const Fault& f);
// A fault from its spec (POST /__mock/faults); every key is checked. Throws JsonInputError on a
// bad spec (use FaultQueue::add, which turns that into an error naming the key).
void from_json(const nlohmann::json& spec, Fault& f);

class FaultQueue {
 public:
  // Adds one fault object or a list of them. Returns their ids, or nullopt with *error naming
  // the offending key.
  std::optional<std::vector<int>> add(const nlohmann::json& spec, std::string* error);
  // Takes the first fault matching the request and counts the hit.
  std::optional<Fault> take(const std::string& lower_route, const std::string& grant_type);
  nlohmann::json to_json() const;
  void clear();
  // Cheap check so requests skip fault matching when none is queued.
  bool has_any() const { return count_.load(std::memory_order_relaxed) > 0; }

 private:
  mutable std::mutex mutex_;
  std::atomic<size_t> count_{0};
  std::vector<Fault> faults_;
  int next_id_ = 1;
};

}  // namespace mock2ba

#endif  // MOCK2BA_FAULTS_H_
