// The mock's own log: one line per request on stderr, as text or JSON. Only the path is logged
// (queries and bodies can carry codes, tokens and passwords), and every field a client chose is
// escaped so that one request is always one line.
#ifndef MOCK2BA_REQUEST_LOG_H_
#define MOCK2BA_REQUEST_LOG_H_

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

namespace mock2ba {

enum class LogFormat { kText, kJson, kNone };

class RequestLog {
 public:
  explicit RequestLog(LogFormat format) : format_(format) {}

  // Writes one request's line: method, path, status, latency and the outcome's safe members
  // (grant type, client, login, error, the presented token's state; never a token).
  void write(const httplib::Request& req, const httplib::Response& res, const std::string& scenario,
             const nlohmann::json& outcome, double latency_ms) const;

 private:
  LogFormat format_;
};

}  // namespace mock2ba

#endif  // MOCK2BA_REQUEST_LOG_H_
