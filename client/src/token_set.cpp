#include "twoba/token_set.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "text.h"

namespace twoba {
namespace {

using nlohmann::json;

using std::chrono::milliseconds;
using std::chrono::seconds;

// expires_in as a non-negative number of seconds; nullopt when absent or unusable.
std::optional<seconds> read_expires_in(const json& value) {
  if (value.is_number_integer() || value.is_number_unsigned()) {
    const auto n = value.get<std::int64_t>();
    if (n >= 0) return seconds(n);
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    if (d >= 0 && d < 1e12) return seconds(static_cast<std::int64_t>(d));
  } else if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (!s.empty() && s.size() < 12 &&
        std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return seconds(std::stoll(s));
    }
  }
  return std::nullopt;
}

std::string string_member(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// The store keeps times as unix milliseconds.
std::int64_t unix_ms(TokenTime t) { return t.time_since_epoch().count(); }

TokenTime from_unix_ms(std::int64_t ms) { return TokenTime(milliseconds(ms)); }

// An integer member, if present and an integer.
std::optional<std::int64_t> int_member(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

}  // namespace

Result<TokenSet> parse_token_response(std::string_view body, TokenTime sent_at) {
  json reply = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!reply.is_object()) {
    return Error::parse("token reply is not a JSON object", 200);
  }
  TokenSet tokens;
  tokens.access_token = string_member(reply, "access_token");
  if (tokens.access_token.empty()) {
    return Error::parse("token reply has no access_token", 200);
  }
  if (reply.contains("token_type")) {
    tokens.token_type = string_member(reply, "token_type");
    if (!text::iequals(tokens.token_type, "bearer")) {
      return Error::oauth("unsupported token_type (only Bearer is understood)", 200,
                          "unsupported_token_type");
    }
  }
  tokens.refresh_token = string_member(reply, "refresh_token");
  tokens.scope = string_member(reply, "scope");
  tokens.obtained_at = sent_at;
  if (const auto it = reply.find("expires_in"); it != reply.end()) {
    tokens.expires_in = read_expires_in(*it);
    if (tokens.expires_in) tokens.expires_at = sent_at + *tokens.expires_in;
  }
  return tokens;
}

Error token_error_from_reply(int status, std::string_view body) {
  const json reply = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (reply.is_object() && reply.contains("error") && reply["error"].is_string()) {
    std::string message = "token endpoint: " + reply["error"].get<std::string>();
    const std::string description = string_member(reply, "error_description");
    if (!description.empty()) message += ": " + description.substr(0, 300);
    return Error::oauth(message, status, reply["error"].get<std::string>());
  }
  return Error::http(status,
                     "token endpoint answered HTTP " + std::to_string(status) +
                         (body.empty() ? " with no body" : " without an OAuth error object"));
}

milliseconds refresh_margin(seconds expires_in, milliseconds max_margin) {
  const milliseconds half_life = std::chrono::duration_cast<milliseconds>(expires_in) / 2;
  return std::max(std::min(max_margin, half_life), milliseconds(0));
}

bool needs_refresh(const TokenSet& tokens, TokenTime now, milliseconds max_margin) {
  if (tokens.access_token.empty()) return true;
  if (!tokens.expires_at || !tokens.expires_in) return false;
  return now >= *tokens.expires_at - refresh_margin(*tokens.expires_in, max_margin);
}

TokenSet merge_refreshed(const TokenSet& previous, TokenSet reply) {
  if (reply.refresh_token.empty()) reply.refresh_token = previous.refresh_token;
  if (reply.scope.empty()) reply.scope = previous.scope;
  return reply;
}

std::string to_store_json(const TokenSet& tokens) {
  json doc = {
      {"version", 1},
      {"token_type", tokens.token_type},
      {"access_token", tokens.access_token},
      {"refresh_token", tokens.refresh_token},
      {"obtained_at_ms", unix_ms(tokens.obtained_at)},
      {"scope", tokens.scope},
  };
  doc["expires_in"] = tokens.expires_in ? json(tokens.expires_in->count()) : json(nullptr);
  doc["expires_at_ms"] = tokens.expires_at ? json(unix_ms(*tokens.expires_at)) : json(nullptr);
  return doc.dump(2) + "\n";
}

Result<TokenSet> from_store_json(std::string_view text) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.value("version", 0) != 1 || !doc.contains("access_token") ||
      !doc["access_token"].is_string()) {
    return Error::parse("token store is not a version-1 token document");
  }
  TokenSet tokens;
  tokens.access_token = string_member(doc, "access_token");
  tokens.token_type = string_member(doc, "token_type");
  tokens.refresh_token = string_member(doc, "refresh_token");
  tokens.scope = string_member(doc, "scope");
  if (const auto ms = int_member(doc, "obtained_at_ms")) tokens.obtained_at = from_unix_ms(*ms);
  if (const auto s = int_member(doc, "expires_in")) tokens.expires_in = seconds(*s);
  if (const auto ms = int_member(doc, "expires_at_ms")) tokens.expires_at = from_unix_ms(*ms);
  return tokens;
}

}  // namespace twoba
