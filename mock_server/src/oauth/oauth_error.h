// The OAuth error codes the mock sends: one table from which the token and authorization
// endpoints write them and the OpenAPI test checks the document's list of JSON error codes.
#ifndef MOCK2BA_OAUTH_ERROR_H_
#define MOCK2BA_OAUTH_ERROR_H_

#include <array>
#include <cstddef>

namespace mock2ba {

// A new code is one enum value here and one row in kOAuthErrors below, in the same place
// (oauth_error.cpp checks at compile time that they agree).
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
  kCount  // not a code: the number of codes; stays last
};

struct OAuthErrorCode {
  OAuthError code;
  const char* name;  // as sent in "error" (RFC 6749 §4.1.2.1, §5.2)
  // Sent in a JSON error body (the token endpoint, malformed requests); the others only to a
  // redirect_uri or on the login page. openapi.json's OAuthError schema lists exactly these.
  bool json_body;
};

// Every code, in the order of the enum (checked at compile time in oauth_error.cpp).
inline constexpr std::array<OAuthErrorCode, static_cast<size_t>(OAuthError::kCount)> kOAuthErrors =
    {{
        {OAuthError::kInvalidRequest, "invalid_request", true},
        {OAuthError::kInvalidClient, "invalid_client", true},
        {OAuthError::kInvalidGrant, "invalid_grant", true},
        {OAuthError::kUnauthorizedClient, "unauthorized_client", true},
        {OAuthError::kUnsupportedGrantType, "unsupported_grant_type", true},
        {OAuthError::kInvalidScope, "invalid_scope", true},
        {OAuthError::kServerError, "server_error", true},
        {OAuthError::kAccessDenied, "access_denied", false},
        {OAuthError::kUnsupportedResponseType, "unsupported_response_type", false},
    }};

// The code's name as sent, e.g. "invalid_grant".
constexpr const char* oauth_error_name(OAuthError code) {
  return kOAuthErrors[static_cast<size_t>(code)].name;
}

}  // namespace mock2ba

#endif  // MOCK2BA_OAUTH_ERROR_H_
