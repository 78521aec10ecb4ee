#include "control/journal.h"

#include "http/form.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

nlohmann::json headers_json(const httplib::Headers& headers) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : headers) {
    auto& slot = out[name];
    // A repeated header is shown once with its values joined, as HTTP allows.
    slot = slot.is_null() ? value : slot.get<std::string>() + ", " + value;
  }
  return out;
}

// Bodies are shown as text when they are valid UTF-8, else base64 with a marker; a cut body
// says so and gives its full size.
void put_body(nlohmann::json& out, const char* key, const std::string& body, size_t full_size) {
  if (is_valid_utf8(body)) {
    out[key] = body;
  } else {
    out[key] = nullptr;
    out[std::string(key) + "_base64"] = base64_encode(body);
  }
  if (full_size > body.size()) {
    out[std::string(key) + "_truncated"] = true;
    out[std::string(key) + "_size"] = full_size;
  }
}

// Cuts a body to the journal's limit, at a UTF-8 character boundary when it is text, and
// returns the memory beyond it. Returns the full size.
size_t truncate_body(std::string& body) {
  size_t size = body.size();
  if (size <= kJournalBodyLimit) return size;
  size_t cut = kJournalBodyLimit;
  while (cut > kJournalBodyLimit - 4 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80)
    --cut;
  body.resize(cut);
  body.shrink_to_fit();
  return size;
}

size_t headers_bytes(const httplib::Headers& headers) {
  size_t n = 0;
  for (const auto& [name, value] : headers) n += name.size() + value.size() + 64;
  return n;
}

// What an entry costs, roughly: its strings plus a fixed share for the structure itself.
size_t journal_bytes(const JournalEntry& e) {
  return 512 + e.method.size() + e.path.size() + e.query.size() + e.body.size() +
         e.response_body.size() + headers_bytes(e.headers) + headers_bytes(e.response_headers);
}

nlohmann::json entry_json(uint64_t seq, const JournalEntry& e) {
  nlohmann::json out = {{"seq", seq},           {"time", e.time_ms / 1000},
                        {"time_ms", e.time_ms}, {"real_time_ms", e.real_time_ms},
                        {"method", e.method},   {"path", e.path},
                        {"query", e.query},     {"headers", headers_json(e.headers)}};
  put_body(out, "body", e.body, e.body_size);
  nlohmann::json form = nullptr;
  for (const auto& [name, value] : e.headers) {
    if (e.body_size == e.body.size() && iequals(name, "Content-Type") &&
        starts_with(to_lower(value), "application/x-www-form-urlencoded")) {
      if (auto parsed = Form::parse(e.body, nullptr)) {
        form = nlohmann::json::object();
        for (const auto& [k, v] : parsed->fields()) {
          if (is_valid_utf8(k) && is_valid_utf8(v)) form[k].push_back(v);
        }
      }
    }
  }
  out["form"] = std::move(form);
  out["status"] = e.status;
  out["response_headers"] = headers_json(e.response_headers);
  put_body(out, "response_body", e.response_body, e.response_body_size);
  out["fault"] = e.fault ? nlohmann::json(*e.fault) : nlohmann::json(nullptr);
  out["outcome"] = e.outcome.is_null() ? nlohmann::json::object() : e.outcome;
  return out;
}

}  // namespace

void Journal::record(JournalEntry entry) {
  // Cut outside the lock: this frees up to a request's whole body.
  entry.body_size = truncate_body(entry.body);
  entry.response_body_size = truncate_body(entry.response_body);
  size_t bytes = journal_bytes(entry);
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t seq = next_seq_++;
  if (capacity_ == 0 || bytes > max_bytes_) {
    ++dropped_;
    return;
  }
  while (!entries_.empty() && (entries_.size() >= capacity_ || bytes_ + bytes > max_bytes_)) {
    bytes_ -= journal_bytes(entries_.front().second);
    entries_.pop_front();
    ++dropped_;
  }
  bytes_ += bytes;
  entries_.emplace_back(seq, std::move(entry));
}

nlohmann::json Journal::to_json(uint64_t since,
                                const std::optional<std::string>& path_filter) const {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [seq, entry] : entries_) {
    if (seq < since) continue;
    if (path_filter && to_lower(entry.path) != *path_filter) continue;
    list.push_back(entry_json(seq, entry));
  }
  return {{"requests", std::move(list)}, {"dropped", dropped_}, {"next_seq", next_seq_}};
}

void Journal::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
  bytes_ = 0;
}

}  // namespace mock2ba
