// One request on its way through the server, with the scenario state it is served from.
#ifndef MOCK2BA_REQUEST_CONTEXT_H_
#define MOCK2BA_REQUEST_CONTEXT_H_

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "oauth_error.h"
#include "scenario.h"

namespace mock2ba {

struct RequestContext {
  const httplib::Request& req;
  httplib::Response& res;
  Scenario& scenario;
  std::shared_ptr<ScenarioState> state;
  std::string base_url;  // scheme://host:port plus the /s/<name> prefix when there is one
  std::string route;     // lower-cased path without the scenario prefix
  TimeMs now = 0;
  nlohmann::json outcome = nlohmann::json::object();  // evidence for the journal
  // Journaled instead of req.body when set (a login form with its password redacted).
  std::optional<std::string> journal_body = std::nullopt;
};

// Sends a JSON body with Content-Type application/json;charset=UTF-8.
void send_json(httplib::Response& res, int status, const std::string& body);

// Sends an RFC 6749 §5.2 error: {"error":…,"error_description":…}, never cached.
void send_oauth_error(httplib::Response& res, int status, OAuthError error,
                      const std::string& description);

// Sends 2BA's web-service error body {"IsError":true,"ErrorMessage":…,"Status":…}.
void send_api_error(httplib::Response& res, int status, const std::string& status_text,
                    const std::string& message);

// Sends a small HTML page (for the browser-facing endpoints).
void send_html(httplib::Response& res, int status, const std::string& html);

// Escapes text for HTML element content and attribute values.
std::string html_escape(const std::string& text);

}  // namespace mock2ba

#endif  // MOCK2BA_REQUEST_CONTEXT_H_
