#include "control/faults.h"

#include <optional>
#include <type_traits>

#include "oauth/endpoints.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;

// A fault spec that cannot be used: the key (empty: the whole object) and why.
struct SpecError {
  std::string key;
  std::string message;
};

template <typename T>
bool has_type(const json& v) {
  if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
  if constexpr (std::is_same_v<T, int>) return v.is_number_integer();
  if constexpr (std::is_same_v<T, std::string>) return v.is_string();
}

// Reads `key` into `out` when present. Throws SpecError{key, message} when the value has another
// type or `valid` refuses it (checked on the JSON value, before any narrowing).
template <typename T, typename Out>
void read(
    const json& spec, const char* key, Out& out, const char* message,
    bool (*valid)(const json&) = [](const json&) { return true; }) {
  auto it = spec.find(key);
  if (it == spec.end()) return;
  if (!has_type<T>(*it) || !valid(*it)) throw SpecError{key, message};
  out = it->template get<T>();
}

template <typename T>
json or_null(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

}  // namespace

void to_json(json& j, const Fault& f) {
  json headers = json::object();
  for (const auto& [name, value] : f.headers) headers[name] = value;
  j = {{"id", f.id},
       {"path", f.path},
       {"grant_type", or_null(f.grant_type)},
       {"status", or_null(f.status)},
       {"headers", std::move(headers)},
       {"body", or_null(f.body)},
       {"delay_ms", f.delay_ms},
       {"drop", f.drop},
       {"after_commit", f.after_commit},
       {"times", f.times},
       {"hits", f.hits}};
}

// Throws SpecError. The keys a spec may have are those to_json writes, less the server's own.
void from_json(const json& spec, Fault& f) {
  if (!spec.is_object()) throw SpecError{"", "expected a fault object"};
  static const json kWritten = Fault{};
  for (const auto& item : spec.items()) {
    if (!kWritten.contains(item.key()) || item.key() == "id" || item.key() == "hits")
      throw SpecError{item.key(), "unknown key"};
  }
  read<std::string>(
      spec, "path", f.path, "required: a path such as \"/OAuth/Token\"",
      [](const json& v) { return v.get_ref<const std::string&>().rfind('/', 0) == 0; });
  if (f.path.empty()) throw SpecError{"path", "required: a path such as \"/OAuth/Token\""};
  f.path = to_lower(f.path);
  read<std::string>(spec, "grant_type", f.grant_type, "expected a string");
  read<int>(spec, "status", f.status, "expected an HTTP status 100-599",
            [](const json& v) { return v >= 100 && v <= 599; });
  // An interim status cannot end a request, and 204 and 304 end at their headers.
  if (f.status && *f.status < 200)
    throw SpecError{"status", "1xx is an interim status, not a reply; use 200-599"};
  if (spec.contains("headers")) {
    if (!spec["headers"].is_object()) throw SpecError{"headers", "expected an object of strings"};
    for (const auto& item : spec["headers"].items()) {
      if (!item.value().is_string()) throw SpecError{"headers." + item.key(), "expected a string"};
      const std::string value = item.value().get<std::string>();
      if (value.find_first_of("\r\n") != std::string::npos ||
          item.key().find_first_of("\r\n:") != std::string::npos) {
        throw SpecError{"headers." + item.key(),
                        "header names and values cannot contain CR, LF or ':'"};
      }
      f.headers.emplace_back(item.key(), value);
    }
  }
  read<std::string>(spec, "body", f.body, "expected a string (it is sent as it is)");
  read<int>(spec, "delay_ms", f.delay_ms, "expected an integer 0-600000",
            [](const json& v) { return v >= 0 && v <= 600000; });
  read<bool>(spec, "drop", f.drop, "expected true or false");
  read<bool>(spec, "after_commit", f.after_commit, "expected true or false");
  read<int>(spec, "times", f.times, "expected an integer from 0 to 1000000000",
            [](const json& v) { return v >= 0 && v <= 1000000000; });
  if (!f.status && !f.drop && !f.after_commit && f.delay_ms == 0)
    throw SpecError{"", "a fault needs at least one of status, drop, after_commit or delay_ms"};
  if (f.drop && f.status)
    throw SpecError{"drop", "drop sends no reply, so it cannot have a status"};
  if (f.status && (*f.status == 204 || *f.status == 304) && f.body && !f.body->empty())
    throw SpecError{"body", "a " + std::to_string(*f.status) + " reply cannot carry a body"};
}

namespace {

std::optional<Fault> parse_fault(const json& spec, const std::string& where, std::string* error) {
  try {
    return spec.get<Fault>();
  } catch (const SpecError& e) {
    *error = where + (e.key.empty() ? "" : "." + e.key) + ": " + e.message;
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::vector<int>> FaultQueue::add(const nlohmann::json& spec, std::string* error) {
  std::vector<Fault> parsed;
  if (spec.is_array()) {
    for (size_t i = 0; i < spec.size(); ++i) {
      auto f = parse_fault(spec[i], "[" + std::to_string(i) + "]", error);
      if (!f) return std::nullopt;
      parsed.push_back(std::move(*f));
    }
  } else {
    auto f = parse_fault(spec, "fault", error);
    if (!f) return std::nullopt;
    parsed.push_back(std::move(*f));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int> ids;
  for (auto& f : parsed) {
    f.id = next_id_++;
    ids.push_back(f.id);
    faults_.push_back(std::move(f));
  }
  count_ = faults_.size();
  return ids;
}

std::optional<Fault> FaultQueue::take(const std::string& lower_route,
                                      const std::string& grant_type) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (!same_endpoint(it->path, lower_route) || (it->grant_type && *it->grant_type != grant_type))
      continue;
    ++it->hits;
    Fault hit = *it;
    if (it->times != 0 && it->hits >= it->times) faults_.erase(it);
    count_ = faults_.size();
    return hit;
  }
  return std::nullopt;
}

nlohmann::json FaultQueue::to_json() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {{"faults", faults_}};
}

void FaultQueue::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.clear();
  count_ = 0;
}

}  // namespace mock2ba
