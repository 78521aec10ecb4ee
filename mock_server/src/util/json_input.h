// Reading JSON the mock did not write (control bodies, fixtures, the state file) within a bound.
#ifndef MOCK2BA_JSON_INPUT_H_
#define MOCK2BA_JSON_INPUT_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mock2ba {

// Deepest nesting of arrays and objects accepted in any JSON the mock reads. Fixtures need 5;
// the bound keeps every later walk over a document (copies, dump()) far from the stack's end.
constexpr int kMaxJsonDepth = 64;

// Parses untrusted JSON text. nullopt with *error ("nested deeper than 64 levels" or the
// parser's message with its position) when the text is not JSON or nested too deep.
std::optional<nlohmann::json> parse_json_input(std::string_view text, std::string* error);

// A short, non-recursive description of a value for error messages: a scalar as JSON (cut to
// 40 characters), a container only as "an object" or "a list".
std::string describe_json_value(const nlohmann::json& value);

}  // namespace mock2ba

#endif  // MOCK2BA_JSON_INPUT_H_
