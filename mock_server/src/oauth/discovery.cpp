#include "oauth/discovery.h"

#include <set>

#include "oauth/client_auth.h"
#include "oauth/endpoints.h"
#include "oauth/grant_types.h"

namespace mock2ba {

void handle_discovery(RequestContext& ctx) {
  nlohmann::ordered_json doc;
  doc["issuer"] = ctx.base_url;
  for (const Endpoint& endpoint : endpoints()) {
    if (endpoint.discovery_key) doc[endpoint.discovery_key] = ctx.base_url + endpoint.path;
  }
  std::set<std::string> grants;  // sorted, as the document has always listed them
  for (const GrantType& grant : grant_types()) grants.insert(grant.name);
  doc["grant_types_supported"] = grants;
  doc["response_types_supported"] = {"code"};
  doc["code_challenge_methods_supported"] = {"S256", "plain"};
  doc["token_endpoint_auth_methods_supported"] = kClientAuthMethodNames;
  doc["scopes_supported"] = ctx.state->fixture->scopes;
  doc["subject_types_supported"] = {"public"};
  send_json(ctx.res, 200, doc.dump());
}

}  // namespace mock2ba
