// Parsing of application/x-www-form-urlencoded bodies and query strings.
#ifndef MOCK2BA_FORM_H_
#define MOCK2BA_FORM_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mock2ba {

// Decodes one form component: '+' is a space, %XX a byte. Returns nullopt on a malformed
// escape; a decoded NUL byte is rejected too, since no OAuth value can contain one.
std::optional<std::string> form_decode(std::string_view text);

// A copy of a value find() or param() pointed to, or nullopt for nullptr.
std::optional<std::string> copy_of(const std::string* value);

// Encodes a value for a form or query string (unreserved characters kept, space as %20).
std::string form_encode(std::string_view value);

// At most this many fields in one body or query string: no OAuth request needs more, and the
// bound keeps a hostile request from costing more than a normal one.
constexpr size_t kMaxFormFields = 256;

// Whether a Content-Type header value is application/x-www-form-urlencoded (any parameters).
bool is_form_content_type(const std::string& content_type);

// An ordered multimap of form fields: duplicates are kept so that callers can reject them.
class Form {
 public:
  // Parses a whole body or query string. On a malformed escape or more than kMaxFormFields
  // fields returns nullopt and sets *error.
  static std::optional<Form> parse(std::string_view text, std::string* error);

  // Number of times `name` occurs.
  size_t count(std::string_view name) const;
  // The first value of `name` without copying it (possibly empty), or nullptr when absent.
  const std::string* find(std::string_view name) const;
  // An OAuth parameter: the first value of `name`, or nullptr when absent or empty (RFC 6749
  // §3.1: a parameter sent without a value is treated as omitted).
  const std::string* param(std::string_view name) const;
  // The first value of `name`, or "" when absent.
  std::string value(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace mock2ba

#endif  // MOCK2BA_FORM_H_
