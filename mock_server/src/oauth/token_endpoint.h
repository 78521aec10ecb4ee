// POST /OAuth/Token and /connect/token: the password, refresh_token and authorization_code grants.
#ifndef MOCK2BA_TOKEN_ENDPOINT_H_
#define MOCK2BA_TOKEN_ENDPOINT_H_

#include "oauth/request_context.h"

namespace mock2ba {

// Answers a token request per RFC 6749 §5.1 / §5.2 and records the outcome for the journal.
void handle_token_endpoint(RequestContext& ctx);

}  // namespace mock2ba

#endif  // MOCK2BA_TOKEN_ENDPOINT_H_
