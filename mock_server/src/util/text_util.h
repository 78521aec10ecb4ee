// Small string helpers shared by the handlers.
#ifndef MOCK2BA_TEXT_UTIL_H_
#define MOCK2BA_TEXT_UTIL_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mock2ba {

// ASCII lower-casing (paths, header names and schemes are ASCII-case-insensitive).
std::string to_lower(std::string_view text);
// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);
bool starts_with(std::string_view text, std::string_view prefix);
// Splits on runs of spaces (OAuth scope lists).
std::vector<std::string> split_spaces(std::string_view text);
// Standard base64 (RFC 4648 §4) with padding.
std::string base64_encode(std::string_view bytes);
// Standard base64 decoding; nullopt on a character outside the alphabet or bad padding.
std::optional<std::string> base64_decode(std::string_view text);
// base64url (RFC 4648 §5) without padding, as PKCE uses.
std::string base64url_encode(std::string_view bytes);
// The value of one hexadecimal digit (either case), or -1 for any other character.
int hex_digit_value(char c);
// Whether text is valid UTF-8.
bool is_valid_utf8(std::string_view text);
// Appends `text` as a JSON string, escaped byte for byte as nlohmann::json's dump() does
// (for valid UTF-8: tokens, fixture strings and UTF-8-checked form values).
void append_json_string(std::string& out, std::string_view text);
// Whether text is a PKCE code_verifier or code_challenge: 43-128 unreserved characters
// (RFC 7636 §4.1, §4.2).
bool is_pkce_value(std::string_view text);

}  // namespace mock2ba

#endif  // MOCK2BA_TEXT_UTIL_H_
