// The OAuth error codes the mock sends: one table from which the token and authorization
// endpoints write them and the OpenAPI test checks the document's list.
#ifndef MOCK2BA_OAUTH_ERROR_H_
#define MOCK2BA_OAUTH_ERROR_H_

#include <vector>

namespace mock2ba {

enum class OAuthError {
  kInvalidRequest,
  kInvalidClient,
  kInvalidGrant,
  kUnauthorizedClient,
  kUnsupportedGrantType,
  kInvalidScope,
  kServerError,
  kAccessDenied,
  kUnsupportedResponseType,
  kMethodNotAllowed,
};

struct OAuthErrorCode {
  OAuthError code;
  const char* name;             // as sent in "error" (RFC 6749 §4.1.2.1, §5.2)
  bool token_endpoint;          // sent in a JSON error body (token endpoint, malformed requests)
  bool authorization_endpoint;  // sent to a redirect_uri or shown on the login error page
};

// Every code, in the order of the enum.
const std::vector<OAuthErrorCode>& oauth_errors();

// The code's name as sent, e.g. "invalid_grant".
const char* oauth_error_name(OAuthError code);

}  // namespace mock2ba

#endif  // MOCK2BA_OAUTH_ERROR_H_
