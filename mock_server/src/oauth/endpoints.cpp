#include "oauth/endpoints.h"

#include <cstring>

#include "oauth/authorize_endpoint.h"
#include "oauth/discovery.h"
#include "oauth/token_endpoint.h"
#include "util/text_util.h"

namespace mock2ba {

const std::vector<Endpoint>& endpoints() {
  static const std::vector<Endpoint> kEndpoints = {
      {"authorize", "/OAuth/Authorize", "GET POST", handle_authorize_endpoint, nullptr},
      {"authorize", "/connect/authorize", "GET POST", handle_authorize_endpoint,
       "authorization_endpoint"},
      {"token", "/OAuth/Token", "POST", handle_token_endpoint, nullptr},
      {"token", "/connect/token", "POST", handle_token_endpoint, "token_endpoint"},
      {"discovery", "/.well-known/openid-configuration", "GET", handle_discovery, nullptr},
      {"base_page", "/", "GET", handle_base_page, nullptr},
  };
  return kEndpoints;
}

const Endpoint* find_endpoint(std::string_view lower_route) {
  for (const Endpoint& endpoint : endpoints()) {
    if (iequals(lower_route, endpoint.path)) return &endpoint;
  }
  return nullptr;
}

void serve_endpoint(const Endpoint& endpoint, RequestContext& ctx) {
  if (!method_allowed(endpoint.methods, ctx.req.method)) {
    const std::string allow = allow_header(endpoint.methods);
    ctx.res.set_header("Allow", allow);
    return send_oauth_error(
        ctx.res, 405, OAuthError::kInvalidRequest,
        ctx.req.method + " is not allowed on " + endpoint.path + ": use " + allow + ".");
  }
  endpoint.handle(ctx);
}

bool is_token_route(std::string_view lower_route) {
  const Endpoint* endpoint = find_endpoint(lower_route);
  return endpoint && std::strcmp(endpoint->name, "token") == 0;
}

bool same_endpoint(std::string_view lower_a, std::string_view lower_b) {
  if (lower_a == lower_b) return true;
  const Endpoint* a = find_endpoint(lower_a);
  const Endpoint* b = find_endpoint(lower_b);
  return a && b && std::strcmp(a->name, b->name) == 0;
}

}  // namespace mock2ba
