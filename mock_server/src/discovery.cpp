#include "discovery.h"

namespace mock2ba {

void handle_discovery(Exchange& ex) {
  if (ex.req.method != "GET") {
    ex.res.set_header("Allow", "GET");
    return send_json(ex.res, 405, nlohmann::json{{"error", "Use GET."}}.dump());
  }
  nlohmann::ordered_json doc;
  doc["issuer"] = ex.base_url;
  doc["authorization_endpoint"] = ex.base_url + "/connect/authorize";
  doc["token_endpoint"] = ex.base_url + "/connect/token";
  doc["grant_types_supported"] = {"authorization_code", "password", "refresh_token"};
  doc["response_types_supported"] = {"code"};
  doc["code_challenge_methods_supported"] = {"S256", "plain"};
  doc["token_endpoint_auth_methods_supported"] = {"client_secret_post", "client_secret_basic",
                                                  "none"};
  doc["scopes_supported"] = ex.state->fixture->scopes;
  doc["subject_types_supported"] = {"public"};
  send_json(ex.res, 200, doc.dump());
}

}  // namespace mock2ba
