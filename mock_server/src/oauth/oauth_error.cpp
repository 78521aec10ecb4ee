#include "oauth/oauth_error.h"

#include <cstddef>

namespace mock2ba {

const std::vector<OAuthErrorCode>& oauth_errors() {
  static const std::vector<OAuthErrorCode> kCodes = {
      {OAuthError::kInvalidRequest, "invalid_request", true, true},
      {OAuthError::kInvalidClient, "invalid_client", true, true},
      {OAuthError::kInvalidGrant, "invalid_grant", true, false},
      {OAuthError::kUnauthorizedClient, "unauthorized_client", true, true},
      {OAuthError::kUnsupportedGrantType, "unsupported_grant_type", true, false},
      {OAuthError::kInvalidScope, "invalid_scope", true, true},
      {OAuthError::kServerError, "server_error", true, false},
      {OAuthError::kAccessDenied, "access_denied", false, true},
      {OAuthError::kUnsupportedResponseType, "unsupported_response_type", false, true},
      // Not an OAuth code: the login page's title for a method the endpoint does not take.
      {OAuthError::kMethodNotAllowed, "method_not_allowed", false, true},
  };
  return kCodes;
}

const char* oauth_error_name(OAuthError code) {
  return oauth_errors()[static_cast<size_t>(code)].name;
}

}  // namespace mock2ba
