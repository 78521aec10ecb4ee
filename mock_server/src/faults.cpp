#include "faults.h"

#include <set>

#include "text_util.h"

namespace mock2ba {
namespace {

std::optional<Fault> parse_fault(const nlohmann::json& spec, const std::string& where,
                                 std::string* error) {
  auto fail = [&](const std::string& key, const std::string& message) {
    *error = where + (key.empty() ? "" : "." + key) + ": " + message;
    return std::nullopt;
  };
  if (!spec.is_object()) return fail("", "expected a fault object");
  static const std::set<std::string> kKeys = {"path",    "grant_type",   "status",
                                              "headers", "body",         "delay_ms",
                                              "drop",    "after_commit", "times"};
  for (const auto& item : spec.items()) {
    if (!kKeys.count(item.key())) return fail(item.key(), "unknown key");
  }
  Fault f;
  if (!spec.contains("path") || !spec["path"].is_string() ||
      spec["path"].get<std::string>().empty() || spec["path"].get<std::string>()[0] != '/') {
    return fail("path", "required: a path such as \"/OAuth/Token\"");
  }
  f.path = to_lower(spec["path"].get<std::string>());
  if (spec.contains("grant_type")) {
    if (!spec["grant_type"].is_string()) return fail("grant_type", "expected a string");
    f.grant_type = spec["grant_type"].get<std::string>();
  }
  if (spec.contains("status")) {
    if (!spec["status"].is_number_integer() || spec["status"] < 100 || spec["status"] > 599) {
      return fail("status", "expected an HTTP status 100-599");
    }
    f.status = spec["status"].get<int>();
    // An interim status cannot end a request, and 204 and 304 end at their headers.
    if (*f.status < 200)
      return fail("status", "1xx is an interim status, not a reply; use 200-599");
  }
  if (spec.contains("headers")) {
    if (!spec["headers"].is_object()) return fail("headers", "expected an object of strings");
    for (const auto& item : spec["headers"].items()) {
      if (!item.value().is_string()) return fail("headers." + item.key(), "expected a string");
      const std::string value = item.value().get<std::string>();
      if (value.find_first_of("\r\n") != std::string::npos ||
          item.key().find_first_of("\r\n:") != std::string::npos) {
        return fail("headers." + item.key(),
                    "header names and values cannot contain CR, LF or ':'");
      }
      f.headers.emplace_back(item.key(), value);
    }
  }
  if (spec.contains("body")) {
    if (!spec["body"].is_string()) return fail("body", "expected a string (it is sent as it is)");
    f.body = spec["body"].get<std::string>();
  }
  if (spec.contains("delay_ms")) {
    if (!spec["delay_ms"].is_number_integer() || spec["delay_ms"] < 0 ||
        spec["delay_ms"] > 600000) {
      return fail("delay_ms", "expected an integer 0-600000");
    }
    f.delay_ms = spec["delay_ms"].get<int>();
  }
  for (const char* key : {"drop", "after_commit"}) {
    if (spec.contains(key) && !spec[key].is_boolean()) return fail(key, "expected true or false");
  }
  f.drop = spec.value("drop", false);
  f.after_commit = spec.value("after_commit", false);
  if (spec.contains("times")) {
    if (!spec["times"].is_number_integer() || spec["times"] < 0 || spec["times"] > 1000000000) {
      return fail("times", "expected an integer from 0 to 1000000000");
    }
    f.times = spec["times"].get<int>();
  }
  if (!f.status && !f.drop && !f.after_commit && f.delay_ms == 0) {
    return fail("", "a fault needs at least one of status, drop, after_commit or delay_ms");
  }
  if (f.drop && f.status) return fail("drop", "drop sends no reply, so it cannot have a status");
  if (f.status && (*f.status == 204 || *f.status == 304) && f.body && !f.body->empty())
    return fail("body", "a " + std::to_string(*f.status) + " reply cannot carry a body");
  return f;
}

}  // namespace

bool is_token_route(const std::string& lower_route) {
  return lower_route == "/oauth/token" || lower_route == "/connect/token";
}

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
    bool path_matches =
        it->path == lower_route || (is_token_route(it->path) && is_token_route(lower_route));
    if (!path_matches || (it->grant_type && *it->grant_type != grant_type)) continue;
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
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : faults_) {
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [k, v] : f.headers) headers[k] = v;
    list.push_back(
        {{"id", f.id},
         {"path", f.path},
         {"grant_type", f.grant_type ? nlohmann::json(*f.grant_type) : nlohmann::json(nullptr)},
         {"status", f.status ? nlohmann::json(*f.status) : nlohmann::json(nullptr)},
         {"headers", headers},
         {"body", f.body ? nlohmann::json(*f.body) : nlohmann::json(nullptr)},
         {"delay_ms", f.delay_ms},
         {"drop", f.drop},
         {"after_commit", f.after_commit},
         {"times", f.times},
         {"hits", f.hits}});
  }
  return {{"faults", std::move(list)}};
}

void FaultQueue::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.clear();
  count_ = 0;
}

}  // namespace mock2ba
