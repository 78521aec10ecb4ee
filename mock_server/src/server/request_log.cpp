#include "server/request_log.h"

#include <cstdio>
#include <ctime>

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
    if (outcome.contains("login")) j["login"] = outcome["login"];
    for (const char* key : {"error", "refresh_token_state", "code_state"}) {
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
    for (const char* key : {"login", "error", "refresh_token_state", "code_state"}) {
      auto it = outcome.find(key);
      if (it == outcome.end() || !it->is_string()) continue;
      // The token store's verdict (expired, rotated, revoked, unknown, ...), never a token.
      const char* label = std::string_view(key) == "refresh_token_state" ? "refresh_token"
                          : std::string_view(key) == "code_state"        ? "code"
                                                                         : key;
      line += std::string(" ") + label + "=" + escape_for_log(it->get<std::string>());
    }
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace mock2ba
