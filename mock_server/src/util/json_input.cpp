#include "util/json_input.h"

#include <algorithm>

namespace mock2ba {
namespace {

using nlohmann::json;

// Edits (insertions, deletions, substitutions) that turn `a` into `b`; for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "a", "a or b", "a, b or c".
std::string spoken_list(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// Whether the text nests arrays and objects deeper than `limit`, counting brackets outside
// strings. Runs before the parser so a deep document is never built at all.
bool nested_deeper_than(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

std::optional<nlohmann::json> parse_json_input(std::string_view text, std::string* error) {
  if (nested_deeper_than(text, kMaxJsonDepth)) {
    *error =
        "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels of arrays and objects";
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    *error = e.what();
    return std::nullopt;
  }
}

std::string describe_json_value(const nlohmann::json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "a list";
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

JsonInputError::JsonInputError(std::string path, std::string message)
    : std::runtime_error(path.empty() ? message : path + ": " + message),
      path_(std::move(path)),
      message_(std::move(message)) {}

ObjectReader::ObjectReader(const json& object, std::string path, Keys keys)
    : object_(object), path_(std::move(path)), keys_(keys) {
  if (!object_.is_object()) fail(path_, "expected an object, got " + describe_json_value(object_));
}

void ObjectReader::reject_unread_keys() const {
  for (const auto& item : object_.items()) {
    if (!asked(item.key())) fail_unknown(item.key(), nearest_absent(item.key()));
  }
}

bool ObjectReader::has(const char* key) {
  ask(key);
  return object_.contains(key);
}

const json& ObjectReader::raw(const char* key) {
  ask(key);
  return object_.at(key);
}

std::string ObjectReader::key_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

std::optional<int64_t> ObjectReader::integer(const char* key, int64_t min) {
  constexpr int64_t kMax = 100000000000;  // 1e11 s, about 3,000 years
  if (!has(key)) return std::nullopt;
  const json& v = raw(key);
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(kMax)) ||
      v.get<int64_t>() < min || v.get<int64_t>() > kMax) {
    fail(key_path(key), "expected an integer from " + std::to_string(min) + " to " +
                            std::to_string(kMax) + ", got " + describe_json_value(v));
  }
  return v.get<int64_t>();
}

std::optional<bool> ObjectReader::boolean(const char* key) {
  if (!has(key)) return std::nullopt;
  const json& v = raw(key);
  if (!v.is_boolean()) fail(key_path(key), "expected true or false, got " + describe_json_value(v));
  return v.get<bool>();
}

std::optional<std::string> ObjectReader::string(const char* key, bool allow_empty) {
  if (!has(key)) return std::nullopt;
  const json& v = raw(key);
  if (!v.is_string() || (!allow_empty && v.get_ref<const std::string&>().empty())) {
    fail(key_path(key),
         std::string(allow_empty ? "expected a string" : "expected a non-empty string") + ", got " +
             describe_json_value(v));
  }
  return v.get<std::string>();
}

std::string ObjectReader::required_string(const char* key) {
  auto v = string(key);
  if (!v) fail(key_path(key), "missing (required)");
  return *v;
}

std::optional<std::string> ObjectReader::one_of(const char* key,
                                                const std::set<std::string>& allowed) {
  auto v = string(key);
  if (v && !allowed.count(*v)) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + ("\"" + a + "\"");
    fail(key_path(key), "expected one of " + list + ", got \"" + *v + "\"");
  }
  return v;
}

std::optional<std::vector<std::string>> ObjectReader::string_list(const char* key) {
  if (!has(key)) return std::nullopt;
  const json& v = raw(key);
  if (!v.is_array())
    fail(key_path(key), "expected a list of strings, got " + describe_json_value(v));
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get_ref<const std::string&>().empty()) {
      fail(key_path(key) + "[" + std::to_string(i) + "]",
           "expected a non-empty string, got " + describe_json_value(v[i]));
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

void ObjectReader::fail(const std::string& path, const std::string& message) const {
  if (keys_ == kStrict && object_.is_object()) {
    for (const auto& item : object_.items()) {
      if (asked(item.key())) continue;
      if (const std::string* meant = nearest_absent(item.key())) fail_unknown(item.key(), meant);
    }
  }
  throw JsonInputError(path, message);
}

void ObjectReader::fail_unknown(const std::string& key, const std::string* meant) const {
  if (meant) throw JsonInputError(key_path(key), "unknown key (did you mean \"" + *meant + "\"?)");
  if (asked_.empty()) throw JsonInputError(key_path(key), "unknown key");
  throw JsonInputError(key_path(key), "unknown key (expected " + spoken_list(asked_) + ")");
}

// The key asked for but absent that `key` is nearest to, two edits at most; or nullptr.
const std::string* ObjectReader::nearest_absent(const std::string& key) const {
  const std::string* nearest = nullptr;
  size_t best = 3;
  for (const auto& candidate : asked_) {
    if (object_.contains(candidate)) continue;
    size_t distance = edit_distance(key, candidate);
    if (distance < best) best = distance, nearest = &candidate;
  }
  return nearest;
}

bool ObjectReader::asked(const std::string& key) const {
  return std::find(asked_.begin(), asked_.end(), key) != asked_.end();
}

void ObjectReader::ask(const char* key) {
  if (!asked(key)) asked_.emplace_back(key);
}

}  // namespace mock2ba
