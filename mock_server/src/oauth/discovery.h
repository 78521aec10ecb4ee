// GET /.well-known/openid-configuration.
#ifndef MOCK2BA_DISCOVERY_H_
#define MOCK2BA_DISCOVERY_H_

#include "oauth/request_context.h"

namespace mock2ba {

// Serves the discovery document (RFC 8414 / OpenID Connect Discovery) for this scenario.
void handle_discovery(RequestContext& ctx);

}  // namespace mock2ba

#endif  // MOCK2BA_DISCOVERY_H_
