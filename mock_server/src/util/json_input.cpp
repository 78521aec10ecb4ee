#include "util/json_input.h"

namespace mock2ba {
namespace {

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

}  // namespace mock2ba
