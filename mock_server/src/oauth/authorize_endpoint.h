// The browser half of the Authorization Code flow (RFC 6749 §4.1): the login page at
// /OAuth/Authorize and /connect/authorize, and the mock's own base URL as a redirect target.
#ifndef MOCK2BA_AUTHORIZE_ENDPOINT_H_
#define MOCK2BA_AUTHORIZE_ENDPOINT_H_

#include <string>
#include <vector>

#include "oauth/request_context.h"

namespace mock2ba {

// GET (or POST without credentials) validates an authorization request and shows the login
// form; POST with the form's fields logs in (302 with a code), cancels or shows the form again.
void handle_authorize_endpoint(RequestContext& ctx);

// GET /: shows the code (or error) that arrived at the mock's own base URL, else a landing page.
void handle_base_page(RequestContext& ctx);

// Whether a redirect_uri sent by a client matches one registered URI: exact string equality;
// "self" matches any of `self_urls` with or without a trailing slash; a registered loopback
// http URI (127.0.0.1, [::1], localhost) matches the same URI on any port (RFC 8252 §7.3).
bool redirect_uri_matches(const std::string& registered, const std::string& candidate,
                          const std::vector<std::string>& self_urls);

// The body of a form POST with every password value replaced by "[redacted]" (for the journal).
std::string redact_password_fields(const std::string& body);

}  // namespace mock2ba

#endif  // MOCK2BA_AUTHORIZE_ENDPOINT_H_
