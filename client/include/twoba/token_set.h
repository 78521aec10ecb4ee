// A token pair as the client keeps it, and the rules for reading and renewing it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "twoba/error.h"

namespace twoba {

// A token time: the client's own wall clock (never the server's Date), in milliseconds, so any
// expires_in a server sends fits (a nanosecond time_point would overflow past the year 2262).
using TokenTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

// What one successful token reply gave us. Times are measured from when the request was sent.
struct TokenSet {
  std::string access_token;
  std::string token_type = "Bearer";               // as received; compared case-insensitively
  std::string refresh_token;                       // empty: none held
  std::optional<std::chrono::seconds> expires_in;  // as received; absent if not sent
  std::optional<TokenTime> expires_at;             // obtained_at + expires_in
  TokenTime obtained_at;
  std::string scope;  // as granted, if the reply said
};

// Parses a 200 token reply. Unknown members are ignored, token_type must be Bearer in any
// case (or absent), expires_in may be a number or a numeric string. A reply that is not a JSON
// object or lacks access_token is kParse; a non-Bearer token_type is kOAuth.
Result<TokenSet> parse_token_response(std::string_view body, TokenTime sent_at);

// An error for a non-200 token reply: kOAuth when the body is an RFC 6749 §5.2 object with an
// "error" member, else kHttp. The description is kept, the body is not (it may echo secrets).
Error token_error_from_reply(int status, std::string_view body);

// How long before expiry to refresh: min(max_margin, expires_in / 2). Half the lifetime at
// most, so a short-lived token is still used for half its life and refreshing cannot loop.
std::chrono::milliseconds refresh_margin(std::chrono::seconds expires_in,
                                         std::chrono::milliseconds max_margin);

// True when the access token is missing or within its refresh margin of expiry at now.
// Without expires_in it never expires by time (the server's 401 tells us instead).
bool needs_refresh(const TokenSet& tokens, TokenTime now, std::chrono::milliseconds max_margin);

// The set to store after a refresh reply: the reply, keeping the previous refresh token (and
// scope) when the reply carries none (RFC 6749 §6 "MAY issue a new refresh token").
TokenSet merge_refreshed(const TokenSet& previous, TokenSet reply);

// Store serialisation (JSON object, times as unix milliseconds).
std::string to_store_json(const TokenSet& tokens);
// Inverse of to_store_json; kParse on a malformed document.
Result<TokenSet> from_store_json(std::string_view text);

}  // namespace twoba
