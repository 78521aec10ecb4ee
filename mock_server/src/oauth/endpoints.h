// The mock's OAuth endpoints and pages by path: one table from which routing, discovery, fault
// matching and the OpenAPI test read. (The product API and the control API, each below its own
// prefix, keep a table each: product_api_routes(), control_api_routes().)
#ifndef MOCK2BA_ENDPOINTS_H_
#define MOCK2BA_ENDPOINTS_H_

#include <string_view>
#include <vector>

#include "oauth/request_context.h"

namespace mock2ba {

struct Endpoint {
  const char* name;  // one endpoint may have several paths (2BA's and OpenID's)
  const char* path;  // as 2BA and the docs spell it; matched case-insensitively
  // Space-separated, as documented; route_to_endpoint() refuses others with 405 and Allow
  // (HEAD goes with GET).
  const char* methods;
  void (*handle)(RequestContext&);  // called only with one of `methods`
  const char* discovery_key;        // the discovery document's member for this path, or nullptr
};

// Every endpoint path, discovery's in the order the document lists them.
const std::vector<Endpoint>& endpoints();

// The endpoint of a lower-cased route, or nullptr.
const Endpoint* find_endpoint(std::string_view lower_route);

// Serves a request for an endpoint's path: 405 with Allow for a method its row does not list,
// else its handler.
void serve_endpoint(const Endpoint& endpoint, RequestContext& ctx);

// Whether a lower-cased route is one of the token endpoint's paths.
bool is_token_route(std::string_view lower_route);

// Whether two lower-cased routes are the same (one path, or two paths of one endpoint).
bool same_endpoint(std::string_view lower_a, std::string_view lower_b);

}  // namespace mock2ba

#endif  // MOCK2BA_ENDPOINTS_H_
