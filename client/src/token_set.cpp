#include "twoba/token_set.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "text.h"

namespace twoba {
namespace {

using nlohmann::json;

// expires_in as a non-negative number of seconds; nullopt when absent or unusable.
std::optional<std::int64_t> read_expires_in(const json& value) {
  if (value.is_number_integer() || value.is_number_unsigned()) {
    const auto n = value.get<std::int64_t>();
    if (n >= 0) return n;
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    if (d >= 0 && d < 1e12) return static_cast<std::int64_t>(d);
  } else if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (!s.empty() && s.size() < 12 &&
        std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::stoll(s);
    }
  }
  return std::nullopt;
}

std::string string_member(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<TokenSet> parse_token_response(std::string_view body, std::int64_t sent_at_ms) {
  json reply = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!reply.is_object()) {
    return make_error(ErrorKind::kParse, "token reply is not a JSON object", 200);
  }
  TokenSet tokens;
  tokens.access_token = string_member(reply, "access_token");
  if (tokens.access_token.empty()) {
    return make_error(ErrorKind::kParse, "token reply has no access_token", 200);
  }
  if (reply.contains("token_type")) {
    tokens.token_type = string_member(reply, "token_type");
    if (!text::iequals(tokens.token_type, "bearer")) {
      return make_error(ErrorKind::kOAuth, "unsupported token_type (only Bearer is understood)",
                        200, "unsupported_token_type");
    }
  }
  tokens.refresh_token = string_member(reply, "refresh_token");
  tokens.scope = string_member(reply, "scope");
  tokens.obtained_at_ms = sent_at_ms;
  if (const auto it = reply.find("expires_in"); it != reply.end()) {
    tokens.expires_in = read_expires_in(*it);
    if (tokens.expires_in) tokens.expires_at_ms = sent_at_ms + *tokens.expires_in * 1000;
  }
  return tokens;
}

Error token_error_from_reply(int status, std::string_view body) {
  const json reply = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (reply.is_object() && reply.contains("error") && reply["error"].is_string()) {
    std::string message = "token endpoint: " + reply["error"].get<std::string>();
    const std::string description = string_member(reply, "error_description");
    if (!description.empty()) message += ": " + description.substr(0, 300);
    return make_error(ErrorKind::kOAuth, message, status, reply["error"].get<std::string>());
  }
  return make_error(ErrorKind::kHttp,
                    "token endpoint answered HTTP " + std::to_string(status) +
                        (body.empty() ? " with no body" : " without an OAuth error object"),
                    status);
}

std::int64_t refresh_margin_ms(std::int64_t expires_in_s, double max_margin_s) {
  const double margin_s = std::min(max_margin_s, static_cast<double>(expires_in_s) / 2.0);
  return static_cast<std::int64_t>(std::llround(std::max(margin_s, 0.0) * 1000.0));
}

bool needs_refresh(const TokenSet& tokens, std::int64_t now, double max_margin_s) {
  if (tokens.access_token.empty()) return true;
  if (!tokens.expires_at_ms || !tokens.expires_in) return false;
  return now >= *tokens.expires_at_ms - refresh_margin_ms(*tokens.expires_in, max_margin_s);
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
      {"obtained_at_ms", tokens.obtained_at_ms},
      {"scope", tokens.scope},
  };
  doc["expires_in"] = tokens.expires_in ? json(*tokens.expires_in) : json(nullptr);
  doc["expires_at_ms"] = tokens.expires_at_ms ? json(*tokens.expires_at_ms) : json(nullptr);
  return doc.dump(2) + "\n";
}

Result<TokenSet> from_store_json(std::string_view text) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.value("version", 0) != 1 || !doc.contains("access_token") ||
      !doc["access_token"].is_string()) {
    return make_error(ErrorKind::kParse, "token store is not a version-1 token document");
  }
  TokenSet tokens;
  tokens.access_token = string_member(doc, "access_token");
  tokens.token_type = string_member(doc, "token_type");
  tokens.refresh_token = string_member(doc, "refresh_token");
  tokens.scope = string_member(doc, "scope");
  if (const auto it = doc.find("obtained_at_ms"); it != doc.end() && it->is_number_integer()) {
    tokens.obtained_at_ms = it->get<std::int64_t>();
  }
  if (const auto it = doc.find("expires_in"); it != doc.end() && it->is_number_integer()) {
    tokens.expires_in = it->get<std::int64_t>();
  }
  if (const auto it = doc.find("expires_at_ms"); it != doc.end() && it->is_number_integer()) {
    tokens.expires_at_ms = it->get<std::int64_t>();
  }
  return tokens;
}

}  // namespace twoba
