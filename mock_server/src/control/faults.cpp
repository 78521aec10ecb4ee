#include "control/faults.h"

#include <optional>
#include <type_traits>

#include "oauth/endpoints.h"
#include "util/json_input.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;

template <typename T>
bool has_type(const json& v) {
  if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
  if constexpr (std::is_same_v<T, int>) return v.is_number_integer();
  if constexpr (std::is_same_v<T, std::string>) return v.is_string();
}

// Reads `key` into `out` when present. Fails with `message` when the value has another type or
// `valid` refuses it (checked on the JSON value, before any narrowing).
template <typename T, typename Out>
void read(
    ObjectReader& r, const char* key, Out& out, const char* message,
    bool (*valid)(const json&) = [](const json&) { return true; }) {
  if (!r.has(key)) return;
  const json& v = r.raw(key);
  if (!has_type<T>(v) || !valid(v)) r.fail(r.key_path(key), message);
  out = v.template get<T>();
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

// The keys a spec may have are those to_json writes, less the server's own. Keys are checked
// before values: a foreign key is named even when a required one is missing.
void from_json(const json& spec, Fault& f) {
  ObjectReader r(spec, "");
  static const json kWritten = Fault{};
  for (const auto& item : kWritten.items()) {
    if (item.key() != "id" && item.key() != "hits") r.has(item.key().c_str());
  }
  r.reject_unread_keys();
  read<std::string>(
      r, "path", f.path, "required: a path such as \"/OAuth/Token\"",
      [](const json& v) { return v.get_ref<const std::string&>().rfind('/', 0) == 0; });
  if (f.path.empty()) r.fail("path", "required: a path such as \"/OAuth/Token\"");
  f.path = to_lower(f.path);
  read<std::string>(r, "grant_type", f.grant_type, "expected a string");
  read<int>(r, "status", f.status, "expected an HTTP status 100-599",
            [](const json& v) { return v >= 100 && v <= 599; });
  // An interim status cannot end a request, and 204 and 304 end at their headers.
  if (f.status && *f.status < 200)
    r.fail("status", "1xx is an interim status, not a reply; use 200-599");
  if (r.has("headers")) {
    const json& headers = r.raw("headers");
    if (!headers.is_object()) r.fail("headers", "expected an object of strings");
    for (const auto& item : headers.items()) {
      if (!item.value().is_string()) r.fail("headers." + item.key(), "expected a string");
      const std::string value = item.value().get<std::string>();
      if (value.find_first_of("\r\n") != std::string::npos ||
          item.key().find_first_of("\r\n:") != std::string::npos) {
        r.fail("headers." + item.key(), "header names and values cannot contain CR, LF or ':'");
      }
      f.headers.emplace_back(item.key(), value);
    }
  }
  read<std::string>(r, "body", f.body, "expected a string (it is sent as it is)");
  read<int>(r, "delay_ms", f.delay_ms, "expected an integer 0-600000",
            [](const json& v) { return v >= 0 && v <= 600000; });
  read<bool>(r, "drop", f.drop, "expected true or false");
  read<bool>(r, "after_commit", f.after_commit, "expected true or false");
  read<int>(r, "times", f.times, "expected an integer from 0 to 1000000000",
            [](const json& v) { return v >= 0 && v <= 1000000000; });
  if (!f.status && !f.drop && !f.after_commit && f.delay_ms == 0)
    r.fail("", "a fault needs at least one of status, drop, after_commit or delay_ms");
  if (f.drop && f.status) r.fail("drop", "drop sends no reply, so it cannot have a status");
  if (f.status && (*f.status == 204 || *f.status == 304) && f.body && !f.body->empty())
    r.fail("body", "a " + std::to_string(*f.status) + " reply cannot carry a body");
}

namespace {

std::optional<Fault> parse_fault(const json& spec, const std::string& where, std::string* error) {
  try {
    return spec.get<Fault>();
  } catch (const JsonInputError& e) {
    *error = where + (e.path().empty() ? "" : "." + e.path()) + ": " + e.message();
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
