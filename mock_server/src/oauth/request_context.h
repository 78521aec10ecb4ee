// One request on its way through the server, with the scenario state it is served from.
#ifndef MOCK2BA_REQUEST_CONTEXT_H_
#define MOCK2BA_REQUEST_CONTEXT_H_

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "http/responses.h"
#include "oauth/oauth_error.h"
#include "oauth/scenario_state.h"

namespace mock2ba {

struct RequestContext {
  const httplib::Request& req;
  httplib::Response& res;
  std::shared_ptr<ScenarioState> state;
  std::string base_url;  // scheme://host:port plus the /s/<name> prefix when there is one
  std::string route;     // lower-cased path without the scenario prefix
  TimeMs now = 0;
  nlohmann::json outcome = nlohmann::json::object();  // evidence for the journal
  // Journaled instead of req.body when set (a login form with its password redacted).
  std::optional<std::string> journal_body = std::nullopt;
};

// Sends an RFC 6749 §5.2 error: {"error":…,"error_description":…}, never cached.
void send_oauth_error(httplib::Response& res, int status, OAuthError error,
                      const std::string& description);

}  // namespace mock2ba

#endif  // MOCK2BA_REQUEST_CONTEXT_H_
