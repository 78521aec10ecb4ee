// Byte-exact encodings used on the wire: form-urlencoding, base64, PKCE material.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace twoba {

// Ordered name/value pairs of a form or query (duplicates kept).
using FormFields = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded value: unreserved bytes kept, space -> '+', rest %XX.
std::string form_urlencode(std::string_view value);

// Inverse of form_urlencode: '+' -> space, %XX decoded; a malformed escape is kept literally.
std::string form_urldecode(std::string_view value);

// "a=1&b=2" from fields, each name and value form-urlencoded.
std::string encode_form(const FormFields& fields);

// Fields of "a=1&b=2" (no leading '?'), decoded, in order.
FormFields parse_form(std::string_view text);

// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(std::string_view bytes);

// base64url without padding (RFC 4648 §5), as PKCE and state use.
std::string base64url_encode(std::string_view bytes);

// "Basic base64(urlencode(id):urlencode(secret))", RFC 6749 §2.3.1.
std::string basic_authorization(std::string_view client_id, std::string_view client_secret);

}  // namespace twoba
