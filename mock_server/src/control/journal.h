// The request journal: what the control API shows tests as evidence of what a client sent.
#ifndef MOCK2BA_JOURNAL_H_
#define MOCK2BA_JOURNAL_H_

#include <httplib.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/clock.h"

namespace mock2ba {

// One request and the reply it got. Secrets are kept: the journal is for tests, behind the
// control API's access rule.
struct JournalEntry {
  TimeMs time_ms = 0;       // virtual
  TimeMs real_time_ms = 0;  // wall clock, for measuring gaps between real attempts
  std::string method;
  std::string path;
  std::string query;
  httplib::Headers headers;  // moved from the request, not copied: this runs on every request
  std::string body;          // at most kJournalBodyLimit bytes, see body_size
  size_t body_size = 0;      // before truncation (set by Journal::record)
  int status = 0;
  httplib::Headers response_headers;
  std::string response_body;
  size_t response_body_size = 0;
  std::optional<int> fault;
  nlohmann::json outcome;  // handler's summary: grant type, error, token states
};

// Bodies (request and reply) are kept up to this many bytes each; the rest is cut and marked.
constexpr size_t kJournalBodyLimit = 64 * 1024;
// Bytes one scenario's journal keeps (bodies, headers and a fixed cost per entry).
constexpr size_t kJournalByteLimit = 32 * 1024 * 1024;

// A bounded, thread-safe journal. When full (entries or bytes), the oldest entries are dropped
// and counted.
class Journal {
 public:
  // `capacity` 0 keeps nothing (only the counters move).
  explicit Journal(size_t capacity, size_t max_bytes = kJournalByteLimit)
      : capacity_(capacity), max_bytes_(max_bytes) {}

  // Appends an entry and gives it the next sequence number.
  void record(JournalEntry entry);
  // Entries with seq >= since whose path (lower-cased) equals path_filter when given.
  nlohmann::json to_json(uint64_t since, const std::optional<std::string>& path_filter) const;
  void clear();

 private:
  size_t capacity_;
  size_t max_bytes_;
  mutable std::mutex mutex_;
  std::deque<std::pair<uint64_t, JournalEntry>> entries_;
  size_t bytes_ = 0;  // journal_bytes() of the entries kept
  uint64_t next_seq_ = 1;
  uint64_t dropped_ = 0;
};

}  // namespace mock2ba

#endif  // MOCK2BA_JOURNAL_H_
