// URL handling of the HTTP transport (not part of the public API).
#pragma once

#include <string>
#include <string_view>

#include "twoba/error.h"

namespace twoba {

// An absolute http(s) URL split into the parts a connection needs.
struct Url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // without brackets for IPv6
  int port = 0;        // explicit or the scheme's default
  std::string target;  // path and query, at least "/"
};

// Parses "scheme://host[:port][/path][?query]"; rejects other schemes and userinfo.
Result<Url> parse_url(std::string_view text);

// True for 127.0.0.0/8, ::1 and "localhost": the only hosts plain http is allowed to.
bool is_loopback_host(std::string_view host);

// Percent-encodes the bytes that cannot appear raw in a request target (space, controls,
// non-ASCII, quotes...), leaving existing escapes, '+', '&' and '=' untouched.
std::string sanitize_target(std::string_view target);

}  // namespace twoba
