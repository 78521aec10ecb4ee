// Reading JSON the mock did not write (control bodies, fixtures, the state file) within a bound.
#ifndef MOCK2BA_JSON_INPUT_H_
#define MOCK2BA_JSON_INPUT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

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

// A JSON value that cannot be used: where ("policy.reuse", "users[0]"; empty: the whole
// document) and why. Callers add their own context (a file name, a request) in front.
class JsonInputError : public std::runtime_error {
 public:
  JsonInputError(std::string path, std::string message);
  // Where in the document, as the reader's key paths spell it.
  const std::string& path() const { return path_; }
  // Why, without the path.
  const std::string& message() const { return message_; }

 private:
  std::string path_;
  std::string message_;
};

// Reads one JSON object strictly: every value of the right type, and every key one that the
// parsing code asked about. It records each key asked for (present or not, in order);
// reject_unread_keys() then refuses the rest, so a key the code does not read cannot be accepted
// and silently ignored. An error met while reading is reported as a misspelt key instead when
// the object holds an unread key two edits from an absent one that was asked for. Every failure
// throws JsonInputError; the reader keeps a reference to the object, which must outlive it.
class ObjectReader {
 public:
  // kOpen: other keys are data (product records), so none is refused or called a misspelling.
  enum Keys { kStrict, kOpen };

  // Throws unless `object` is an object. `path` names it in errors ("" for the whole document).
  ObjectReader(const nlohmann::json& object, std::string path, Keys keys = kStrict);

  // Fails on the first key no accessor asked about (call after reading the whole object): "did
  // you mean" the nearest absent key asked for, or else the list of keys asked for.
  void reject_unread_keys() const;

  // Whether the key is present; records it as asked for.
  bool has(const char* key);
  // The key's value (it must be present); records it as asked for.
  const nlohmann::json& raw(const char* key);
  // The path of one of this object's keys, for errors about its value.
  std::string key_path(const std::string& key) const;

  // An integer from `min` to 1e11 (seconds or counts: far from millisecond overflow).
  std::optional<int64_t> integer(const char* key, int64_t min);
  // true or false.
  std::optional<bool> boolean(const char* key);
  // A string, non-empty unless allow_empty.
  std::optional<std::string> string(const char* key, bool allow_empty = false);
  // A non-empty string; fails with "missing (required)" when absent.
  std::string required_string(const char* key);
  // A non-empty string from `allowed`.
  std::optional<std::string> one_of(const char* key, const std::set<std::string>& allowed);
  // A list of non-empty strings.
  std::optional<std::vector<std::string>> string_list(const char* key);

  // Throws JsonInputError(path, message), or the misspelt-key error that explains it better.
  [[noreturn]] void fail(const std::string& path, const std::string& message) const;

 private:
  [[noreturn]] void fail_unknown(const std::string& key, const std::string* meant) const;
  const std::string* nearest_absent(const std::string& key) const;
  bool asked(const std::string& key) const;
  void ask(const char* key);

  const nlohmann::json& object_;
  std::string path_;
  Keys keys_;
  std::vector<std::string> asked_;  // every key an accessor asked about, in the order asked
};

}  // namespace mock2ba

#endif  // MOCK2BA_JSON_INPUT_H_
