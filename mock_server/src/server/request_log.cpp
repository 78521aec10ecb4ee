#include "server/request_log.h"

#include <cstdio>
#include <ctime>
#include <string_view>
#include <vector>

#include "oauth/grant_types.h"

namespace mock2ba {
namespace {

// Control bytes, DEL and backslash as \xNN / \\, so one request is always one log line.
std::string escape_for_log(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// The outcome members a line shows besides grant and client: the login step, the error, and
// the state of the token each grant type presents (the grant table names them; the token
// store's verdict such as expired or rotated, never a token).
const std::vector<std::string>& logged_outcome_keys() {
  static const std::vector<std::string> kKeys = [] {
    std::vector<std::string> keys = {"login", "error"};
    for (const GrantType& grant : grant_types()) {
      if (grant.presented_state_key) keys.push_back(grant.presented_state_key);
    }
    return keys;
  }();
  return kKeys;
}

// A text line names a token's state by the token: refresh_token=rotated, code=expired.
std::string text_label(const std::string& key) {
  constexpr std::string_view kSuffix = "_state";
  bool is_state = key.size() > kSuffix.size() &&
                  key.compare(key.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
  return is_state ? key.substr(0, key.size() - kSuffix.size()) : key;
}

}  // namespace

void RequestLog::write(const httplib::Request& req, const httplib::Response& res,
                       const std::string& scenario, const nlohmann::json& outcome,
                       double latency_ms) const {
  if (format_ == LogFormat::kNone) return;
  // Only the path is logged: queries and bodies can carry codes, tokens and passwords.
  std::string grant = outcome.value("grant_type", "");
  std::string client = outcome.value("client_id", "");
  std::string line;
  if (format_ == LogFormat::kJson) {
    nlohmann::json j = {{"time", utc_timestamp()},
                        {"method", req.method},
                        {"path", req.path},
                        {"status", res.status},
                        {"latency_ms", latency_ms}};
    if (!scenario.empty()) j["scenario"] = scenario;
    if (!grant.empty()) j["grant_type"] = grant;
    if (!client.empty()) j["client_id"] = client;
    for (const std::string& key : logged_outcome_keys()) {
      if (outcome.contains(key)) j[key] = outcome[key];
    }
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.2fms", latency_ms);
    // Every field a client chose is escaped: a decoded %0a or an ANSI escape in a path must not
    // start a line of its own or recolour the terminal.
    line = utc_timestamp() + " " + escape_for_log(req.method) + " " + escape_for_log(req.path) +
           " " + std::to_string(res.status) + " " + latency;
    if (!grant.empty()) line += " grant=" + escape_for_log(grant);
    if (!client.empty()) line += " client=" + escape_for_log(client);
    for (const std::string& key : logged_outcome_keys()) {
      auto it = outcome.find(key);
      if (it == outcome.end() || !it->is_string()) continue;
      line += " " + text_label(key) + "=" + escape_for_log(it->get<std::string>());
    }
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace mock2ba
